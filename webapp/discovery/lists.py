"""Reading a bureau's list: CSV (UTF-8, with or without BOM; GB18030 as exported by older systems) or Excel
.xlsx (openpyxl, read-only). The first row names the columns, in Chinese or by their codes:
身份证号/id_number, 姓名/name, 信号类别/kind, 信号日期/signal_on, 户籍乡镇代码/township_code (optional). A bureau
system's JSON list (`{"signals": [...]}`) is read here too. A list with any bad row is refused as a whole, each
problem named by its row (第 n 行 of the file, 第 n 条 of the JSON list) and column in Chinese; an ID number is
checked as everywhere (GB 11643, `schemas.identity.ResidentId`) and its row says why it is wrong."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from schemas.discovery import SignalIn, SignalListIn, signal_kind
from webapp.errors import ApiError

COLUMNS = {
    "身份证号": "id_number",
    "公民身份号码": "id_number",
    "姓名": "name",
    "信号类别": "kind",
    "信号日期": "signal_on",
    "户籍乡镇代码": "township_code",
    "户籍所在乡镇（街道）代码": "township_code",
}
FIELD_NAMES = {
    "id_number": "身份证号",
    "name": "姓名",
    "kind": "信号类别",
    "signal_on": "信号日期",
    "township_code": "户籍乡镇代码",
}
REQUIRED = ("id_number", "name", "kind", "signal_on")
MAX_ROWS = 20000
MAX_PROBLEMS = 20
LIST_SHAPE = '名单格式不正确：须为 {"signals": [...]}，每项含身份证号、姓名、信号类别、信号日期'


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid", message)


def _row_problem(row: str, errors: Sequence[ErrorDetails]) -> str:
    """One row's problems: a reason the model gives in Chinese (why an ID number is wrong) as it is, the other
    columns named as badly formed."""
    reasons, columns = [], []
    for e in errors:
        if not e["msg"].isascii():
            reasons.append(e["msg"])
        else:
            field = str(e["loc"][-1]) if e["loc"] else ""
            columns.append(FIELD_NAMES.get(field, field))
    if columns:
        reasons.append(f"{'、'.join(columns)}格式不正确")
    return f"{row}：{'；'.join(reasons)}"


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise invalid("名单文件编码无法识别，请保存为 UTF-8 编码的 CSV 或 Excel 文件")


def _rows_csv(data: bytes) -> list[list[str]]:
    try:
        return [row for row in csv.reader(io.StringIO(_text(data))) if any(cell.strip() for cell in row)]
    except csv.Error:
        raise invalid("无法读取该 CSV 文件，请确认是逗号分隔的文本文件") from None


def _cell(value: object) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _rows_xlsx(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a third-party parser of an untrusted file: whatever it raises, the file is unreadable
        raise invalid("无法读取该 Excel 文件，请确认是 .xlsx 格式") from None
    sheet = book.worksheets[0]
    rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    book.close()
    return [row for row in rows if any(row)]


def parse(data: bytes, filename: str) -> list[SignalIn]:
    """The list's signals; 422 `invalid` naming the rows and columns that are wrong."""
    rows = _rows_xlsx(data) if filename.lower().endswith(".xlsx") else _rows_csv(data)
    if len(rows) < 2:
        raise invalid("名单为空：第一行为列名，其后每行一人")
    header = [COLUMNS.get(h.strip(), h.strip()) for h in rows[0]]
    missing = [FIELD_NAMES[c] for c in REQUIRED if c not in header]
    if missing:
        raise invalid(f"名单缺少列：{'、'.join(missing)}")
    if len(rows) - 1 > MAX_ROWS:
        raise invalid(f"每份名单最多 {MAX_ROWS} 行，请分批推送")
    signals, problems = [], []
    for n, row in enumerate(rows[1:], start=2):
        values = {c: (row[i].strip() if i < len(row) else "") for i, c in enumerate(header) if c in FIELD_NAMES}
        kind = signal_kind(values.get("kind", ""))
        if kind is None:
            problems.append(f"第 {n} 行：信号类别「{values.get('kind', '')}」不是可识别的类别")
            continue
        try:
            signals.append(
                SignalIn(
                    id_number=values["id_number"],
                    name=values["name"],
                    kind=kind,
                    signal_on=values["signal_on"],
                    township_code=values.get("township_code") or None,
                )
            )
        except ValidationError as exc:
            problems.append(_row_problem(f"第 {n} 行", exc.errors()))
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise invalid("；".join(problems))
    return signals


def parse_json(raw: bytes) -> list[SignalIn]:
    """A bureau system's list, `{"signals": [...]}`: refused whole as an uploaded one is (422 `invalid`), each bad
    item named by its place in the list; a body of another shape gets `LIST_SHAPE`."""
    try:
        return SignalListIn.model_validate_json(raw).signals
    except ValidationError as exc:
        errors = exc.errors()
    by_item: dict[int, list[ErrorDetails]] = {}
    for e in errors:
        loc = e["loc"]
        if len(loc) < 3 or loc[0] != "signals" or not isinstance(loc[1], int):
            raise invalid(LIST_SHAPE)
        by_item.setdefault(loc[1], []).append(e)
    problems = [_row_problem(f"第 {i + 1} 条", found) for i, found in sorted(by_item.items())]
    raise invalid("；".join(problems[:MAX_PROBLEMS]))
