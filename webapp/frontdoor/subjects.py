"""The kinds of row a front-door workflow keeps (request, referral, complaint) as their views and actions need
them, and acting on one: read the row (refusing callers who may not see it), run a workflow update by name,
whose validator has the last word on role, bureau and stage, and answer with the workflow's state afterwards.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from schemas.frontdoor import (
    ComplaintAccept,
    ComplaintConclude,
    ComplaintNames,
    ComplaintState,
    IntakeState,
    ReferralAccept,
    ReferralInfoRequest,
    ReferralInfoSupplied,
    ReferralNames,
    ReferralResult,
    ReferralState,
)
from schemas.staff import Actor
from webapp.errors import ApiError
from webapp.frontdoor.rows import complaint_row, log_of, referral_row, request_row
from webapp.payloads import with_actor
from webapp.workflow_calls import connected, query, update

log = structlog.get_logger("webapp")

Actions = dict[str, tuple[type[BaseModel], str, str]]  # action in the path: (payload model, update name, label)
# What acting on one row needs: (database, Temporal client, the row's number, the caller, the body).
Run = Callable[[asyncpg.Pool, Client | None, str, Actor, BaseModel], Awaitable[Any]]
SLOW = ApiError(504, "timeout", "处理超时，请稍后查看状态")


@dataclass(frozen=True)
class Subject:
    """A kind of row a workflow keeps (request, referral, complaint), as its views and actions need it."""

    name: str  # its frontdoor_log subject type, and the prefix of its action routes' names
    key: str  # the path parameter and log field that name one row
    load: Callable[[asyncpg.Pool, str, Actor], Awaitable[Any]]  # its typed row; 404/403 before anything else
    state: type[BaseModel]  # what the workflow's `state` query answers
    actions: Actions = field(default_factory=dict)  # the plain actions: a workflow update each, nothing more


REFERRAL_ACTIONS: Actions = {
    "accept": (ReferralAccept, ReferralNames.ACCEPT, "接收转介"),
    "request-info": (ReferralInfoRequest, ReferralNames.REQUEST_INFO, "要求补充信息"),
    "supply-info": (ReferralInfoSupplied, ReferralNames.SUPPLY_INFO, "补充信息"),
    "result": (ReferralResult, ReferralNames.RESULT, "报告办理结果"),
}
COMPLAINT_ACTIONS: Actions = {
    "accept": (ComplaintAccept, ComplaintNames.ACCEPT, "受理投诉"),
    "conclude": (ComplaintConclude, ComplaintNames.CONCLUDE, "办结并答复"),
}
REQUESTS = Subject("request", "request_no", request_row, IntakeState)
REFERRALS = Subject("referral", "referral_id", referral_row, ReferralState, REFERRAL_ACTIONS)
COMPLAINTS = Subject("complaint", "complaint_no", complaint_row, ComplaintState, COMPLAINT_ACTIONS)


async def history(db: asyncpg.Pool, temporal: Client | None, subject: Subject, row: Any) -> dict[str, Any]:
    """What every detail view shows of the workflow: its state (None when it cannot be asked now) and the log."""
    return {
        "state": await query(connected(temporal), row.workflow_id, subject.state),
        "log": await log_of(db, subject.name, getattr(row, subject.key)),
    }


async def update_and_read(
    temporal: Client | None,
    workflow_id: str,
    name: str,
    payload: BaseModel,
    actor: Actor,
    state_type: type[BaseModel],
    about: dict[str, str],
) -> Any:
    """Call one update and answer with the state queried afterwards: what the update returns is not used.
    `about` names the row in the update's log lines."""
    client = connected(temporal)
    with bound_contextvars(**about, workflow_id=workflow_id, update=name):
        await update(client, workflow_id, name, payload, slow=SLOW)
        log.info("front-door action done", by=actor.username)
    state = await query(client, workflow_id, state_type)
    if state is None:
        raise ApiError(503, "temporal_unavailable", "已办理，但暂时无法读取最新状态")
    return state


async def act_on(
    subject: Subject,
    db: asyncpg.Pool,
    temporal: Client | None,
    subject_id: str,
    actor: Actor,
    name: str,
    payload: BaseModel,
) -> Any:
    """Read the row (refusing callers who may not see it), run the update on its workflow, whose validator
    has the last word, and answer with the workflow's state afterwards."""
    row = await subject.load(db, subject_id, actor)
    return await update_and_read(
        temporal, row.workflow_id, name, payload, actor, subject.state, {subject.key: subject_id}
    )


async def perform(
    subject: Subject,
    action: str,
    db: asyncpg.Pool,
    temporal: Client | None,
    subject_id: str,
    actor: Actor,
    body: BaseModel,
) -> Any:
    """One of the subject's plain actions, its body completed with the caller as the actor."""
    model, name, _ = subject.actions[action]
    return await act_on(subject, db, temporal, subject_id, actor, name, with_actor(model, body, actor))
