"""Staff actions on a case, each a workflow update called by name. Everything is checked here first (role,
body, jurisdiction, investigators), then the update is called once; the workflow's validator checks role,
stage and recusal per action and has the last word. The API and the case page both act through `perform`.
"""

from __future__ import annotations

import asyncpg
import structlog
from pydantic import BaseModel
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from db import events_repo, users_repo
from rules.access import within
from rules.stages import Action
from schemas.review import ACTION_PAYLOADS, ActionAck, CaseError, HomeVisit
from schemas.staff import Actor
from webapp import authz
from webapp.errors import ApiError
from webapp.payloads import with_actor
from webapp.review.cases import case_row
from webapp.workflow_calls import connected, update

log = structlog.get_logger("webapp")

# Each action's payload and the name of the workflow update that takes it (the action's own name).
ACTIONS: dict[Action, tuple[type[BaseModel], str]] = {Action(n): (model, n) for n, model in ACTION_PAYLOADS.items()}
# The review's own words for a closed case, a slow workflow and a failure inside it.
CASE_CLOSED = ApiError(409, "case_closed", "案件已办结，不能再操作")
TIMEOUT = ApiError(504, "timeout", "工作流处理超时，请稍后查看案件状态")
FAILED = ApiError(500, "workflow_error", "案件处理出错，请联系系统管理员")


async def check_investigators(db: asyncpg.Pool, names: list[str], place: str) -> None:
    """Investigators are named by user name, and the rule that no investigator approves the case relies
    on those names: the workflow cannot read the users table, so unknown or foreign names stop here."""
    wanted = sorted({n.strip() for n in names if n.strip()})
    places = await users_repo.places_of_active(db, wanted)
    unknown = [n for n in wanted if n not in places]
    if unknown:
        raise ApiError(422, "invalid", f"调查人员须为本系统在职工作人员（填写用户名）：{'、'.join(unknown)}")
    foreign = [n for n in wanted if not within(places[n], place)]
    if foreign:
        raise ApiError(422, "invalid", f"调查人员不负责该案件所在地：{'、'.join(foreign)}")


async def log_refused(db: asyncpg.Pool, case_id: str, username: str, action: str, refused: ApiError) -> None:
    """Keep a refused attempt for the district: a refused update leaves nothing in the workflow history."""
    await events_repo.log_refused(db, case_id, username, action, refused.code, refused.message)


async def perform(
    db: asyncpg.Pool, temporal: Client | None, case_id: str, actor: Actor, action: Action, body: BaseModel
) -> ActionAck:
    """Validate everything here, then call the update once; the workflow checks role, stage and recusal."""
    authz.require(actor, "case.act")
    model, name = ACTIONS[action]
    payload = with_actor(model, body, actor)
    row = await case_row(db, case_id, actor)
    if isinstance(payload, HomeVisit):
        await check_investigators(db, payload.investigators, row.place)
    client = connected(temporal)
    with bound_contextvars(case_id=case_id, workflow_id=row.workflow_id, action=action.value):
        try:
            ack = await update(
                client,
                row.workflow_id,
                name,
                payload,
                result_type=ActionAck,
                closed=CASE_CLOSED,
                slow=TIMEOUT,
                failed=FAILED,
            )
        except ApiError as refused:
            if refused.code == CaseError.RECUSED:
                await log_refused(db, case_id, actor.username, action.value, refused)
            raise
        log.info("action done", by=actor.username, stage=ack.stage, event_key=ack.event_key)
    return ack
