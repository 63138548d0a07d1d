"""Formula-safe cells for every CSV and XLSX export (issue 16, point 10).

A spreadsheet runs a cell that starts like a formula (`=`, `+`, `-`, `@`, or a tab or carriage return before
one): a name typed as `=HYPERLINK("http://…", "点击")` in an application would become a live link, or worse, on
the supervisor's PC. Every text cell of an export passes `safe_cell`, which prefixes such text with `'` so it
stays text in Excel, WPS and LibreOffice alike. Numbers (and text that is just a number, like `-12.50` in a
CSV) are left as they are: they cannot run. `tests/security/test_exports.py` checks each export module uses it.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value: Any) -> Any:
    """`value`, with text that a spreadsheet would read as a formula prefixed by `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Any) -> list[Any]:
    return [safe_cell(v) for v in values]
