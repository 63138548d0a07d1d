"""The working-day calendar: where each year's holidays come from, importing the State Council's
yearly notice (previewed first; a sample to fill in: webapp/admin/calendar_sample.py), and counting
working days as `jiuzhu calendar add` does.

After an import every open case is told to recompute its deadline. If Temporal cannot be reached the
import still stands (the calendar is data, the cases pick it up when told); the page says so and
offers to notify them again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import PurePath
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from temporalio.client import Client
from temporalio.service import RPCError

from db import cases_repo
from db.calendar_repo import (
    BUILTIN_SOURCE,
    Notice,
    NoticeError,
    import_notice,
    imported_years,
    load_calendar,
    parse_notice,
    year_statuses,
)
from infra.calendar_news import announce_calendar_change
from infra.clock import today
from rules.calendar import WorkCalendar
from schemas.staff import Actor
from webapp.admin.calendar_sample import preview, rest_days_lost
from webapp.admin.common import AdminActor, done, render_admin
from webapp.deps import Db, MaybeTemporal
from webapp.errors import chinese_message

log = structlog.get_logger("webapp")
router = APIRouter(include_in_schema=False)

MAX_UPLOAD = 1 << 20  # a year's notice is a few kilobytes
ANNOUNCE_TIMEOUT = 30.0  # seconds; an unreachable server must not hang the page
MAX_WORKING_DAYS = 1000


def _compute(calendar: WorkCalendar, start: str, n: str) -> dict[str, Any]:
    """The compute form's answer: the Nth working day after `start`, or a Chinese error."""
    answer: dict[str, Any] = {"start": start, "n": n}
    try:
        first = dt.date.fromisoformat(start.strip())
    except ValueError:
        return answer | {"error": "开始日期格式不正确（应为YYYY-MM-DD）"}
    if not n.strip().isdecimal() or not 1 <= int(n) <= MAX_WORKING_DAYS:  # isdecimal: what int() reads ("²" not)
        return answer | {"error": f"工作日数应为 1 到 {MAX_WORKING_DAYS} 之间的整数"}
    try:
        deadline = calendar.add_working_days(first, int(n))
    except OverflowError:
        return answer | {"error": "开始日期太晚，期限超出了日历的范围"}
    provisional = calendar.provisional_years((first + dt.timedelta(days=1)).year, deadline.date.year)
    return answer | {"deadline": deadline, "provisional_years": provisional}


async def _page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    *,
    start: str = "",
    n: str = "",
    import_errors: list[str] | None = None,
    import_form: dict[str, str] | None = None,
    notice: Notice | None = None,
) -> Response:
    async with db.acquire() as conn:
        calendar = await load_calendar(conn)
        statuses = year_statuses(calendar, await imported_years(conn), today())
        open_cases = await cases_repo.count(conn, status="open")
    context = {
        "years": list(reversed(statuses)),
        "builtin_source": BUILTIN_SOURCE,
        "open_cases": open_cases,
        "compute": _compute(calendar, start, n) if start or n else {"start": today().isoformat(), "n": "20"},
        "import_errors": import_errors,
        "import_form": import_form or {"content": "", "filename": "", "source": ""},
        "preview": preview(notice, calendar) if notice else None,
        "rest_days_lost": rest_days_lost(notice, calendar) if notice else [],
        "notice": notice,
        "sample_year": today().year + 1,
    }
    return render_admin(request, "admin/calendar.html", context, actor, status=422 if import_errors else 200)


@router.get("/admin/calendar")
async def calendar_page(request: Request, start: str = "", n: str = "", *, actor: AdminActor, db: Db) -> Response:
    return await _page(request, actor, db, start=start, n=n)


def _notice_problems(error: NoticeError) -> list[str]:
    """One line per problem, pydantic's English replaced by the shared Chinese wording."""
    if not error.errors:
        return [str(error)]
    return [part for e in error.errors for part in chinese_message(e).split("; ")]


async def _announce(db: asyncpg.Pool, client: Client | None) -> dict[str, int | None]:
    """Tell open cases to recompute; `told` is None if the workflow service could not be asked at all."""
    if client is None:
        return {"told": None, "failed": 0}
    try:
        async with asyncio.timeout(ANNOUNCE_TIMEOUT):
            told, failed = await announce_calendar_change(client, db)
    except (TimeoutError, RPCError, RuntimeError) as e:
        log.warning("calendar change not announced", error=str(e))
        return {"told": None, "failed": 0}
    return {"told": told, "failed": len(failed)}


def _read_notice(content: str, filename: str, source: str) -> tuple[Notice | None, list[str]]:
    """The notice, or the problems in Chinese. A pasted text has no file name: its format is guessed
    from its first character, and a pasted CSV must name its source (the default would be made up)."""
    if not content.strip():
        return None, ["请选择通知文件，或粘贴通知内容"]
    if len(content) > MAX_UPLOAD:
        return None, ["内容过长（最多 1 MB）"]
    name = PurePath(filename.strip()).name
    if not name:
        name = "粘贴内容.json" if content.lstrip().startswith("{") else "粘贴内容.csv"
        if name.endswith(".csv") and not source.strip():
            return None, ["粘贴 CSV 内容时请填写来源（通知名称或文号）"]
    try:
        return parse_notice(content.encode(), name, source.strip() or None), []
    except NoticeError as e:
        return None, _notice_problems(e)


@router.post("/admin/calendar/import")
async def import_file(
    request: Request,
    content: Annotated[str, Form()] = "",
    filename: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "",
    step: Annotated[str, Form()] = "import",
    *,
    actor: AdminActor,
    db: Db,
    temporal: MaybeTemporal,
) -> Response:
    """The page reads the chosen file in the browser and posts its text: a multipart upload would not
    get past the CSRF middleware (asgi-csrf 0.11 calls python-multipart with a removed argument).
    `step=preview` lists the notice's days (those it changes marked) and imports nothing."""
    notice, problems = _read_notice(content, filename, source)
    form = {"content": content, "filename": filename, "source": source}
    if notice is None:
        return await _page(request, actor, db, import_errors=problems, import_form=form)
    if step == "preview":
        return await _page(request, actor, db, import_form=form, notice=notice)
    async with db.acquire() as conn:
        summary = await import_notice(conn, notice)
    notified = await _announce(db, temporal)
    log.info("calendar notice imported", by=actor.username, year=summary.year, source=summary.source, **notified)
    return done(
        request,
        "/admin/calendar",
        "imported",
        year=summary.year,
        holidays=summary.holidays,
        workdays=summary.workdays,
        replaced=summary.replaced,
        **notified,
    )


@router.post("/admin/calendar/announce")
async def announce(request: Request, *, actor: AdminActor, db: Db, temporal: MaybeTemporal) -> Response:
    notified = await _announce(db, temporal)
    log.info("calendar change announced", by=actor.username, **notified)
    return done(request, "/admin/calendar", "announced", **notified)
