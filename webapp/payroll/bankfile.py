"""The bank file (银行发放文件) of a confirmed payroll, and the bank's return file (回盘文件).

Bank file, CSV (UTF-8 with a BOM, CRLF) or Excel (.xlsx, one sheet 发放明细): a header row 姓名, 身份证号, 账号,
金额, 备注; one row per line that goes to the bank (the account holder's name and ID number, the full account
number, the amount in yuan with two decimals, the month and kind or "补发…"); then a control row: 合计 in
姓名, the number of rows (笔数) in 账号 and the total in 金额, and the payroll named in 备注. Every text cell
is formula-safe (webapp.exports); in the sheet the ID number and account are text, the amounts numbers.

Return file, CSV (UTF-8, with or without BOM, or GB18030) or .xlsx: a header row naming at least 金额 and 结果
and one of 账号 / 身份证号, optionally 失败原因 and 备注 (as the bank file wrote it); 结果 is 成功 or 失败. A row
whose first cell is 合计 or that is empty is skipped. Each row settles one line of the payroll at most, and each
line takes one row at most, matched by account number (else ID number) and amount, and by 备注 when the bank
gives it back (it names the month: one recipient's lines of a payroll differ in it); without it, the k-th such
row goes to the k-th such line in the bank file's order. A row that matches none is counted as unmatched and
changes nothing.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from db.payroll_views_repo import BankLine, PayrollRow
from schemas.money import from_fen, to_fen
from webapp.exports import safe_row

HEADERS = ["姓名", "身份证号", "账号", "金额", "备注"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESULTS = {"成功": "paid", "失败": "failed"}


def file_name(p: PayrollRow, suffix: str) -> str:
    return f"payroll-{p.township_code}-{p.month:%Y-%m}-{p.seq}.{suffix}"


def _table(p: PayrollRow, lines: list[BankLine], money) -> list[list[Any]]:
    total = sum(line.amount_fen for line in lines)
    about = f"{p.township_name} {p.month:%Y年%m月} {'正常发放' if p.seq == 0 else f'第{p.seq}次补充发放'}"
    rows = [
        [line.holder_name, line.id_number, line.account_number, money(line.amount_fen), line.note] for line in lines
    ]
    control = ["合计", "", len(lines), money(total), f"{about}；笔数 {len(lines)}，金额合计 {from_fen(total):.2f} 元"]
    return [safe_row(r) for r in [HEADERS, *rows, control]]


def csv_bytes(p: PayrollRow, lines: list[BankLine]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(_table(p, lines, lambda fen: f"{from_fen(fen):.2f}"))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(p: PayrollRow, lines: list[BankLine]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "发放明细"
    for row in _table(p, lines, from_fen):
        ws.append(row)
    for cell in (*ws[1], *ws[ws.max_row]):
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=2, max_row=ws.max_row - 1):
        row[1].number_format = row[2].number_format = "@"
        row[3].number_format = "0.00"
    ws.cell(ws.max_row, 4).number_format = "0.00"
    for column, width in zip("ABCDE", (12, 22, 24, 12, 40), strict=True):
        ws.column_dimensions[column].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class ReturnFileError(ValueError):
    """The return file cannot be read; the message says where, in Chinese."""


def _rows_of(name: str, content: bytes) -> list[list[str]]:
    if name.lower().endswith(".xlsx"):
        try:
            ws = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception as exc:
            raise ReturnFileError("无法读取 Excel 文件，请确认是 .xlsx 格式") from exc
        return [["" if v is None else str(v).strip() for v in row] for row in ws.iter_rows(values_only=True)]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ReturnFileError("无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV")
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]


def parse_return(name: str, content: bytes) -> list[dict[str, Any]]:
    """The return file's rows as {n (row number), account, id_number, amount_fen, result (paid|failed),
    reason, note}; ReturnFileError for a missing column or a bad value (naming the row and column)."""
    rows = _rows_of(name, content)
    if not rows:
        raise ReturnFileError("回盘文件为空")
    header = [h.strip() for h in rows[0]]
    col = {h: i for i, h in enumerate(header) if h}
    missing = [h for h in ("金额", "结果") if h not in col]
    if missing or not ({"账号", "身份证号"} & col.keys()):
        need = "、".join(missing + ([] if {"账号", "身份证号"} & col.keys() else ["账号或身份证号"]))
        raise ReturnFileError(f"回盘文件缺少列：{need}")

    def cell(row: list[str], h: str) -> str:
        i = col.get(h)
        return row[i].strip() if i is not None and i < len(row) else ""

    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row) or (row and row[0].strip() == "合计"):
            continue
        result = RESULTS.get(cell(row, "结果"))
        if result is None:
            raise ReturnFileError(f"第 {n} 行「结果」应为“成功”或“失败”，实为“{cell(row, '结果')}”")
        try:
            amount = to_fen(Decimal(cell(row, "金额").replace(",", "")))
        except (InvalidOperation, ValueError):
            raise ReturnFileError(f"第 {n} 行「金额」不是有效金额：“{cell(row, '金额')}”") from None
        out.append(
            {
                "n": n,
                "account": cell(row, "账号").replace(" ", ""),
                "id_number": cell(row, "身份证号").upper(),
                "amount_fen": amount,
                "result": result,
                "reason": cell(row, "失败原因") if result == "failed" else "",
                "note": cell(row, "备注"),
            }
        )
    if not out:
        raise ReturnFileError("回盘文件没有明细行")
    return out
