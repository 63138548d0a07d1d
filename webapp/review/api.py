"""The cases API: accept an application (start the review workflow), list and read cases, the verification
queue, calendar news for open cases, and the staff actions on a case, one route per action.

The action bodies are the action models of `schemas.review` without `actor` (webapp.payloads): the server
fills it in from the log-in. They are derived from the models, so a field added there appears here. This
module has no `from __future__ import annotations`: the action routes use the derived body classes, which
FastAPI must see as objects, not names.
"""

from dataclasses import asdict
from datetime import date
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from db import case_lists_repo, events_repo, policy_repo
from db.case_lists_repo import CaseQuery
from db.users_repo import USERNAME_PATTERN
from infra.calendar_news import announce_calendar_change
from infra.clock import today
from rules.stages import Action, Stage
from schemas.review import ActionAck, Application, AssistanceType
from schemas.roster import IMPORTED
from schemas.staff import Actor
from webapp import access_log
from webapp.access_log import Kind
from webapp.deps import AppSettings, CurrentActor, Db, MaybeTemporal, permitted
from webapp.errors import ErrorBody, error_responses
from webapp.payloads import body_model
from webapp.review import actions, cases
from webapp.review.cases import CaseId, case_row, summary
from webapp.review.common import load_calendar
from webapp.review.models import (
    CalendarChanged,
    CaseCreated,
    CaseDetail,
    CaseEvent,
    CaseList,
    VerificationRequestList,
    WaitingOn,
)
from webapp.review.waiting import state_lines
from webapp.review.workflow import case_state
from webapp.workflow_calls import connected

log = structlog.get_logger("webapp")

router = APIRouter(prefix="/api", tags=["案件"])
CaseReader = Annotated[Actor, permitted("case.read")]  # partner bureaus get referrals, not these files
_ERRORS = error_responses(
    {
        401: "未登录",
        403: "无权操作（角色或辖区）",
        404: "案件不存在",
        422: "数据不合法（中文提示）",
    }
)


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseCreated,
    summary="受理申请（启动审核确认流程）",
    responses={
        **_ERRORS,
        200: {"model": CaseCreated, "description": "该申请编号已受理过，返回已有案件"},
        202: {"model": CaseCreated, "description": "已受理，流程已启动；案件状态稍后可查（未等待或等待超时）"},
        409: {
            "model": ErrorBody,
            "description": "申请编号已被使用（application_id_taken），或家庭成员已有未办结的同类申请"
            "（open_case_exists），或已是同类在册救助对象（already_recipient）；有权查看时附 case_id 和 link",
        },
    },
)
async def accept(
    application: Application,
    response: Response,
    actor: CurrentActor,
    db: Db,
    temporal: MaybeTemporal,
    wait: Annotated[float, Query(ge=0, le=10, description="最多等待工作流返回案件状态的秒数；0：启动即返回")] = 0.0,
) -> CaseCreated:
    """Accept a dibao/tekun application at the township of household registration and start the 20-working-day
    clock. A repeated application_id returns the existing case instead of opening a second one.

    The application is safe once Temporal has persisted the start, so by default the answer comes then
    (202, `Location` to read the case); waiting for the state costs a worker round trip that a burst of
    applications would queue behind each other."""
    created, response.status_code = await cases.accept(db, temporal, actor, application, wait)
    response.headers["Location"] = f"/api/cases/{created.case_id}"
    return created


@router.get("/cases", response_model=CaseList, summary="案件列表（按辖区）", responses=_ERRORS)
async def list_cases(
    actor: CaseReader,
    db: Db,
    township: str | None = Query(None, pattern=r"^\d{9}$", description="乡镇（街道）代码"),
    stage: Stage | None = Query(None, description="环节"),
    assistance_type: AssistanceType | None = Query(None, description="救助类型"),
    overdue: bool | None = Query(None, description="是否已超期"),
    deadline_before: date | None = Query(None, description="办结时限不晚于该日（含）"),
    accepted_from: date | None = Query(None, description="受理日期起（含）"),
    accepted_to: date | None = Query(None, description="受理日期止（含）"),
    q: str | None = Query(None, min_length=1, max_length=30, description="申请人姓名（前缀）"),
    page: int = Query(1, ge=1, le=100_000),
    page_size: int = Query(50, ge=1, le=200),
) -> CaseList:
    """Open and closed cases within the caller's jurisdiction, the nearest deadline first."""
    query = CaseQuery(
        within=actor.place_code,
        township=township,
        assistance_type=assistance_type and assistance_type.value,
        stage=stage and stage.value,
        overdue=overdue,
        deadline_before=deadline_before,
        accepted_from=accepted_from,
        accepted_to=accepted_to,
        name_prefix=q,
    )
    found = await case_lists_repo.page_of_cases(db, query, page=page, page_size=page_size)
    return CaseList(items=[summary(r) for r in found.rows], total=found.total, page=page, page_size=page_size)


@router.get("/cases/{case_id}", response_model=CaseDetail, summary="案件详情", responses=_ERRORS)
async def get_case(
    request: Request, case_id: CaseId, actor: CaseReader, db: Db, client: MaybeTemporal, settings: AppSettings
) -> CaseDetail:
    """The database row and event log, and the workflow's live state (deadline, pauses, who is barred)."""
    row = await case_row(db, case_id, actor)
    events = await events_repo.event_log(db, case_id)
    temporal = connected(client)
    await access_log.record(request, actor, Kind.CASE_API, case_id)
    state = None if row.channel == IMPORTED else await case_state(temporal, row.workflow_id)
    async with db.acquire() as conn:
        policy = await policy_repo.get(conn, row.policy_version)
    lines = await state_lines(db, await load_calendar(db), row, state, policy, today())
    return CaseDetail(
        case=summary(row),
        state=state,
        waiting=[
            WaitingOn(
                kind=w.kind,
                who=w.who,
                what=w.what,
                people=w.people,
                since=w.since,
                waited_working_days=w.waited,
                due=w.due,
                working_days_left=w.left,
            )
            for w in lines
        ],
        events=[CaseEvent(**asdict(e)) for e in events],
        temporal_ui_url=f"{settings.temporal_ui_url}/namespaces/{temporal.namespace}/workflows/{row.workflow_id}",
    )


@router.get(
    "/verification-requests",
    response_model=VerificationRequestList,
    summary="家庭经济状况核对请求（待办队列）",
    responses=_ERRORS,
)
async def verification_requests(
    actor: CaseReader,
    db: Db,
    status: Literal["requested", "answered"] | None = Query("requested", description="requested：待核对"),
    limit: int = Query(100, ge=1, le=200),
) -> VerificationRequestList:
    """The district verification centre's queue, oldest request first, within the caller's jurisdiction."""
    items, total = await case_lists_repo.verification_queue(db, actor.place_code, status, limit)
    return VerificationRequestList(items=items, total=total)


@router.post("/calendar/changed", response_model=CalendarChanged, summary="工作日历已更新：通知在办案件重算时限")
async def calendar_changed(
    actor: Annotated[Actor, permitted("calendar.announce")], db: Db, temporal: MaybeTemporal
) -> CalendarChanged:
    """After an administrator imports a holiday notice, every open case recomputes its deadline."""
    count, failed = await announce_calendar_change(connected(temporal), db)
    log.info("calendar change announced", by=actor.username, cases=count, failed=len(failed))
    return CalendarChanged(count=count, failed=failed)


# ---- staff actions ---------------------------------------------------------------------------------

actions_router = APIRouter(prefix="/api", tags=["办理"])
_ACTION_ERRORS = error_responses(
    {
        401: "未登录",
        403: "角色、辖区或回避不允许（wrong_role / out_of_jurisdiction / recused）",
        404: "案件不存在",
        409: "环节不对、案件暂停或已办结（wrong_stage / paused / case_closed …）",
        422: "数据不合法（中文提示）",
    }
)


def _action_route(action: Action, model: type[BaseModel]) -> None:
    body_type = body_model(model)

    async def act(body: body_type, case_id: CaseId, actor: CurrentActor, db: Db, temporal: MaybeTemporal) -> ActionAck:
        return await actions.perform(db, temporal, case_id, actor, action, body)

    actions_router.add_api_route(
        f"/cases/{{case_id}}/actions/{action.value}",
        act,
        methods=["POST"],
        response_model=ActionAck,
        summary=action.label,
        description=f"{action.label}（请求体为 {model.__name__}，办理人由登录身份确定）",
        name=f"action_{action.value}",
        responses=_ACTION_ERRORS,
    )


for _action, (_model, _) in actions.ACTIONS.items():
    _action_route(_action, _model)


@actions_router.post(
    "/cases/{case_id}/namesakes/{username}",
    response_model=ActionAck,
    summary="核实同名提示",
    responses=_ACTION_ERRORS,
)
async def resolve_namesake(
    body: actions.NamesakeAnswer,
    case_id: CaseId,
    username: Annotated[str, Path(pattern=USERNAME_PATTERN, description="同名的工作人员（用户名）")],
    actor: CurrentActor,
    db: Db,
    temporal: MaybeTemporal,
) -> ActionAck:
    """A relative the applicant declared by name only is not barred automatically: each user of that name is a
    namesake warning (案件状态 `namesakes`). A township caseworker or district officer of the case's place
    settles it: `same_person` true bars the user from the case (回避), false clears the warning; when no user
    of the name is left, the relative is filed as staff without an account (近亲属备案)."""
    return await actions.resolve_namesake(db, temporal, case_id, actor, username, body)
