"""Case search and list (`/cases`) with CSV and Excel export of the same filtered list.

Rows come from the `cases` table through the API's own query and jurisdiction condition
(`db.case_lists_repo`), so the page, the exports and `GET /api/cases` can never disagree about who sees what.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from db import case_lists_repo
from db.cases_repo import CaseRow
from infra.clock import now
from rules.stages import Stage
from schemas.review import AssistanceType
from webapp import access_log
from webapp.access_log import Kind
from webapp.deps import Db, PageActor
from webapp.errors import chinese_message
from webapp.exports import safe_cell
from webapp.render import refused, render, render_error
from webapp.supervision.case_filter import PAGE_SIZE, CaseFilter, Filters, page_links, row_view, township_options

router = APIRouter(include_in_schema=False)


@router.post("/cases")
async def case_search(request: Request, actor: PageActor) -> Response:
    """The search form posts here, so an ID number typed in never stands in an address (a proxy's log, the
    browser's history): it comes back as the list's address with the number masked, as the cases store it."""
    if denied := refused(request, actor, "case.read"):
        return denied
    form = await request.form()
    try:
        filters = CaseFilter.model_validate({k: v for k, v in form.items() if k in CaseFilter.model_fields})
    except ValidationError as e:
        return render_error(request, 422, "；".join(chinese_message(x) for x in e.errors()), actor)
    return RedirectResponse(f"/cases?{filters.query()}", status_code=303)


@router.get("/cases")
async def case_list(request: Request, actor: PageActor, db: Db, filters: Filters) -> Response:
    """Every case the actor may read, filtered, nearest deadline first, 50 a page."""
    if denied := refused(request, actor, "case.read"):
        return denied
    found = await case_lists_repo.page_of_cases(
        db, filters.cases(actor.place_code), page=filters.page, page_size=PAGE_SIZE, clamp=True
    )
    pages = max(1, math.ceil(found.total / PAGE_SIZE))
    page = found.page
    context = {
        "filters": filters,
        "rows": [row_view(r) for r in found.rows],
        "total": found.total,
        "page": page,
        "pages": pages,
        "page_links": page_links(page, pages),
        "townships": await township_options(db, actor),
        "types": list(AssistanceType),
        "stages": list(Stage),
        "export_query": filters.query(page=None),
    }
    return render(request, "supervisor/cases.html", context, actor=actor)


# ---- export --------------------------------------------------------------------------------------


def _naive(at: datetime | None) -> datetime | None:
    """Beijing wall time without zone: spreadsheets have no time zones, and Excel refuses aware values."""
    return at.replace(tzinfo=None, microsecond=0) if at else None


def _yes_no(flag: bool) -> str:
    return "是" if flag else "否"


# (Chinese header, value from the row view, Excel number format, column width)
COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any], str | None, int]] = [
    ("案件编号", lambda v: v["case_id"], None, 16),
    ("申请人", lambda v: v["applicant_name"], None, 10),
    ("身份证号（脱敏）", lambda v: v["applicant_id_masked"], None, 20),
    ("救助类型", lambda v: v["type_label"], None, 14),
    ("乡镇（街道）", lambda v: v["township_name"], None, 16),
    ("村（社区）", lambda v: v["village_name"] or "", None, 18),
    ("环节", lambda v: v["stage_label"], None, 22),
    ("办理层级", lambda v: v["handled_by_label"], None, 12),
    ("受理时间", lambda v: _naive(v["accepted_local"]), "yyyy-mm-dd hh:mm", 17),
    ("办结时限", lambda v: v["deadline"], "yyyy-mm-dd", 12),
    ("时限暂定", lambda v: _yes_no(v["deadline_provisional"]), None, 9),
    ("是否超期", lambda v: _yes_no(v["overdue"]), None, 9),
    ("补正暂停（工作日）", lambda v: v["paused_days"], None, 10),
    ("审核确认时间", lambda v: _naive(v["decided_local"]), "yyyy-mm-dd hh:mm", 17),
    ("类别", lambda v: v["category"] or "", None, 6),
    ("月救助金额（元）", lambda v: v["monthly_amount"], "0.00", 12),
]
HEADERS = [c[0] for c in COLUMNS]


def _csv_text(value: Any) -> str:
    """Spreadsheets run cells that start like a formula; a name typed as "=..." must stay text (safe_cell)."""
    return "" if value is None else str(safe_cell(value))


def _values(rows: list[CaseRow]) -> Iterator[list[Any]]:
    return ([get(v) for _, get, _, _ in COLUMNS] for v in map(row_view, rows))


def _attachment(suffix: str) -> dict[str, str]:
    """An ASCII file name for old clients and the Chinese one (RFC 6266) for the rest."""
    stamp = now().strftime("%Y%m%d-%H%M")
    chinese = quote(f"案件列表-{stamp}.{suffix}")
    return {"content-disposition": f"attachment; filename=\"cases-{stamp}.{suffix}\"; filename*=UTF-8''{chinese}"}


def csv_bytes(rows: list[CaseRow]) -> bytes:
    """UTF-8 with a BOM, which is how Excel recognises a UTF-8 CSV."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows([_csv_text(v) for v in values] for values in _values(rows))
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows: list[CaseRow]) -> bytes:
    """A real workbook: dates and amounts are typed cells, not text. openpyxl needs about 20 µs a cell,
    so the whole district (10,000 cases) takes seconds: the routes run this in the thread pool."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("案件列表")
    for i, (_, _, _, width) in enumerate(COLUMNS):
        ws.column_dimensions[get_column_letter(i + 1)].width = width
    ws.freeze_panes = "A2"
    header = [WriteOnlyCell(ws, value=title) for title in HEADERS]
    for title in header:
        title.font = Font(bold=True)
    ws.append(header)
    formats = [number_format for _, _, number_format, _ in COLUMNS]

    def cell(value: Any, number_format: str | None) -> Any:
        """Plain values are written fastest; a cell object only where a format or the text type is needed."""
        value = safe_cell(value)  # never "=...", which openpyxl would store as a formula
        if number_format and value is not None:
            typed = WriteOnlyCell(ws, value=value)
            typed.number_format = number_format
            return typed
        return value

    for values in _values(rows):
        ws.append([cell(v, f) for v, f in zip(values, formats, strict=True)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORTS = {"csv": (csv_bytes, "text/csv; charset=utf-8"), "xlsx": (xlsx_bytes, XLSX)}


@router.get("/cases/export.{suffix}")
async def export(request: Request, suffix: str, actor: PageActor, db: Db, filters: Filters) -> Response:
    """Every row the list shows for these filters, without paging, IDs masked as everywhere in lists."""
    if denied := refused(request, actor, "case.read"):
        return denied
    if suffix not in EXPORTS:
        return render_error(request, 404, "页面不存在", actor)
    build, media_type = EXPORTS[suffix]
    body = await run_in_threadpool(build, await case_lists_repo.all_cases(db, filters.cases(actor.place_code)))
    await access_log.record(request, actor, Kind.EXPORT_CASES, f"cases.{suffix}", detail=request.url.query[:500])
    return Response(body, media_type=media_type, headers=_attachment(suffix))
