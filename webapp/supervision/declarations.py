"""The monthly fund declaration (资金申报, `/supervision/declarations`): each month's versions, one
version per township and kind of assistance, drafting through the workflow, confirmation, and exports
(CSV, Excel, printable PDF) of a given version.

A confirmed version never changes: the database trigger refuses any edit, and a correction is a new
version drafted by the same workflow. Confirming is the one write done from here rather than in a workflow
(`db.declarations_repo.confirm`): a single transaction with nothing to wait for.
District officers draft and confirm; supervisors read and export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from openpyxl import Workbook
from openpyxl.styles import Font
from starlette.concurrency import run_in_threadpool
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from db import declarations_repo
from db.declarations_repo import Declaration
from infra import clock
from infra.clock import today
from rules.caps import Tier
from schemas.money import from_fen
from schemas.review import AssistanceType
from schemas.staff import Actor
from schemas.supervision import DeclarationResult, SupervisionNames
from webapp import access_log, authz
from webapp.access_log import Kind
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.errors import ApiError
from webapp.exports import safe_row
from webapp.render import Feedback, render_error
from webapp.render import refused as refused_page
from webapp.supervision.common import UNAVAILABLE, beijing, page, refused, run_for_month, valid_month
from webapp.supervision.pdf import DeclarationPrint, declaration_pdf

log = structlog.get_logger("webapp")
router = APIRouter(include_in_schema=False)

DRAFT_WAIT_SECONDS = 30
KIND_LABELS = {t.value: t.label for t in AssistanceType} | {f"emergency_{t.value}": t.label for t in Tier}
STATUS_LABELS = {"draft": "草稿", "confirmed": "已确认", "superseded": "已被更正版本取代"}
HEADERS = ["乡镇（街道）代码", "乡镇（街道）", "救助类别", "户数", "人数", "金额（元）"]
IMMUTABLE = "已确认的申报不可更改；如需更正，请生成新版本（更正版本确认后，原版本标为已取代）"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def shaped(decl: Declaration) -> dict[str, Any]:
    """The version as every view shows it: rows in township order, a subtotal after each township's
    rows, the stored totals. Nothing is recomputed from today's data."""
    rows: list[dict[str, Any]] = []
    subtotals: list[int] = []
    for i, r in enumerate(decl.data):
        rows.append(r | {"kind_label": kind_label(r["kind"])})
        last_of_township = i + 1 == len(decl.data) or decl.data[i + 1]["township_code"] != r["township_code"]
        if last_of_township:
            mine = [x for x in decl.data if x["township_code"] == r["township_code"]]
            rows.append(
                {
                    "subtotal": True,
                    "township_name": r["township_name"],
                    "households": sum(x["households"] for x in mine),
                    "people": sum(x["people"] for x in mine),
                    "amount_fen": sum(x["amount_fen"] for x in mine),
                }
            )
            subtotals.append(len(rows) - 1)
    return {"rows": rows, "subtotals": subtotals, "totals": decl.totals}


def _table(decl: Declaration, money: Callable[[int], Any]) -> list[list[Any]]:
    """Header, one line per township and kind, and the total: what the CSV and the sheet hold."""
    lines = [
        [
            r["township_code"],
            r["township_name"],
            kind_label(r["kind"]),
            r["households"],
            r["people"],
            money(r["amount_fen"]),
        ]
        for r in decl.data
    ]
    t = decl.totals
    table = [HEADERS, *lines, ["合计", None, None, t["households"], t["people"], money(t["amount_fen"])]]
    return [safe_row(line) for line in table]


def _signed(name: str | None, at: datetime | None) -> str | None:
    return f"{name} {beijing(at):%Y-%m-%d %H:%M}" if at else None


def csv_bytes(decl: Declaration, actor: Actor) -> bytes:
    """UTF-8 with a BOM so that Excel on a Chinese Windows opens it as UTF-8; amounts as plain yuan."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(_table(decl, lambda fen: f"{from_fen(fen):.2f}"))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(decl: Declaration, actor: Actor) -> bytes:
    """The CSV's table with amounts as numbers (two decimals), and a sheet saying which version it is."""
    wb = Workbook()
    ws = wb.active
    ws.title = "资金申报"
    for line in _table(decl, from_fen):
        ws.append(line)
    for cell in (*ws[1], *ws[ws.max_row]):
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=2, min_col=6, max_col=6):
        row[0].number_format = "#,##0.00"
    for column, width in zip("ABCDEF", (16, 16, 24, 8, 8, 16), strict=True):
        ws.column_dimensions[column].width = width
    about = wb.create_sheet("说明")
    for line in (
        ("申报月份", decl.month),
        ("版本", decl.version),
        ("状态", STATUS_LABELS[decl.status]),
        ("生成", _signed(decl.created_by, decl.created_at)),
        ("确认", _signed(decl.confirmed_by, decl.confirmed_at) or ""),
        ("说明", decl.note or ""),
    ):
        about.append(safe_row(line))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def pdf_bytes(decl: Declaration, actor: Actor) -> bytes:
    view = shaped(decl)
    rows = [
        [
            r["township_name"],
            "小计" if r.get("subtotal") else r["kind_label"],
            str(r["households"]),
            str(r["people"]),
            f"{from_fen(r['amount_fen']):,.2f}",
        ]
        for r in view["rows"]
    ]
    t = decl.totals
    printed = DeclarationPrint(
        month=decl.month,
        version=decl.version,
        status_label=STATUS_LABELS[decl.status],
        created=_signed(decl.created_by, decl.created_at) or "",
        confirmed=_signed(decl.confirmed_by, decl.confirmed_at),
        note=decl.note,
        rows=rows,
        subtotals=view["subtotals"],
        total=[str(t["households"]), str(t["people"]), f"{from_fen(t['amount_fen']):,.2f}"],
        draft=decl.status == "draft",
    )
    return declaration_pdf(printed, actor.full_name, clock.now())


# Each builder takes (version, viewer); only the printed form names the viewer.
EXPORTS = {
    "csv": (csv_bytes, "text/csv; charset=utf-8"),
    "xlsx": (xlsx_bytes, XLSX),
    "pdf": (pdf_bytes, "application/pdf"),
}


@router.get("/supervision/declarations")
async def declarations(request: Request, actor: PageActor, db: Db) -> Response:
    if denied := refused(request, actor, "declarations"):
        return denied
    return await _list_page(request, actor, db)


async def _list_page(request: Request, actor: Actor, db: asyncpg.Pool, feedback: Feedback = Feedback()) -> Response:
    months: dict[str, list[declarations_repo.VersionLine]] = {}
    for r in await declarations_repo.all_versions(db):
        months.setdefault(r.month, []).append(r)
    context = {
        "section": "declarations",
        "months": months,
        "status_labels": STATUS_LABELS,
        "can_draft": authz.may(actor, "declarations.draft"),
        "this_month": f"{today():%Y-%m}",
        **feedback.context("error"),
    }
    return page(request, "supervision/declarations.html", context, actor, status=feedback.status)


async def _one(db: asyncpg.Pool, month: str, version: int) -> Declaration | None:
    return await declarations_repo.declaration(db, month, version) if valid_month(month) else None


@router.get("/supervision/declarations/{month}/{version}")
async def declaration(
    request: Request, month: str, version: int, actor: PageActor, db: Db, done: str | None = None
) -> Response:
    if denied := refused(request, actor, "declarations"):
        return denied
    return await _view_page(request, actor, db, month, version, Feedback(done=done))


async def _view_page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    month: str,
    version: int,
    feedback: Feedback = Feedback(),
) -> Response:
    decl = await _one(db, month, version)
    if decl is None:
        return render_error(request, 404, "该申报版本不存在", actor)
    latest = await declarations_repo.latest_version(db, month)
    context = shaped(decl) | {
        "section": "declarations",
        "d": decl,
        "latest": latest,
        "status_labels": STATUS_LABELS,
        "officer": authz.may(actor, "declarations.confirm"),
        **feedback.context("done", "error"),
    }
    return page(request, "supervision/declaration.html", context, actor, status=feedback.status)


@router.post("/supervision/declarations/draft")
async def draft(
    request: Request, actor: PageActor, db: Db, temporal: MaybeTemporal, month: Annotated[str, Form()] = ""
) -> Response:
    """Draft (or refresh the draft of) a month through the declaration workflow: the latest draft is
    recomputed; after a confirmed version, a new version is drafted (a correction), by a new run."""
    if denied := refused_page(request, actor, "declarations.draft"):
        return denied
    wanted = valid_month(month)
    if wanted is None:
        return await _list_page(request, actor, db, Feedback.refused("请选择申报月份"))
    try:
        result = await run_for_month(
            temporal,
            SupervisionNames.DECLARATION,
            wanted,
            id=f"declaration-{wanted}",
            reuse=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            result_type=DeclarationResult,
            seconds=DRAFT_WAIT_SECONDS,
        )
    except ApiError as exc:
        return await _list_page(request, actor, db, Feedback.refused(exc))
    except RPCError:
        return await _list_page(request, actor, db, Feedback.refused(UNAVAILABLE, status=503))
    except TimeoutError:
        return await _list_page(request, actor, db, Feedback(error="申报正在生成，请稍后刷新查看", status=202))
    # The workflow records the schedule as author; a draft made here is the officer's.
    await declarations_repo.sign_draft(db, result.month, result.version, actor.username)
    log.info("fund declaration drafted", month=result.month, version=result.version, by=actor.username)
    return RedirectResponse(f"/supervision/declarations/{result.month}/{result.version}?done=drafted", status_code=303)


@router.post("/supervision/declarations/{month}/{version}/confirm")
async def confirm(
    request: Request, month: str, version: int, actor: PageActor, db: Db, note: Annotated[str, Form()] = ""
) -> Response:
    if denied := refused_page(request, actor, "declarations.confirm"):
        return denied
    if await _one(db, month, version) is None:
        return render_error(request, 404, "该申报版本不存在", actor)
    try:
        async with db.acquire() as conn:
            await declarations_repo.confirm(conn, month, version, actor.username, note.strip())
    except declarations_repo.NotADraft as exc:
        error = f"第 {version} 版{STATUS_LABELS[exc.status]}。{IMMUTABLE}"
        return await _view_page(request, actor, db, month, version, Feedback.refused(error, status=409))
    log.info("fund declaration confirmed", month=month, version=version, by=actor.username)
    return RedirectResponse(f"/supervision/declarations/{month}/{version}?done=confirmed", status_code=303)


@router.get("/supervision/declarations/{month}/{version}/export.{suffix}")
async def export(request: Request, month: str, version: int, suffix: str, actor: PageActor, db: Db) -> Response:
    if denied := refused(request, actor, "declarations"):
        return denied
    decl = await _one(db, month, version)
    if decl is None or suffix not in EXPORTS:
        return render_error(request, 404, "该申报版本不存在", actor)
    build, media_type = EXPORTS[suffix]
    body = await run_in_threadpool(build, decl, actor)
    disposition = "inline" if suffix == "pdf" else "attachment"
    name = f"declaration-{month}-v{version}.{suffix}"
    await access_log.record(request, actor, Kind.EXPORT_DECLARATION, name)
    return Response(
        body,
        media_type=media_type,
        headers={"content-disposition": f'{disposition}; filename="{name}"', "cache-control": "no-store"},
    )
