"""Formula-safe exports (issue 16, point 10): a text cell that a spreadsheet would run (`=`, `+`, `-`, `@`, tab,
CR first) is prefixed with `'`, by one helper (`webapp/exports.py`) that every CSV/XLSX export uses. The cases
export through HTTP is checked in tests/ui/test_supervisor_pages.py (`test_csv_export…`, `test_xlsx_export`)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from db.declarations_repo import Declaration
from infra.config import ROOT
from schemas.staff import Actor
from webapp.exports import safe_cell, safe_row
from webapp.supervision import declarations

NASTY = ['=HYPERLINK("http://x","点击")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", NASTY)
def test_text_that_would_run_is_prefixed(text: str) -> None:
    assert safe_cell(text) == "'" + text


def test_other_values_are_left_alone() -> None:
    assert safe_row(["王大山", "", "-12.50", "+3", 5, -5, 1.5, None, "a=b"]) == [
        "王大山",
        "",
        "-12.50",
        "+3",
        5,
        -5,
        1.5,
        None,
        "a=b",
    ]


def test_every_export_module_uses_the_helper() -> None:
    exporting = [
        p
        for p in (ROOT / "webapp").rglob("*.py")
        # what writes a sheet (reading a list, as webapp/discovery/lists.py does, exports nothing)
        if re.search(r"csv\.(writer|DictWriter)\(|Workbook\(", p.read_text())
    ]
    assert {p.relative_to(ROOT).as_posix() for p in exporting} >= {
        "webapp/supervision/cases.py",
        "webapp/supervision/declarations.py",
    }
    for p in exporting:
        assert "from webapp.exports import" in p.read_text(), f"{p} exports cells without webapp/exports.py"


def _declaration() -> Declaration:
    at = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    row = {
        "township_code": "341503106",
        "township_name": "=cmd|' /C calc'!A0",
        "kind": "@x",
        "households": 3,
        "people": 5,
        "amount_fen": 123450,
    }
    totals = {"households": 3, "people": 5, "amount_fen": 123450}
    return Declaration("2026-11", 1, "draft", [row], totals, at, None, "-1+1 说明", "qu_minzheng", None)


ACTOR = Actor.model_construct(username="qu_minzheng")


def test_the_declaration_csv_and_xlsx_are_formula_safe() -> None:
    decl = _declaration()
    rows = list(csv.reader(io.StringIO(declarations.csv_bytes(decl, ACTOR).decode("utf-8-sig"))))
    assert rows[1][1] == "'=cmd|' /C calc'!A0" and rows[1][2] == "'@x" and rows[1][5] == "1234.50"
    book = load_workbook(io.BytesIO(declarations.xlsx_bytes(decl, ACTOR)))
    sheet = book["资金申报"]
    assert sheet.cell(2, 2).value == "'=cmd|' /C calc'!A0" and sheet.cell(2, 2).data_type == "s"
    assert sheet.cell(2, 3).value == "'@x" and sheet.cell(2, 6).value == 1234.5
    about = {r[0].value: r[1].value for r in book["说明"].iter_rows()}
    assert about["说明"] == "'-1+1 说明"
