"""Staff actions on a case, one route per action, each a workflow update called by name.

The request bodies are the action models of `schemas.review` without `actor`: the server fills it in
from the login, so nobody can act in someone else's name. The bodies are derived from the models,
so a field added there appears here. This module has no `from __future__ import annotations`:
the route signatures use the derived body classes, which FastAPI must see as objects, not names.
"""

from datetime import timedelta

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError, create_model
from structlog.contextvars import bound_contextvars
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from rules.access import within
from rules.stages import Action
from schemas.review import (
    ActionAck,
    CaseError,
    Decision,
    Hearing,
    HomeVisit,
    MaterialsSupplied,
    MissingMaterials,
    NeighbourInterview,
    Objection,
    TakeOver,
    VerificationResult,
)
from schemas.staff import Actor, Role
from webapp.auth import current_actor, pool
from webapp.cases import CaseId, case_row
from webapp.errors import ApiError, ErrorBody, forbidden
from webapp.temporal import client

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
}

# How the workflow's refusals (update validators) map onto HTTP.
REFUSAL_STATUS = {
    CaseError.WRONG_ROLE: 403,
    CaseError.OUT_OF_JURISDICTION: 403,
    CaseError.RECUSED: 403,
    CaseError.WRONG_STAGE: 409,
    CaseError.PAUSED: 409,
    CaseError.NOT_PAUSED: 409,
    CaseError.INVESTIGATOR_APPROVER: 409,
    CaseError.INCOMPLETE: 409,
    CaseError.INVALID: 422,
}
UPDATE_TIMEOUT = timedelta(seconds=30)


def body_model(model: type[BaseModel]) -> type[BaseModel]:
    """`model` minus its `actor` field. Model-level validators are not copied: the full model is built
    (and so validated) from the body before the workflow is called."""
    fields = {name: (f.annotation, f) for name, f in model.model_fields.items() if name != "actor"}
    return create_model(f"{model.__name__}Body", __doc__=model.__doc__, **fields)


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


def refusal(exc: WorkflowUpdateFailedError) -> ApiError:
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type:
        status = REFUSAL_STATUS.get(cause.type, 409)
        return ApiError(status, cause.type, cause.message)
    log.error("action failed in workflow", error=str(cause))
    return ApiError(500, "workflow_error", "案件处理出错，请联系系统管理员")


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


async def perform(request: Request, case_id: str, actor: Actor, action: Action, body: BaseModel) -> ActionAck:
    """Validate everything here, then call the update once; the workflow checks role, stage and recusal."""
    if actor.role is Role.DISTRICT_SUPERVISOR:
        raise forbidden("监督员只能查看案件，不能办理")
    if actor.role in (Role.BUREAU_STAFF, Role.ADMIN):  # refused before the workflow, which would name the stage
        raise forbidden("您的角色不办理此类事项")
    model, update = ACTIONS[action]
    try:
        payload = model.model_validate({**dict(body), "actor": actor})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
    db = pool(request)
    row = await case_row(db, case_id, actor)
    if isinstance(payload, HomeVisit):
        await check_investigators(db, payload.investigators, row["village_code"] or row["township_code"])
    handle = client(request).get_workflow_handle(row["workflow_id"])
    with bound_contextvars(case_id=case_id, workflow_id=handle.id, action=action.value):
        try:
            ack = await handle.execute_update(update, payload, result_type=ActionAck, rpc_timeout=UPDATE_TIMEOUT)
        except WorkflowUpdateFailedError as exc:
            refused = refusal(exc)
            log.info("action refused", by=actor.username, code=refused.code)
            if refused.code == CaseError.RECUSED:
                await log_refused(db, case_id, actor.username, action.value, refused)
            raise refused from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise ApiError(409, "case_closed", "案件已办结，不能再操作") from None
            raise
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise ApiError(504, "timeout", "工作流处理超时，请稍后查看案件状态") from None
        log.info("action done", by=actor.username, stage=ack.stage, event_key=ack.event_key)
    return ack


_RESPONSES = {
    401: {"model": ErrorBody, "description": "未登录"},
    403: {"model": ErrorBody, "description": "角色、辖区或回避不允许（wrong_role / out_of_jurisdiction / recused）"},
    404: {"model": ErrorBody, "description": "案件不存在"},
    409: {"model": ErrorBody, "description": "环节不对、案件暂停或已办结（wrong_stage / paused / case_closed …）"},
    422: {"model": ErrorBody, "description": "数据不合法（中文提示）"},
}


def _route(router: APIRouter, action: Action, model: type[BaseModel]) -> None:
    body_type = body_model(model)

    async def act(
        request: Request, body: body_type, case_id: str = CaseId, actor: Actor = Depends(current_actor)
    ) -> ActionAck:
        return await perform(request, case_id, actor, action, body)

    router.add_api_route(
        f"/cases/{{case_id}}/actions/{action.value}",
        act,
        methods=["POST"],
        response_model=ActionAck,
        summary=action.label,
        description=f"{action.label}（请求体为 {model.__name__}，办理人由登录身份确定）",
        name=f"action_{action.value}",
        responses=_RESPONSES,
    )


def install(app: FastAPI) -> None:
    router = APIRouter(prefix="/api", tags=["办理"])
    for action, (model, _) in ACTIONS.items():
        _route(router, action, model)
    app.include_router(router)
