"""Staff actions on a case, each a workflow update called by name. Everything is checked here first (role,
body, jurisdiction, investigators), then the update is called once; the workflow's validator checks role,
stage and recusal per action and has the last word. The API and the case page both act through `perform`,
and settle a namesake warning of the relatives check through `resolve_namesake`.
"""

from __future__ import annotations

import asyncpg
import structlog
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from db import events_repo, policy_repo, users_repo
from db.cases_repo import CaseRow
from rules.investigators import names, team_refusal
from rules.stages import Action, allowed_roles
from schemas.relatives import NamesakeResolution
from schemas.review import ACTION_PAYLOADS, ActionAck, CaseError, HomeVisit, ReviewNames
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


async def with_investigators(db: asyncpg.Pool, visit: HomeVisit, row: CaseRow, actor: Actor) -> HomeVisit:
    """The visit with everyone it names (investigators and assistants) as the users table has them: the workflow
    cannot read that table, and checks roles and jurisdiction against what it is told here (whatever the client
    sent as `investigator_staff` is replaced). The team is checked here as the workflow will check it, for an
    answer before the workflow is called, where the actor may record the visit at all: else the workflow's
    refusal of the actor (role, recusal) is the answer, as for any other action."""
    named = list(dict.fromkeys(names(visit.investigators) + names(visit.assistants)))
    staff = await users_repo.staff_refs(db, named)
    roles = allowed_roles(Action.HOME_VISIT, district_handles=row.handled_by == "district")
    if actor.role.value in roles and not await events_repo.is_barred(db, row.case_id, actor.username):
        async with db.acquire() as conn:
            minimum = (await policy_repo.get(conn, row.policy_version)).review.min_investigators
        team = team_refusal(visit.investigators, visit.assistants, staff, row.place, minimum)
        if team is not None:
            raise ApiError(422, team.code, team.message)
    return visit.model_copy(update={"investigator_staff": [staff[n] for n in named if n in staff]})


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
        payload = await with_investigators(db, payload, row, actor)
    return await _call(db, temporal, row, actor, name, payload)


class NamesakeAnswer(BaseModel):
    """The answer to a namesake warning, as a caller posts it (the acting person is the one logged in)."""

    same_person: bool = Field(description="true：是本人（回避）；false：不是本人")
    note: str = Field(default="", max_length=500, description="核实情况")


async def resolve_namesake(
    db: asyncpg.Pool, temporal: Client | None, case_id: str, actor: Actor, username: str, body: NamesakeAnswer
) -> ActionAck:
    """同名提示核实: `username` is, or is not, the close relative the applicant declared by that name."""
    authz.require(actor, "case.act")
    try:
        payload = NamesakeResolution(actor=actor, username=username, same_person=body.same_person, note=body.note)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
    row = await case_row(db, case_id, actor)
    return await _call(db, temporal, row, actor, ReviewNames.RESOLVE_NAMESAKE, payload)


async def _call(
    db: asyncpg.Pool, temporal: Client | None, row: CaseRow, actor: Actor, name: str, payload: BaseModel
) -> ActionAck:
    """Call the update once; a refusal for recusal is kept for the district."""
    client = connected(temporal)
    case_id = row.case_id
    with bound_contextvars(case_id=case_id, workflow_id=row.workflow_id, action=name):
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
                await log_refused(db, case_id, actor.username, name, refused)
            raise
        log.info("action done", by=actor.username, stage=ack.stage, event_key=ack.event_key)
    return ack
