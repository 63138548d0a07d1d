"""Shared by the district supervision pages: which sections the user may open (the tabs), Beijing dates,
months, working days counted in bulk, form errors, and calling a supervision workflow's update.

The supervision tables (rechecks, ongoing reviews, digests, declarations) are written by activities;
these pages read them and act only through the workflows, except where noted in each module.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any

import asyncpg
import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from db import events_repo, supervision_repo
from infra.clock import BEIJING, today
from rules.calendar import WorkCalendar
from schemas.money import from_fen
from schemas.staff import Actor
from webapp import authz
from webapp.errors import ApiError, chinese_message
from webapp.render import refused as refused_page
from webapp.render import render
from webapp.review.actions import log_refused
from webapp.workflow_calls import connected, start_or_attach, update

log = structlog.get_logger("webapp")

UNAVAILABLE = "工作流服务暂不可用，请稍后再试"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# A supervision workflow's words for its end, a slow answer.
ENDED = ApiError(409, "closed", "该流程已结束或尚未启动，不能再办理")
SLOW = ApiError(504, "timeout", "工作流处理超时，请稍后刷新查看")

# The area's sections: (key, path, the authz action that opens it). The tabs show only what the user may open.
SECTIONS = (
    ("sampling", "/supervision/sampling", "sampling.view"),
    ("reviews", "/supervision/reviews", "reviews.view"),
    ("digest", "/supervision/digest", "digest.view"),
    ("conflicts", "/supervision/conflicts", "conflicts.view"),
    ("declarations", "/supervision/declarations", "declarations.view"),
    ("access_log", "/supervision/access-log", "access_log.view"),
)
SECTION_ACTIONS = {key: action for key, _, action in SECTIONS}


class WorkdayCounter:
    """`WorkCalendar.working_days_between` for thousands of date pairs: one pass over the days from
    `first` to `last` builds a running count, after which each pair is a subtraction (the day-by-day
    loop per case took a quarter of a second for 10,000 cases)."""

    def __init__(self, cal: WorkCalendar, first: date, last: date) -> None:
        self.first = first
        self.running = list(
            accumulate((cal.is_workday(first + timedelta(days=i)) for i in range((last - first).days + 1)), initial=0)
        )

    def between(self, a: date, b: date) -> int:
        """Working days after `a` up to and including `b`; 0 if `b <= a` (both within first..last)."""
        if b <= a:
            return 0
        return self.running[(b - self.first).days + 1] - self.running[(a - self.first).days + 1]


def beijing(at: datetime) -> datetime:
    return at.astimezone(BEIJING)


def yuan(fen: int | None) -> str:
    return "—" if fen is None else f"{from_fen(fen):,.2f}"


def valid_month(text: str | None) -> str | None:
    return text if text and _MONTH.match(text) else None


def previous_month(day: date) -> str:
    return f"{day.replace(day=1) - timedelta(days=1):%Y-%m}"


def form_error(exc: ValidationError, names: dict[str, str]) -> str:
    """A model's validation errors as one Chinese sentence, each named by its label on the form."""
    parts = []
    for e in exc.errors(include_url=False):
        name = names.get(str(e["loc"][0]) if e["loc"] else "", "")
        kind = "missing" if e.get("input") == "" else e["type"]
        parts.append(name + chinese_message({**e, "type": kind, "loc": ()}))
    return "；".join(parts)


def refused(request: Request, actor: Actor, section: str, message: str | None = None) -> HTMLResponse | None:
    """A 403 page that keeps the menu, unless the actor's role may open `section`."""
    return refused_page(request, actor, SECTION_ACTIONS[section], message)


def page(request: Request, template: str, context: dict[str, Any], actor: Actor, *, status: int = 200) -> Response:
    tabs = [(key, path) for key, path, action in SECTIONS if authz.may(actor, action)]
    helpers = {"tabs": tabs, "yuan": yuan, "bj": beijing, "today": today()}
    return render(request, template, helpers | context, status=status, actor=actor)


async def run_for_month(
    temporal: Client | None,
    workflow: str,
    month: str,
    *,
    id: str,
    reuse: WorkflowIDReusePolicy,
    result_type: type,
    seconds: float,
) -> Any:
    """Run a month's supervision workflow under `id` (attaching to the run already there as `reuse` allows)
    and wait up to `seconds` for its result; TimeoutError if it takes longer."""
    handle, _ = await start_or_attach(connected(temporal), workflow, month, id=id, reuse=reuse, result_type=result_type)
    return await asyncio.wait_for(handle.result(), seconds)


async def related(db: asyncpg.Pool, case_id: str, username: str) -> bool:
    """Whether the user is related to the case's household: barred by the relatives check (the case's event log),
    or named by their own relatives register now (an entry made after acceptance)."""
    return await events_repo.is_barred(db, case_id, username) or username in (
        await supervision_repo.registered_relatives(db, case_id)
    )


async def refuse_if_barred(db: asyncpg.Pool, case_id: str, actor: Actor, action: str) -> None:
    """Staff related to the household (`related`) may not act on its re-check or correction; the refusal is logged
    for the district. Re-checks drawn before their sample carried who may not re-check them
    (`SampledCase.excluded`) know neither, nor does any draw know a register entry made after it. The ongoing
    review's workflow knows its barred staff itself."""
    if await related(db, case_id, actor.username):
        refusal = ApiError(403, "recused", "您与该户存在近亲属关系，依规应当回避，不能办理")
        log.info("action refused", by=actor.username, code=refusal.code, case_id=case_id, action=action)
        await log_refused(db, case_id, actor.username, action, refusal)
        raise refusal


async def run_update(
    client: Client | None, workflow_id: str, name: str, payload: BaseModel, applied: Callable[[], Awaitable[bool]]
) -> None:
    """Call a supervision workflow's update; its refusal (or a closed workflow) becomes an ApiError.

    These workflows close as soon as the update is applied, and the server may then no longer have the
    update's outcome to answer with (NOT_FOUND); `applied` asks the database whether it was applied."""
    await update(connected(client), workflow_id, name, payload, closed=ENDED, slow=SLOW, applied=applied)
