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

from rules.access import within
from rules.stages import Action
from schemas.review import (
    ActionAck,
    CaseError,
    DeadlineExtension,
    Decision,
    Hearing,
    HomeVisit,
    MaterialsSupplied,
    MissingMaterials,
    NeighbourInterview,
    Objection,
    RefusalDelivered,
    TakeOver,
    VerificationResult,
)
from schemas.staff import Actor
from webapp import authz
from webapp.errors import ApiError
from webapp.payloads import with_actor
from webapp.review.cases import case_row
from webapp.workflow_calls import connected, update

log = structlog.get_logger("webapp")

ACTIONS: dict[Action, tuple[type[BaseModel], str]] = {
    Action.MISSING_MATERIALS: (MissingMaterials, Action.MISSING_MATERIALS.value),
    Action.MATERIALS_SUPPLIED: (MaterialsSupplied, Action.MATERIALS_SUPPLIED.value),
    Action.VERIFICATION_RESULT: (VerificationResult, Action.VERIFICATION_RESULT.value),
    Action.HOME_VISIT: (HomeVisit, Action.HOME_VISIT.value),
    Action.NEIGHBOUR_INTERVIEW: (NeighbourInterview, Action.NEIGHBOUR_INTERVIEW.value),
    Action.HEARING: (Hearing, Action.HEARING.value),
    Action.DECISION: (Decision, Action.DECISION.value),
    Action.OBJECTION: (Objection, Action.OBJECTION.value),
    Action.TAKE_OVER: (TakeOver, Action.TAKE_OVER.value),
    Action.EXTEND_DEADLINE: (DeadlineExtension, Action.EXTEND_DEADLINE.value),
    Action.REFUSAL_DELIVERED: (RefusalDelivered, Action.REFUSAL_DELIVERED.value),
}
# The review's own words for a closed case, a slow workflow and a failure inside it.
CASE_CLOSED = ApiError(409, "case_closed", "案件已办结，不能再操作")
TIMEOUT = ApiError(504, "timeout", "工作流处理超时，请稍后查看案件状态")
FAILED = ApiError(500, "workflow_error", "案件处理出错，请联系系统管理员")


async def check_investigators(db: asyncpg.Pool, names: list[str], place: str) -> None:
    """Investigators are named by user name, and the rule that no investigator approves the case relies
    on those names: the workflow cannot read the users table, so unknown or foreign names stop here."""
    wanted = sorted({n.strip() for n in names if n.strip()})
    rows = await db.fetch("select username, place_code from users where username = any($1::text[]) and active", wanted)
    places = {r["username"]: r["place_code"] for r in rows}
    unknown = [n for n in wanted if n not in places]
    if unknown:
        raise ApiError(422, "invalid", f"调查人员须为本系统在职工作人员（填写用户名）：{'、'.join(unknown)}")
    foreign = [n for n in wanted if not within(places[n], place)]
    if foreign:
        raise ApiError(422, "invalid", f"调查人员不负责该案件所在地：{'、'.join(foreign)}")


async def log_refused(db: asyncpg.Pool, case_id: str, username: str, action: str, refused: ApiError) -> None:
    """Keep a refused attempt for the district: a refused update leaves nothing in the workflow history."""
    await db.execute(
        "insert into refused_actions (case_id, username, action, code, message) values ($1, $2, $3, $4, $5)",
        case_id,
        username,
        action,
        refused.code,
        refused.message,
    )


async def perform(
    db: asyncpg.Pool, temporal: Client | None, case_id: str, actor: Actor, action: Action, body: BaseModel
) -> ActionAck:
    """Validate everything here, then call the update once; the workflow checks role, stage and recusal."""
    authz.require(actor, "case.act")
    model, name = ACTIONS[action]
    payload = with_actor(model, body, actor)
    row = await case_row(db, case_id, actor)
    if isinstance(payload, HomeVisit):
        await check_investigators(db, payload.investigators, row["village_code"] or row["township_code"])
    client = connected(temporal)
    with bound_contextvars(case_id=case_id, workflow_id=row["workflow_id"], action=action.value):
        try:
            ack = await update(
                client,
                row["workflow_id"],
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
