"""Roster files: reading an .xlsx or .csv roster into its header and rows (openpyxl, read-only; CSV in UTF-8 or,
as the national system and Excel save it, GB18030), and writing rosters and the error sheet (openpyxl,
write-only: the original row, its row number and the errors in Chinese). Every cell written passes
`webapp.exports.safe_cell`: a cell of an uploaded roster typed as a formula comes back as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from webapp.exports import safe_cell, safe_row  # formula-safe cells, as every export (issue 16, point 10)


class RosterFileError(ValueError):
    """The file cannot be read as a roster at all (Chinese message)."""


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[Any]]  # each as long as `headers`
    first_row: int = 2  # the spreadsheet's row number of rows[0]


def kind_of(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise RosterFileError(f"不支持的文件类型“{suffix or filename}”：请上传 .xlsx 或 .csv 文件")
    return suffix[1:]


def read_table(data: bytes, filename: str) -> Table:
    if not data:
        raise RosterFileError("文件为空")
    rows = _xlsx_rows(data) if kind_of(filename) == "xlsx" else _csv_rows(data)
    it = iter(rows)
    headers = next(it, None)
    if not headers or not any(_cell(h) for h in headers):
        raise RosterFileError("文件第一行应为表头（列名）")
    names = [_cell(h) for h in headers]
    width = len(names)
    body = [list(r[:width]) + [None] * (width - len(r)) for r in it]
    while body and not any(_cell(v) for v in body[-1]):
        body.pop()
    return Table(names, body)


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _xlsx_rows(data: bytes) -> Iterable[Sequence[Any]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise RosterFileError("无法读取 Excel 文件（应为 .xlsx 格式）") from exc
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def _csv_rows(data: bytes) -> Iterable[Sequence[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return list(csv.reader(io.StringIO(text)))
    raise RosterFileError("无法识别 CSV 文件的编码（应为 UTF-8 或 GBK）")


def write_rows(headers: Sequence[str], rows: Iterable[Sequence[Any]], kind: str) -> bytes:
    """A roster file of `kind` ('xlsx' or 'csv'); every cell is written as text (ID and account numbers keep
    their digits)."""
    if kind == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(headers)
        w.writerows(safe_row("" if v is None else v for v in r) for r in rows)
        return buf.getvalue().encode("utf-8-sig")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("救助对象花名册")
    bold = Font(bold=True)
    sheet.append([_styled(sheet, h, font=bold) for h in headers])
    for r in rows:
        sheet.append(safe_row("" if v is None else str(v) for v in r))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _styled(sheet: Any, value: Any, *, font: Font | None = None, fill: PatternFill | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    return cell


ERROR_HEADER = "错误说明"
ROW_HEADER = "原行号"


def error_sheet(headers: Sequence[str], errors: Iterable[tuple[int, Sequence[Any], str]]) -> bytes:
    """The rows with errors as they were, each with its row number in the file and what is wrong."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("错误行")
    bold, red = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    sheet.append([_styled(sheet, h, font=bold) for h in (ROW_HEADER, *headers, ERROR_HEADER)])
    for row_no, values, message in errors:
        cells = [row_no, *safe_row("" if v is None else str(v) for v in values)]
        sheet.append([*cells, _styled(sheet, safe_cell(message), fill=red)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
