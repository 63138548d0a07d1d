"""A place's emergency-aid fund ledger (救助资金台账): income recorded by hand, payments from the events,
each payment with its beneficiary and a link to its event, filtered by Beijing dates, and exported as CSV
(formula-safe cells, as every export). The village cadre reaches their village's ledger from the menu."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any
from urllib.parse import quote

import asyncpg
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from infra.clock import now
from schemas.staff import Actor
from webapp import access_log
from webapp.access_log import Kind
from webapp.deps import Db, PageActor
from webapp.emergency import service
from webapp.emergency.models import FundLedger, IncomeIn
from webapp.emergency.pages import LABELS, SOURCES
from webapp.errors import ApiError
from webapp.exports import safe_row
from webapp.render import HIDDEN_FIELDS, Feedback, render, render_error

router = APIRouter(include_in_schema=False)
EXPORT_LIMIT = 100_000
HEADERS = ["时间（北京时间）", "类型", "金额（元）", "来源/受助人", "急难事件", "备注", "登记人", "余额（元）"]


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _dates(request: Request) -> tuple[date | None, date | None, dict[str, str]]:
    since, until = request.query_params.get("since"), request.query_params.get("until")
    return _day(since), _day(until), {"since": since or "", "until": until or ""}


@router.get("/funds/{place_code}")
async def ledger(request: Request, place_code: str, actor: PageActor, db: Db) -> Response:
    return await _ledger_page(request, place_code, actor, db)


async def _ledger_page(
    request: Request,
    place_code: str,
    actor: Actor,
    db: asyncpg.Pool,
    feedback: Feedback = Feedback(),
) -> Response:
    since, until, chosen = _dates(request)
    try:
        book = await service.fund_ledger(db, place_code, actor, since=since, until=until)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    can_add = service.may_book(actor, book.level)
    query = "&".join(f"{k}={quote(v)}" for k, v in chosen.items() if v)
    context = {"book": book, "can_add": can_add, "sources": SOURCES, **feedback.context("error", "values")}
    context |= {"filter": chosen, "export_url": f"/funds/{place_code}/export.csv" + (f"?{query}" if query else "")}
    return render(request, "emergency/ledger.html", LABELS | context, status=feedback.status, actor=actor)


def _rows(book: FundLedger) -> list[list[Any]]:
    sources = dict(SOURCES)
    out = []
    for e in book.entries:
        income = e.kind == "income"
        who = (sources.get(e.source or "", e.source or "") + (f" · {e.donor}" if e.donor else "")) if income else ""
        out.append(
            [
                e.recorded_at.astimezone(LABELS["beijing"]).strftime("%Y-%m-%d %H:%M"),
                "入账" if income else "支出",
                f"{e.amount:.2f}" if income else f"-{e.amount:.2f}",
                who if income else (e.beneficiary or ""),
                e.event_id or "",
                e.note or "",
                e.recorded_by_name or e.recorded_by,
                f"{e.balance_after:.2f}",
            ]
        )
    return out


@router.get("/funds/{place_code}/export.csv")
async def export(request: Request, place_code: str, actor: PageActor, db: Db) -> Response:
    since, until, _ = _dates(request)
    try:
        book = await service.fund_ledger(db, place_code, actor, since=since, until=until, limit=EXPORT_LIMIT)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    await access_log.record(request, actor, Kind.EXPORT_LEDGER, f"funds.{place_code}", detail=request.url.query[:500])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(safe_row(r) for r in _rows(book))
    stamp = now().strftime("%Y%m%d-%H%M")
    chinese = quote(f"{book.name}-{stamp}.csv")
    disposition = f"attachment; filename=\"ledger-{place_code}-{stamp}.csv\"; filename*=UTF-8''{chinese}"
    return Response(
        out.getvalue().encode("utf-8-sig"),  # a BOM: how Excel recognises UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": disposition},
    )


@router.post("/funds/{place_code}")
async def add_income(request: Request, place_code: str, actor: PageActor, db: Db) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k not in HIDDEN_FIELDS}
    try:
        body = IncomeIn.model_validate({k: v or None for k, v in values.items()})
        await service.add_income(db, place_code, body, actor)
    except (ValidationError, ApiError) as exc:
        return await _ledger_page(request, place_code, actor, db, Feedback.refused(exc, values))
    return RedirectResponse(f"/funds/{place_code}", status_code=303)
