"""Shared by the district supervision pages: who may see which section, Beijing dates, months, and
calling a supervision workflow's update with its refusal turned into a message for the form.

The supervision tables (rechecks, ongoing reviews, digests, declarations) are written by activities;
these pages read them and act only through the workflows, except where noted in each module.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from infra.clock import BEIJING, today
from schemas.money import from_fen
from schemas.staff import Actor, Role
from webapp.actions import UPDATE_TIMEOUT, log_refused
from webapp.errors import ApiError, chinese_message
from webapp.ui.render import render, render_error

log = structlog.get_logger("webapp")

DISTRICT_ROLES = frozenset({Role.DISTRICT_OFFICER, Role.DISTRICT_SUPERVISOR})
TOWNSHIP_STAFF = frozenset({Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER})
UNAVAILABLE = "工作流服务暂不可用，请稍后再试"
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# The area's sections: (key, path, roles that may open it). The tabs show only what the user may open.
SECTIONS = (
    ("sampling", "/supervision/sampling", DISTRICT_ROLES),
    ("reviews", "/supervision/reviews", DISTRICT_ROLES | TOWNSHIP_STAFF),
    ("digest", "/supervision/digest", DISTRICT_ROLES | TOWNSHIP_STAFF),
    ("conflicts", "/supervision/conflicts", DISTRICT_ROLES),
    ("declarations", "/supervision/declarations", DISTRICT_ROLES),
)
SECTION_ROLES = {key: roles for key, _, roles in SECTIONS}


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


def refused(request: Request, actor: Actor, section: str, message: str) -> HTMLResponse | None:
    """A 403 page that keeps the menu, unless the actor's role may open `section`."""
    return None if actor.role in SECTION_ROLES[section] else render_error(request, 403, message, actor)


def page(request: Request, template: str, context: dict[str, Any], actor: Actor, *, status: int = 200) -> Response:
    tabs = [(key, path) for key, path, roles in SECTIONS if actor.role in roles]
    helpers = {"tabs": tabs, "yuan": yuan, "bj": beijing, "today": today()}
    return render(request, template, helpers | context, status=status, actor=actor)


def temporal(request: Request) -> Client:
    found = request.app.state.client
    if found is None:
        raise ApiError(503, "temporal_unavailable", UNAVAILABLE)
    return found


async def barred_on(db: asyncpg.Pool, case_id: str, username: str) -> bool:
    """Whether the relatives check named `username` among the staff who must stay out of the case."""
    return await db.fetchval(
        "select exists(select 1 from case_events where case_id = $1 and kind = 'relatives_matched' "
        "and payload->'barred' @> jsonb_build_array(jsonb_build_object('username', $2::text)))",
        case_id,
        username,
    )


async def refuse_if_barred(db: asyncpg.Pool, case_id: str, actor: Actor, action: str) -> None:
    """The ongoing-review and re-check workflows do not know the relatives register; the case's event
    log does, so the same recusal rule as on the case itself is applied (and logged) here."""
    if await barred_on(db, case_id, actor.username):
        refusal = ApiError(403, "recused", "您与该户存在近亲属关系，依规应当回避，不能办理")
        log.info("action refused", by=actor.username, code=refusal.code, case_id=case_id, action=action)
        await log_refused(db, case_id, actor.username, action, refusal)
        raise refusal


async def run_update(
    client: Client, workflow_id: str, update: str, payload: BaseModel, applied: Callable[[], Awaitable[bool]]
) -> None:
    """Call a supervision workflow's update; its refusal (or a closed workflow) becomes an ApiError.

    These workflows close as soon as the update is applied, and the server may then no longer have the
    update's outcome to answer with (NOT_FOUND); `applied` asks the database whether it was applied."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        for attempt in range(3):
            try:
                await handle.execute_update(update, payload, rpc_timeout=UPDATE_TIMEOUT)
                break
            except RPCError as exc:  # a workflow started a moment ago may not take updates yet: try again
                if exc.status != RPCStatusCode.NOT_FOUND or attempt == 2 or await applied():
                    raise
                await asyncio.sleep(0.5)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type:
            log.info("supervision update refused", workflow_id=workflow_id, code=cause.type)
            raise ApiError(403 if cause.type == "wrong_role" else 409, cause.type, cause.message) from None
        log.error("supervision update failed", workflow_id=workflow_id, error=str(cause))
        raise ApiError(500, "workflow_error", "处理出错，请联系系统管理员") from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            for _ in range(25):  # the update may still be applying (its activity writes the database)
                if await applied():
                    return
                await asyncio.sleep(0.2)
            raise ApiError(409, "closed", "该流程已结束或尚未启动，不能再办理") from None
        log.error("supervision update failed", workflow_id=workflow_id, error=exc.message)
        raise ApiError(503, "temporal_unavailable", UNAVAILABLE) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        raise ApiError(504, "timeout", "工作流处理超时，请稍后刷新查看") from None
