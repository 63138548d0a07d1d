"""The kinds of row a front-door workflow keeps (request, referral, complaint) as their views and actions need
them, and acting on one: read the row (refusing callers who may not see it), run the action's workflow update
(rules.frontdoor_actions names it), whose validator has the last word on role, bureau and stage, and answer
with the workflow's state afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from rules.actions import ActionSpec
from schemas.staff import Actor
from webapp.errors import ApiError
from webapp.frontdoor.rows import log_of
from webapp.payloads import with_actor
from webapp.workflow_calls import connected, query, update

log = structlog.get_logger("webapp")

# What acting on one row needs: (database, Temporal client, the row's number, the caller, the body).
Run = Callable[[asyncpg.Pool, Client | None, str, Actor, BaseModel], Awaitable[Any]]
# What the web app checks of an action before its workflow is asked: (database, the row's number, the caller,
# the payload); it raises the ApiError of what it refuses.
Check = Callable[[asyncpg.Pool, str, Actor, Any], Awaitable[None]]
SLOW = ApiError(504, "timeout", "处理超时，请稍后查看状态")
ROW_TRIES = 50  # 5 s: what a row written by an activity may lag behind its workflow


@dataclass(frozen=True)
class Subject:
    """A kind of row a workflow keeps (request, referral, complaint), as its views and actions need it."""

    name: str  # its frontdoor_log subject type, and the prefix of its action routes' names
    key: str  # the path parameter and log field that name one row
    load: Callable[[asyncpg.Pool, str, Actor], Awaitable[Any]]  # its typed row; 404/403 before anything else
    state: type[BaseModel]  # what the workflow's `state` query answers
    actions: Mapping[str, ActionSpec]  # its staff actions (rules.frontdoor_actions), a workflow update each
    payloads: Mapping[str, type[BaseModel]]  # each action's payload (schemas.frontdoor)
    checks: Mapping[str, Check] = field(default_factory=dict)  # where the web app checks more than the caller


async def history(db: asyncpg.Pool, temporal: Client | None, subject: Subject, row: Any) -> dict[str, Any]:
    """What every detail view shows of the workflow: its state (None when it cannot be asked now) and the log."""
    return {
        "state": await query(connected(temporal), row.workflow_id, subject.state),
        "log": await log_of(db, subject.name, getattr(row, subject.key)),
    }


async def perform(
    subject: Subject,
    action: str,
    db: asyncpg.Pool,
    temporal: Client | None,
    subject_id: str,
    actor: Actor,
    body: BaseModel,
) -> Any:
    """One of the subject's actions: its payload (the body with the caller as its actor), the web app's own check
    where it has one, the row read (refusing callers who may not see it), then the workflow's update, whose
    validator has the last word; the answer is the workflow's state afterwards (not what the update returns)."""
    payload = with_actor(subject.payloads[action], body, actor)
    if action in subject.checks:
        await subject.checks[action](db, subject_id, actor, payload)
    row = await subject.load(db, subject_id, actor)
    client = connected(temporal)
    name = subject.actions[action].update
    with bound_contextvars(**{subject.key: subject_id}, workflow_id=row.workflow_id, update=name):
        await update(client, row.workflow_id, name, payload, slow=SLOW)
        log.info("front-door action done", by=actor.username)
    state = await query(client, row.workflow_id, subject.state)
    if state is None:
        raise ApiError(503, "temporal_unavailable", "已办理，但暂时无法读取最新状态")
    await _row_caught_up(subject, db, subject_id, actor, state.status)
    return state


async def _row_caught_up(subject: Subject, db: asyncpg.Pool, subject_id: str, actor: Actor, status: str) -> None:
    """Wait (a few seconds at most) until the row, which the workflow's activity writes, shows the status the
    workflow answered with: the page after a form then shows the new state, not the one before (issue 17.2)."""
    for _ in range(ROW_TRIES):
        if (await subject.load(db, subject_id, actor)).status == status:
            return
        await asyncio.sleep(0.1)
