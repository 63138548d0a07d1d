"""The 12349 front door over HTTP: requests registered for a resident, triage into kinds of help,
referrals to the partner bureaus (their inbox and their webhook callback), complaints, and the one
household view across all of it.

Lists and reads come from the tables the workflows keep (frontdoor_requests, referrals, complaints,
frontdoor_log); every action is a workflow update called by name (schemas.frontdoor.*Names), whose
validator has the last word on role, bureau and stage. Like webapp.actions, this module has no
`from __future__ import annotations`: the routes use derived body classes that FastAPI must see.
"""

import asyncio
import hashlib
import hmac
import inspect
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Literal

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError, model_validator
from structlog.contextvars import bound_contextvars
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from db import policy_repo
from infra.clock import today
from infra.config import TASK_QUEUE
from rules.access import within
from rules.needs import BY_CODE, Route
from rules.recusal import names_person
from rules.stages import STAGE_LABELS
from schemas.emergency import EmergencyKind
from schemas.frontdoor import (
    REQUEST_NO,
    Channel,
    ComplaintAccept,
    ComplaintConclude,
    ComplaintNames,
    ComplaintStart,
    ComplaintState,
    EnquiryAnswer,
    FrontDoorRequest,
    IntakeNames,
    IntakeStart,
    IntakeState,
    LinkCase,
    ReferralAccept,
    ReferralInfoRequest,
    ReferralInfoSupplied,
    ReferralNames,
    ReferralResult,
    ReferralState,
    RequestKind,
    Triage,
    complaint_workflow_id,
    intake_workflow_id,
)
from schemas.identity import Phone, mask_id, mask_phone, validate_resident_id
from schemas.money import Money, from_fen
from schemas.policy import FrontDoorPolicy
from schemas.staff import Actor, Bureau, Role
from webapp.actions import body_model
from webapp.auth import current_actor, pool
from webapp.errors import ApiError, ErrorBody, forbidden, not_found
from webapp.temporal import client

log = structlog.get_logger("webapp")
DISTRICT_CODE = "341503"  # the district civil affairs bureau, the front door's top level
UPDATE_TIMEOUT = timedelta(seconds=30)
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: read out over the phone, they look like 1 and 0

RequestNo = Path(pattern=REQUEST_NO, description="受理编号（12349-YYYYMMDD-XXXXXX）")
ReferralId = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,95}$", description="转介编号")
ComplaintNo = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,95}$", description="投诉编号")


# The same parameters as dependencies, so that one route factory (_action_route) serves every kind of row.
async def _request_no(request_no: str = RequestNo) -> str:
    return request_no


async def _referral_id(referral_id: str = ReferralId) -> str:
    return referral_id


async def _complaint_no(complaint_no: str = ComplaintNo) -> str:
    return complaint_no


TOWNSHIP_STAFF = frozenset({Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER})
DESK_ROLES = TOWNSHIP_STAFF | {Role.DISTRICT_OFFICER}  # the window and the 12349 hotline
DISTRICT_ROLES = frozenset({Role.DISTRICT_OFFICER, Role.DISTRICT_SUPERVISOR})
READERS = frozenset(Role) - {Role.BUREAU_STAFF}
FULL_ID_ROLES = DESK_ROLES  # those who open cases for the resident see the whole ID number

# How the workflows' refusals (update validators, ApplicationError.type) map onto HTTP.
REFUSAL_STATUS = {
    "wrong_role": 403,
    "wrong_bureau": 403,
    "out_of_jurisdiction": 403,
    "recused": 403,
    "wrong_stage": 409,
    "closed": 409,
    "invalid": 422,
}

_ERRORS = {
    401: {"model": ErrorBody, "description": "未登录（回调：签名缺失或错误）"},
    403: {"model": ErrorBody, "description": "角色、辖区、部门不允许或须回避（wrong_role / wrong_bureau / recused …）"},
    404: {"model": ErrorBody, "description": "不存在"},
    409: {"model": ErrorBody, "description": "环节不对或已办结（wrong_stage / closed）"},
    422: {"model": ErrorBody, "description": "数据不合法（中文提示）"},
}

router = APIRouter(prefix="/api", tags=["12349 一门受理"])


def new_request_no() -> str:
    """Random rather than sequential: a number found on a scrap of paper says nothing about the next one."""
    day = today().strftime("%Y%m%d")
    return f"12349-{day}-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def _refusal(exc: WorkflowUpdateFailedError) -> ApiError:
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return ApiError(REFUSAL_STATUS.get(cause.type, 409), cause.type, cause.message)
    log.error("front-door action failed in workflow", error=str(cause))
    return ApiError(500, "workflow_error", "处理出错，请联系系统管理员")


async def _update(
    temporal: Client,
    workflow_id: str,
    name: str,
    payload: BaseModel,
    actor: Actor,
    state_type: type[BaseModel],
    about: dict[str, str],
) -> Any:
    """Call one update and answer with the state queried afterwards: what the update returns is not used.
    `about` names the row in the update's log lines."""
    handle = temporal.get_workflow_handle(workflow_id)
    with bound_contextvars(**about, workflow_id=workflow_id, update=name):
        try:
            await handle.execute_update(name, payload, rpc_timeout=UPDATE_TIMEOUT)
        except WorkflowUpdateFailedError as exc:
            refused = _refusal(exc)
            log.info("front-door action refused", by=actor.username, code=refused.code)
            raise refused from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise ApiError(409, "closed", "已办结，不能再操作") from None
            raise
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise ApiError(504, "timeout", "处理超时，请稍后查看状态") from None
        log.info("front-door action done", by=actor.username)
    state = await query_state(temporal, workflow_id, state_type)
    if state is None:
        raise ApiError(503, "temporal_unavailable", "已办理，但暂时无法读取最新状态")
    return state


async def query_state(temporal: Client, workflow_id: str, result_type: type[BaseModel]) -> Any:
    """The workflow's own view, or None when it cannot be asked now (no worker, past retention)."""
    try:
        return await temporal.get_workflow_handle(workflow_id).query(
            "state", result_type=result_type, rpc_timeout=timedelta(seconds=10)
        )
    except RPCError as exc:
        log.warning("state query failed", workflow_id=workflow_id, error=str(exc))
        return None


async def _start_fresh(
    temporal: Client,
    workflow_name: str,
    new_no: Callable[[], str],
    start_for: Callable[[str], BaseModel],
    id_for: Callable[[str], str],
) -> str:
    """Start a workflow under a fresh random number; a clash (vanishingly rare) draws another."""
    for _ in range(5):
        no = new_no()
        try:
            await temporal.start_workflow(
                workflow_name,
                start_for(no),
                id=id_for(no),
                task_queue=TASK_QUEUE,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            return no
        except WorkflowAlreadyStartedError:
            continue
    raise ApiError(503, "busy", "编号生成冲突，请重试")


def _with_actor(model: type[BaseModel], body: BaseModel, actor: Actor) -> BaseModel:
    try:
        return model.model_validate({**dict(body), "actor": actor})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None


# ---- models -----------------------------------------------------------------------------------------


class LogEntry(BaseModel):
    log_key: str
    kind: str
    actor: str | None
    payload: dict[str, Any]
    occurred_at: datetime


class RequestSummary(BaseModel):
    request_no: str
    kind: RequestKind
    channel: str
    name: str
    id_masked: str
    township_code: str
    township_name: str
    village_code: str | None
    village_name: str | None
    needs: list[str]
    status: str
    answer_due: date | None
    overdue: bool = Field(description="未办结且已过答复期限")
    created_at: datetime
    closed_at: datetime | None


class RequestList(BaseModel):
    items: list[RequestSummary]
    total: int
    page: int
    page_size: int


class ReferralSummary(BaseModel):
    referral_id: str
    request_no: str
    need: str
    help_kind: str
    bureau: Bureau
    township_code: str
    township_name: str
    name: str
    id_masked: str
    status: str
    adapter: str | None
    accept_due: date | None
    result_due: date | None
    escalated: bool
    accept_overdue: bool
    result_overdue: bool
    outcome: str | None
    help_given: str | None
    amount: Money | None
    delivered_at: datetime
    answered_at: datetime | None


class ComplaintSummary(BaseModel):
    complaint_no: str
    request_no: str | None
    complainant: str
    phone_masked: str
    township_code: str
    unit_code: str
    unit_name: str
    about_case_id: str | None
    about_person: str | None
    status: str
    accept_due: date | None
    conclude_due: date | None
    escalated: bool
    overdue: bool
    finding: str | None
    created_at: datetime
    concluded_at: datetime | None


class RequestDetail(BaseModel):
    request: RequestSummary
    id_number: str | None = Field(description="完整身份证号码（仅乡镇经办人、审批人和区民政局工作人员可见）")
    phone: str
    address: str
    description: str
    received_by: str | None
    answer: str | None
    state: IntakeState | None = Field(description="工作流查询结果；暂不可查询时为空")
    log: list[LogEntry]
    referrals: list[ReferralSummary]
    complaints: list[ComplaintSummary]


class RequestCreated(BaseModel):
    request_no: str
    answer_due: date | None = Field(description="预计答复日期；工作流尚未记录时为空")
    answer_working_days: int
    state: IntakeState | None


class ReferralList(BaseModel):
    items: list[ReferralSummary]
    total: int


class ReferralDetail(BaseModel):
    referral: ReferralSummary
    phone: str
    address: str
    description: str
    state: ReferralState | None
    log: list[LogEntry]


class ComplaintList(BaseModel):
    items: list[ComplaintSummary]
    total: int


class ComplaintDetail(BaseModel):
    complaint: ComplaintSummary
    phone: str
    content: str
    reply: str | None
    state: ComplaintState | None
    log: list[LogEntry]


class StaffRequestIn(FrontDoorRequest):
    """A request taken down for the resident at the 12349 hotline or a township window."""

    channel: Literal["hotline", "window"] | None = Field(
        default=None, description="留空：区民政局工作人员为 hotline，乡镇工作人员为 window"
    )


class ComplaintIn(BaseModel):
    """A complaint taken down by staff, also from someone who gives no ID number."""

    complainant: str = Field(min_length=1, max_length=30)
    phone: Phone
    township_code: str = Field(pattern=r"^\d{9}$")
    about_case_id: str | None = Field(default=None, max_length=64)
    about_person: str | None = Field(default=None, max_length=60)
    content: str = Field(min_length=4, max_length=4000)
    to_district: bool = Field(default=False, description="由区民政局直接承办（如投诉乡镇负责人）")


class ComplaintCreated(BaseModel):
    complaint_no: str
    unit_code: str = Field(description="承办单位")
    accept_due: date
    conclude_due: date


class CallbackIn(BaseModel):
    """What a bureau on the webhook adapter posts back: its acceptance, or its result."""

    action: Literal["accept", "result"]
    note: str = Field(default="", max_length=1000)
    outcome: Literal["helped", "not_eligible", "declined"] | None = None
    help_given: str | None = Field(default=None, min_length=2, max_length=4000)
    amount: Money | None = None

    @model_validator(mode="after")
    def _result_complete(self) -> "CallbackIn":
        if self.action == "result" and (self.outcome is None or not self.help_given):
            raise ValueError("报告结果须填写 outcome 和 help_given")
        return self


class BureauLoad(BaseModel):
    bureau: Bureau
    open: int
    not_accepted: int
    accept_overdue: int
    result_overdue: int
    escalated: int
    oldest_delivered_at: datetime | None


class UnitLoad(BaseModel):
    unit_code: str
    unit_name: str
    open: int
    not_accepted: int
    overdue: int
    escalated: int


class TownshipLoad(BaseModel):
    township_code: str
    township_name: str
    waiting: int
    overdue: int


class Overview(BaseModel):
    """Who has not answered: bureaus with open referrals, units with open complaints, desks with requests."""

    referrals: list[BureauLoad]
    complaints: list[UnitLoad]
    requests: list[TownshipLoad]


# ---- rows -------------------------------------------------------------------------------------------

_REQUEST_SQL = """
select r.request_no, r.kind, r.channel, r.name, r.id_masked, r.township_code, t.name as township_name,
       r.village_code, v.name as village_name, r.needs, r.status, r.answer_due, r.created_at, r.closed_at,
       r.id_number, r.phone, r.address, r.description, r.received_by, r.answer, r.workflow_id
from frontdoor_requests r join places t on t.code = r.township_code left join places v on v.code = r.village_code
"""

_REFERRAL_SQL = """
select f.referral_id, f.request_no, f.need, f.help_kind, f.bureau, f.township_code, t.name as township_name,
       f.name, f.id_masked, f.status, f.adapter, f.accept_due, f.result_due, f.escalated, f.outcome,
       f.help_given, f.amount_fen, f.delivered_at, f.answered_at, f.workflow_id,
       array(select l.kind from frontdoor_log l where l.subject_type = 'referral' and l.subject_id = f.referral_id
             and l.kind like 'escalated%') as escalations
from referrals f join places t on t.code = f.township_code
"""

_COMPLAINT_SQL = """
select c.complaint_no, c.request_no, c.complainant, c.phone, c.township_code, c.unit_code, u.name as unit_name,
       c.about_case_id, c.about_person, c.status, c.accept_due, c.conclude_due, c.escalated, c.finding,
       c.created_at, c.concluded_at, c.content, c.reply, c.workflow_id
from complaints c join places u on u.code = c.unit_code
"""


def request_summary(row: asyncpg.Record) -> RequestSummary:
    due = row["answer_due"]
    return RequestSummary(
        **{k: row[k] for k in RequestSummary.model_fields if k != "overdue"},
        overdue=row["status"] != "closed" and due is not None and due < today(),
    )


def referral_summary(row: asyncpg.Record) -> ReferralSummary:
    """Overdue by the dates or by the workflow's own escalation (its clock may run ahead of the wall)."""
    now = today()

    def late(what: str) -> bool:
        due = row[f"{what}_due"]
        return (due is not None and due < now) or f"escalated_{what}" in row["escalations"]

    fen = row["amount_fen"]
    return ReferralSummary(
        **{k: row[k] for k in ReferralSummary.model_fields if k in row and k != "amount"},
        amount=None if fen is None else from_fen(fen),
        accept_overdue=row["status"] == "delivered" and late("accept"),
        result_overdue=row["status"] != "answered" and late("result"),
    )


def complaint_summary(row: asyncpg.Record) -> ComplaintSummary:
    now = today()
    due = row["accept_due"] if row["status"] == "registered" else row["conclude_due"]
    open_ = row["status"] != "concluded"
    return ComplaintSummary(
        **{k: row[k] for k in ComplaintSummary.model_fields if k in row},
        phone_masked=mask_phone(row["phone"]),
        overdue=open_ and (row["escalated"] or (due is not None and due < now)),
    )


async def _log_of(db: asyncpg.Pool, subject_type: str, subject_id: str) -> list[LogEntry]:
    rows = await db.fetch(
        "select log_key, kind, actor, payload, occurred_at from frontdoor_log "
        "where subject_type = $1 and subject_id = $2 order by occurred_at, id",
        subject_type,
        subject_id,
    )
    return [LogEntry(**dict(r)) for r in rows]


def _reader(actor: Actor) -> None:
    if actor.role not in READERS:
        raise forbidden("部门工作人员只能查看转介给本部门的事项")


async def _fetch(db: asyncpg.Pool, sql: str, subject_id: str, missing: str) -> asyncpg.Record:
    """The row `sql` selects by its number, or 404 with `missing`."""
    row = await db.fetchrow(sql, subject_id)
    if row is None:
        raise not_found(missing)
    return row


async def request_row(db: asyncpg.Pool, request_no: str, actor: Actor) -> asyncpg.Record:
    _reader(actor)
    row = await _fetch(db, _REQUEST_SQL + "where r.request_no = $1", request_no, "受理编号不存在")
    if not within(actor.place_code, row["village_code"] or row["township_code"]):
        raise forbidden("该求助不在您的辖区内", "out_of_jurisdiction")
    return row


def _may_see_referral(actor: Actor, row: asyncpg.Record) -> bool:
    if actor.role is Role.BUREAU_STAFF:
        return actor.bureau is not None and row["bureau"] == actor.bureau.value
    return within(actor.place_code, row["township_code"])


async def referral_row(db: asyncpg.Pool, referral_id: str, actor: Actor) -> asyncpg.Record:
    if actor.role is Role.VILLAGE_CADRE:
        raise forbidden("村（社区）干部不查看转介")
    row = await _fetch(db, _REFERRAL_SQL + "where f.referral_id = $1", referral_id, "转介不存在")
    if not _may_see_referral(actor, row):
        raise forbidden(
            "该转介不属于您的部门或辖区", "wrong_bureau" if actor.role is Role.BUREAU_STAFF else "out_of_jurisdiction"
        )
    return row


def is_subject(actor: Actor, about_person: str | None) -> bool:
    """The staff member a complaint is about, by the same rule the complaint workflow recuses them with."""
    return names_person(about_person, actor.username, actor.full_name)


def _complaint_reader(actor: Actor) -> None:
    if actor.role not in READERS - {Role.VILLAGE_CADRE}:
        raise forbidden("只有乡镇（街道）和区民政局工作人员可以查看投诉")


async def complaint_row(db: asyncpg.Pool, complaint_no: str, actor: Actor) -> asyncpg.Record:
    _complaint_reader(actor)
    row = await _fetch(db, _COMPLAINT_SQL + "where c.complaint_no = $1", complaint_no, "投诉不存在")
    if not within(actor.place_code, row["unit_code"]) or is_subject(actor, row["about_person"]):
        raise forbidden("该投诉不由您承办", "out_of_jurisdiction")
    return row


async def _check_places(db: asyncpg.Pool, township_code: str, village_code: str | None) -> None:
    rows = {
        r["code"]: r
        for r in await db.fetch(
            "select code, level, parent_code from places where code = any($1::text[])",
            [c for c in (township_code, village_code) if c],
        )
    }
    if rows.get(township_code) is None or rows[township_code]["level"] != "township":
        raise ApiError(422, "invalid", "请选择所在乡镇（街道）")
    if village_code and (rows.get(village_code) is None or rows[village_code]["parent_code"] != township_code):
        raise ApiError(422, "invalid", "村（社区）不属于所选乡镇（街道）")


def check_needs(codes: list[str]) -> None:
    unknown = [c for c in codes if c not in BY_CODE]
    if unknown:
        raise ApiError(422, "invalid", f"未知的求助事项：{'、'.join(unknown)}")


# ---- actions ----------------------------------------------------------------------------------------

Actions = dict[str, tuple[type[BaseModel], str, str]]  # action in the path: (payload model, update name, label)
PathId = Callable[..., Awaitable[str]]  # a dependency reading a row's path parameter


@dataclass(frozen=True)
class Subject:
    """A kind of row a workflow keeps (request, referral, complaint), as its views and actions need it."""

    name: str  # its frontdoor_log subject type, and the prefix of its action routes' names
    key: str  # the path parameter and log field that name one row
    load: Callable[[asyncpg.Pool, str, Actor], Awaitable[asyncpg.Record]]  # 404/403 before anything else
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


async def _history(request: Request, subject: Subject, row: asyncpg.Record) -> dict[str, Any]:
    """What every detail view shows of the workflow: its state (None when it cannot be asked now) and the log."""
    return {
        "state": await query_state(client(request), row["workflow_id"], subject.state),
        "log": await _log_of(pool(request), subject.name, row[subject.key]),
    }


async def act_on(
    subject: Subject, request: Request, subject_id: str, actor: Actor, update: str, payload: BaseModel
) -> Any:
    """Read the row (refusing callers who may not see it), run the update on its workflow, whose validator
    has the last word, and answer with the workflow's state afterwards."""
    row = await subject.load(pool(request), subject_id, actor)
    return await _update(
        client(request), row["workflow_id"], update, payload, actor, subject.state, {subject.key: subject_id}
    )


async def perform(
    subject: Subject, action: str, request: Request, subject_id: str, actor: Actor, body: BaseModel
) -> Any:
    """One of the subject's plain actions, its body completed with the caller as the actor."""
    model, update, _ = subject.actions[action]
    return await act_on(subject, request, subject_id, actor, update, _with_actor(model, body, actor))


def _action_route(
    path: str,
    body_type: type[BaseModel],
    path_id: PathId,
    run: Callable[[Request, str, Actor, BaseModel], Awaitable[Any]],
    **route: Any,
) -> None:
    """A POST route acting on one row, with its own body model: every action keeps its own route (and its
    own entry in the API docs). `run` gets the row's number from `path_id` and the logged-in actor."""

    async def act(
        request: Request, body: body_type, subject_id: str = Depends(path_id), actor: Actor = Depends(current_actor)
    ):
        return await run(request, subject_id, actor, body)

    router.add_api_route(path, act, methods=["POST"], responses=_ERRORS, **route)


def _plain_action_routes(subject: Subject, path: str, path_id: PathId) -> None:
    """`{path}/{action}` for each plain action of the subject, summarised by its label."""
    for action, (model, _, label) in subject.actions.items():
        _action_route(
            f"{path}/{action}",
            body_model(model),
            path_id,
            partial(perform, subject, action),
            response_model=subject.state,
            summary=label,
            description=f"{label}（请求体为 {model.__name__}，办理人由登录身份确定）",
            name=f"{subject.name}_{action.replace('-', '_')}",
        )


# ---- requests ---------------------------------------------------------------------------------------


async def front_door_policy(db: asyncpg.Pool) -> FrontDoorPolicy:
    """The front door's time limits in force today, to tell the resident what to expect."""
    async with db.acquire() as conn:
        return (await policy_repo.in_force(conn, today())).front_door


async def submit_request(
    request: Request, body: FrontDoorRequest, channel: Channel, received_by: Actor | None
) -> RequestCreated:
    """Start the intake under a fresh number and wait briefly for the workflow to record it (answer date)."""
    db = pool(request)
    await _check_places(db, body.township_code, body.village_code)
    check_needs(body.needs)
    if not body.village_code and any(BY_CODE[n].route is Route.EMERGENCY for n in body.needs):
        raise ApiError(422, "invalid", "突发急难由村（社区）先行救助，请选择所在村（社区）")
    temporal = client(request)
    request_no = await _start_fresh(
        temporal,
        IntakeNames.WORKFLOW,
        new_request_no,
        lambda no: IntakeStart(request_no=no, request=body, channel=channel, received_by=received_by),
        intake_workflow_id,
    )
    with bound_contextvars(request_no=request_no):
        log.info("front-door request received", kind=body.kind.value, channel=channel.value)
    due = None
    for _ in range(50):
        due = await db.fetchval("select answer_due from frontdoor_requests where request_no = $1", request_no)
        if due is not None:
            break
        await asyncio.sleep(0.1)
    state = await query_state(temporal, intake_workflow_id(request_no), IntakeState)
    return RequestCreated(
        request_no=request_no,
        answer_due=due or (state.answer_due if state else None),
        answer_working_days=(await front_door_policy(db)).answer_working_days,
        state=state,
    )


@router.post(
    "/frontdoor/requests",
    status_code=201,
    response_model=RequestCreated,
    summary="代为登记求助、咨询或投诉（12349 热线 / 乡镇窗口）",
    responses=_ERRORS,
)
async def register_request(body: StaffRequestIn, request: Request, actor: Actor = Depends(current_actor)):
    """The hotline operator (district officer) registers for anyone in the district, a township window for
    its own township; the resident gets the same number and answer date as online."""
    if actor.role not in DESK_ROLES:
        raise forbidden("只有乡镇（街道）经办人、审批人或区民政局工作人员可以代为登记")
    if not within(actor.place_code, body.township_code):
        raise forbidden("只能登记本乡镇（街道）居民的求助", "out_of_jurisdiction")
    channel = Channel(body.channel or ("hotline" if actor.role is Role.DISTRICT_OFFICER else "window"))
    plain = FrontDoorRequest.model_validate(body.model_dump(exclude={"channel"}))
    return await submit_request(request, plain, channel, actor)


@router.get(
    "/frontdoor/requests", response_model=RequestList, summary="求助、咨询、投诉登记（按辖区）", responses=_ERRORS
)
async def list_requests(
    request: Request,
    actor: Actor = Depends(current_actor),
    waiting: Literal["triage", "answer", "cases"] | None = Query(
        None, description="triage：待分办；answer：待答复的咨询；cases：已分办待办结"
    ),
    status: Literal["received", "triaged", "closed", "open"] | None = Query(None, description="open：未办结"),
    kind: RequestKind | None = None,
    township: str | None = Query(None, pattern=r"^\d{9}$"),
    q: str | None = Query(None, min_length=1, max_length=30, description="姓名（前缀）"),
    page: int = Query(1, ge=1, le=100_000),
    page_size: int = Query(50, ge=1, le=200),
) -> RequestList:
    """Oldest first: the front door answers in the order people asked."""
    _reader(actor)
    params: list[Any] = [actor.place_code]
    where = ["starts_with(coalesce(r.village_code, r.township_code), $1)"]

    def add(condition: str, value: Any) -> None:
        params.append(value)
        where.append(condition.format(f"${len(params)}"))

    if waiting == "triage":
        where.append("r.kind = 'help' and r.status = 'received'")
    elif waiting == "answer":
        where.append("r.kind = 'enquiry' and r.status <> 'closed'")
    elif waiting == "cases":
        where.append("r.kind = 'help' and r.status = 'triaged'")
    if status == "open":
        where.append("r.status <> 'closed'")
    elif status:
        add("r.status = {}", status)
    if kind:
        add("r.kind = {}", kind.value)
    if township:
        add("r.township_code = {}", township)
    if q:
        add("starts_with(r.name, {})", q)
    condition = " and ".join(where)
    db = pool(request)
    total = await db.fetchval(f"select count(*) from frontdoor_requests r where {condition}", *params)
    rows = await db.fetch(
        f"{_REQUEST_SQL} where {condition} order by r.created_at, r.request_no "
        f"limit {page_size} offset {(page - 1) * page_size}",
        *params,
    )
    return RequestList(items=[request_summary(r) for r in rows], total=total, page=page, page_size=page_size)


async def request_detail(request: Request, request_no: str, actor: Actor) -> RequestDetail:
    db = pool(request)
    row = await request_row(db, request_no, actor)
    referrals = await db.fetch(
        _REFERRAL_SQL + "where f.request_no = $1 order by f.delivered_at, f.referral_id", request_no
    )
    complaints = await db.fetch(_COMPLAINT_SQL + "where c.request_no = $1 order by c.created_at", request_no)
    return RequestDetail(
        request=request_summary(row),
        id_number=row["id_number"] if actor.role in FULL_ID_ROLES else None,
        phone=row["phone"],
        address=row["address"],
        description=row["description"],
        received_by=row["received_by"],
        answer=row["answer"],
        referrals=[referral_summary(r) for r in referrals],
        complaints=[complaint_summary(c) for c in complaints],
        **await _history(request, REQUESTS, row),
    )


@router.get(
    "/frontdoor/requests/{request_no}",
    response_model=RequestDetail,
    summary="求助详情（状态与记录）",
    responses=_ERRORS,
)
async def get_request(request: Request, request_no: str = RequestNo, actor: Actor = Depends(current_actor)):
    return await request_detail(request, request_no, actor)


TriageBody = body_model(Triage)
LinkCaseBody = body_model(LinkCase)
AnswerBody = body_model(EnquiryAnswer)


async def triage(request: Request, request_no: str, actor: Actor, body: BaseModel) -> IntakeState:
    """Each need becomes a review case to open, an emergency event, or a referral to the bureau that owns it."""
    payload = _with_actor(Triage, body, actor)
    check_needs(payload.needs)
    if payload.emergency_kind not in {k.value for k in EmergencyKind}:
        raise ApiError(422, "invalid", f"急难类型无效：{payload.emergency_kind}")
    return await act_on(REQUESTS, request, request_no, actor, IntakeNames.TRIAGE, payload)


async def link_case(request: Request, request_no: str, actor: Actor, body: BaseModel) -> IntakeState:
    """The case must be a review case of the right kind that has the requester among its household members."""
    payload = _with_actor(LinkCase, body, actor)
    need = BY_CODE.get(payload.need)
    if need is None or need.route is not Route.REVIEW:
        raise ApiError(422, "invalid", "只有低保、特困事项需要关联审核案件")
    db = pool(request)
    row = await request_row(db, request_no, actor)
    case = await db.fetchrow(
        "select c.assistance_type, c.township_code, c.village_code, "
        "exists(select 1 from household_members m where m.household_id = c.household_id and m.id_number = $2) "
        "as member from cases c where c.case_id = $1",
        payload.case_id,
        row["id_number"],
    )
    if case is None:
        raise ApiError(422, "invalid", f"审核案件不存在：{payload.case_id}")
    if not within(actor.place_code, case["village_code"] or case["township_code"]):
        raise forbidden("该审核案件不在您的辖区内", "out_of_jurisdiction")
    if case["assistance_type"] != need.assistance_type:
        raise ApiError(422, "invalid", f"该案件不是{need.help_kind}案件")
    if not case["member"]:
        raise ApiError(422, "invalid", "该案件的家庭成员中没有此求助人")
    return await act_on(REQUESTS, request, request_no, actor, IntakeNames.LINK_CASE, payload)


async def answer_enquiry(request: Request, request_no: str, actor: Actor, body: BaseModel) -> IntakeState:
    return await act_on(
        REQUESTS, request, request_no, actor, IntakeNames.ANSWER, _with_actor(EnquiryAnswer, body, actor)
    )


for _action, _body, _run, _summary in (
    ("triage", TriageBody, triage, "分办（选定求助事项）"),
    ("link-case", LinkCaseBody, link_case, "关联已受理的低保/特困审核案件"),
    ("answer", AnswerBody, answer_enquiry, "答复政策咨询"),
):
    _action_route(
        f"/frontdoor/requests/{{request_no}}/{_action}",
        _body,
        _request_no,
        _run,
        response_model=IntakeState,
        summary=_summary,
        description=inspect.getdoc(_run),
        name=f"{_action.replace('-', '_')}_route",
    )


# ---- referrals --------------------------------------------------------------------------------------


@router.get("/referrals", response_model=ReferralList, summary="转介（部门收件箱 / 区级督办）", responses=_ERRORS)
async def list_referrals(
    request: Request,
    actor: Actor = Depends(current_actor),
    bureau: Bureau | None = Query(None, description="部门（区级用户筛选）"),
    status: Literal["open", "delivered", "accepted", "info_requested", "answered"] | None = Query(
        "open", description="open：未报告结果"
    ),
    overdue: bool | None = Query(None, description="只看超期或已上报区民政局的"),
    limit: int = Query(200, ge=1, le=500),
) -> ReferralList:
    """Bureau staff see their own bureau's referrals, townships theirs, the district all; nearest deadline first."""
    if actor.role is Role.VILLAGE_CADRE:
        raise forbidden("村（社区）干部不查看转介")
    params: list[Any] = []
    where: list[str] = []
    if actor.role is Role.BUREAU_STAFF:
        params.append(actor.bureau.value if actor.bureau else "")
        where.append("f.bureau = $1")
    else:
        params.append(actor.place_code)
        where.append("starts_with(f.township_code, $1)")
        if bureau:
            params.append(bureau.value)
            where.append(f"f.bureau = ${len(params)}")
    if status == "open":
        where.append("f.status <> 'answered'")
    elif status:
        params.append(status)
        where.append(f"f.status = ${len(params)}")
    condition = " and ".join(where)
    rows = await pool(request).fetch(
        f"{_REFERRAL_SQL} where {condition} order by coalesce(case when f.status = 'delivered' then f.accept_due end, "
        "f.result_due) nulls last, f.delivered_at",
        *params,
    )
    items = [referral_summary(r) for r in rows]
    if overdue is not None:
        items = [i for i in items if (i.accept_overdue or i.result_overdue or i.escalated) == overdue]
    return ReferralList(items=items[:limit], total=len(items))


async def referral_detail(request: Request, referral_id: str, actor: Actor) -> ReferralDetail:
    db = pool(request)
    row = await referral_row(db, referral_id, actor)
    req = await db.fetchrow(
        "select phone, address, description from frontdoor_requests where request_no = $1", row["request_no"]
    )
    return ReferralDetail(referral=referral_summary(row), **dict(req), **await _history(request, REFERRALS, row))


@router.get("/referrals/{referral_id}", response_model=ReferralDetail, summary="转介详情", responses=_ERRORS)
async def get_referral(request: Request, referral_id: str = ReferralId, actor: Actor = Depends(current_actor)):
    return await referral_detail(request, referral_id, actor)


_plain_action_routes(REFERRALS, "/referrals/{referral_id}", _referral_id)


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body, the scheme of X-Jiuzhu-Signature both ways."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def bureau_api_actor(bureau: Bureau) -> Actor:
    """Who acts when a bureau answers through its own system: the bureau itself, not a person."""
    return Actor(
        username=f"bureau-api:{bureau.value}",
        full_name=f"{bureau.label}（系统对接）",
        role=Role.BUREAU_STAFF,
        place_code=DISTRICT_CODE,
        bureau=bureau,
    )


@router.post(
    "/referrals/{referral_id}/callback",
    response_model=ReferralState,
    summary="部门系统回调（Webhook 对接：接收或报告结果）",
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": CallbackIn.model_json_schema()}}},
        "parameters": [
            {
                "name": "X-Jiuzhu-Signature",
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "sha256=<请求体原文以对接密钥计算的 HMAC-SHA256 十六进制值>",
            }
        ],
    },
)
async def callback(request: Request, referral_id: str = ReferralId):
    """For bureaus on the webhook adapter; no log-in, the signature with the endpoint's secret is the proof.
    Unknown referrals, bureaus without an active endpoint and bad signatures all get the same 401."""
    raw = await request.body()
    db = pool(request)
    row = await db.fetchrow(
        "select f.workflow_id, f.bureau, e.secret from referrals f "
        "join bureau_endpoints e on e.bureau = f.bureau and e.active where f.referral_id = $1",
        referral_id,
    )
    given = request.headers.get("x-jiuzhu-signature", "")
    if row is None or not hmac.compare_digest(given.encode(), signature(row["secret"], raw).encode()):
        with bound_contextvars(referral_id=referral_id):
            log.warning("referral callback refused: bad signature")
        raise ApiError(401, "bad_signature", "签名缺失或错误")
    try:
        body = CallbackIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
    actor = bureau_api_actor(Bureau(row["bureau"]))
    if body.action == "accept":
        payload: BaseModel = ReferralAccept(actor=actor, note=body.note)
        update = ReferralNames.ACCEPT
    else:
        payload = ReferralResult(actor=actor, outcome=body.outcome, help_given=body.help_given, amount=body.amount)
        update = ReferralNames.RESULT
    return await _update(
        client(request), row["workflow_id"], update, payload, actor, ReferralState, {"referral_id": referral_id}
    )


# ---- complaints -------------------------------------------------------------------------------------


def new_complaint_no() -> str:
    """The intake names the complaints it files TS-<its request number's date and suffix>; same shape here."""
    day = today().strftime("%Y%m%d")
    return f"TS-{day}-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


@router.post("/complaints", status_code=201, response_model=ComplaintCreated, summary="登记投诉", responses=_ERRORS)
async def register_complaint(body: ComplaintIn, request: Request, actor: Actor = Depends(current_actor)):
    """Assigned to the township concerned, or to the district (to_district, or a complaint about the township
    itself); the workflow makes sure the person complained about never handles it."""
    if actor.role not in DESK_ROLES:
        raise forbidden("只有乡镇（街道）经办人、审批人或区民政局工作人员可以登记投诉")
    if not within(actor.place_code, body.township_code):
        raise forbidden("只能登记本乡镇（街道）的投诉", "out_of_jurisdiction")
    db = pool(request)
    await _check_places(db, body.township_code, None)
    temporal = client(request)
    complaint_no = await _start_fresh(
        temporal,
        ComplaintNames.WORKFLOW,
        new_complaint_no,
        lambda no: ComplaintStart(
            complaint_no=no,
            request_no=None,
            complainant=body.complainant,
            phone=body.phone,
            township_code=body.township_code,
            about_case_id=body.about_case_id or None,
            about_person=body.about_person or None,
            content=body.content,
            unit_code=DISTRICT_CODE if body.to_district else body.township_code,
            registered_by=actor,
        ),
        complaint_workflow_id,
    )
    with bound_contextvars(complaint_no=complaint_no):
        log.info("complaint registered", by=actor.username)
    for _ in range(50):
        row = await db.fetchrow(
            "select complaint_no, unit_code, accept_due, conclude_due from complaints where complaint_no = $1",
            complaint_no,
        )
        if row is not None and row["accept_due"] is not None:
            return ComplaintCreated(**dict(row))
        await asyncio.sleep(0.1)
    raise ApiError(503, "temporal_unavailable", "投诉已提交，工作流暂未记录，请稍后查看")


@router.get("/complaints", response_model=ComplaintList, summary="投诉（按承办单位）", responses=_ERRORS)
async def list_complaints(
    request: Request,
    actor: Actor = Depends(current_actor),
    status: Literal["open", "registered", "accepted", "concluded"] | None = Query("open"),
    unit: str | None = Query(None, pattern=r"^\d{6}(\d{3})?$", description="承办单位代码"),
    limit: int = Query(200, ge=1, le=500),
) -> ComplaintList:
    """Complaints the caller's unit handles, never those about the caller; the nearest deadline first."""
    _complaint_reader(actor)
    params: list[Any] = [actor.place_code]
    where = ["starts_with(c.unit_code, $1)"]
    if status == "open":
        where.append("c.status <> 'concluded'")
    elif status:
        params.append(status)
        where.append(f"c.status = ${len(params)}")
    if unit:
        params.append(unit)
        where.append(f"c.unit_code = ${len(params)}")
    rows = await pool(request).fetch(
        f"{_COMPLAINT_SQL} where {' and '.join(where)} order by "
        "coalesce(case when c.status = 'registered' then c.accept_due end, c.conclude_due) nulls last, c.created_at",
        *params,
    )
    items = [complaint_summary(r) for r in rows if not is_subject(actor, r["about_person"])]
    return ComplaintList(items=items[:limit], total=len(items))


async def complaint_detail(request: Request, complaint_no: str, actor: Actor) -> ComplaintDetail:
    row = await complaint_row(pool(request), complaint_no, actor)
    return ComplaintDetail(
        complaint=complaint_summary(row),
        phone=row["phone"],
        content=row["content"],
        reply=row["reply"],
        **await _history(request, COMPLAINTS, row),
    )


@router.get("/complaints/{complaint_no}", response_model=ComplaintDetail, summary="投诉详情", responses=_ERRORS)
async def get_complaint(request: Request, complaint_no: str = ComplaintNo, actor: Actor = Depends(current_actor)):
    return await complaint_detail(request, complaint_no, actor)


_plain_action_routes(COMPLAINTS, "/complaints/{complaint_no}", _complaint_no)


# ---- the district's view ----------------------------------------------------------------------------


@router.get("/frontdoor/overview", response_model=Overview, summary="区级督办：谁还没有答复", responses=_ERRORS)
async def overview(request: Request, actor: Actor = Depends(current_actor)) -> Overview:
    if actor.role not in DISTRICT_ROLES:
        raise forbidden("只有区民政局工作人员和监督员可以查看督办汇总")
    db = pool(request)
    referrals = [referral_summary(r) for r in await db.fetch(_REFERRAL_SQL + "where f.status <> 'answered'")]
    by_bureau: dict[Bureau, BureauLoad] = {}
    for r in referrals:
        load = by_bureau.setdefault(
            r.bureau,
            BureauLoad(
                bureau=r.bureau,
                open=0,
                not_accepted=0,
                accept_overdue=0,
                result_overdue=0,
                escalated=0,
                oldest_delivered_at=None,
            ),
        )
        load.open += 1
        load.not_accepted += r.status == "delivered"
        load.accept_overdue += r.accept_overdue
        load.result_overdue += r.result_overdue
        load.escalated += r.escalated
        load.oldest_delivered_at = min(filter(None, (load.oldest_delivered_at, r.delivered_at)))
    complaints = [complaint_summary(c) for c in await db.fetch(_COMPLAINT_SQL + "where c.status <> 'concluded'")]
    by_unit: dict[str, UnitLoad] = {}
    for c in complaints:
        unit = by_unit.setdefault(
            c.unit_code,
            UnitLoad(unit_code=c.unit_code, unit_name=c.unit_name, open=0, not_accepted=0, overdue=0, escalated=0),
        )
        unit.open += 1
        unit.not_accepted += c.status == "registered"
        unit.overdue += c.overdue
        unit.escalated += c.escalated
    waiting = await db.fetch(
        "select r.township_code, t.name as township_name, count(*) as waiting, "
        "count(*) filter (where r.answer_due < $1) as overdue from frontdoor_requests r "
        "join places t on t.code = r.township_code where r.status <> 'closed' "
        "group by r.township_code, t.name order by r.township_code",
        today(),
    )
    return Overview(
        referrals=sorted(by_bureau.values(), key=lambda b: (-(b.accept_overdue + b.result_overdue), -b.open)),
        complaints=sorted(by_unit.values(), key=lambda u: (-u.overdue, -u.open)),
        requests=[TownshipLoad(**dict(w)) for w in waiting],
    )


# ---- one household view ---------------------------------------------------------------------------

HOUSEHOLD_ROLES = TOWNSHIP_STAFF | DISTRICT_ROLES


class HouseholdMember(BaseModel):
    name: str
    relation: str
    id_masked: str
    is_applicant: bool


class HouseholdCase(BaseModel):
    case_id: str
    assistance_type: str
    township_code: str
    township_name: str
    village_name: str | None
    applicant_name: str
    relation: str = Field(description="此人在该案件家庭中的关系")
    stage: str
    stage_label: str
    status: str
    accepted_at: datetime
    deadline: date | None
    overdue: bool
    category: str | None
    monthly_amount: Money | None
    members: list[HouseholdMember]


class HouseholdRecipient(BaseModel):
    case_id: str
    assistance_type: str
    township_code: str
    category: str | None
    monthly_amount: Money
    people: int
    first_payment_month: date
    status: str
    decided_at: datetime


class HouseholdEmergency(BaseModel):
    event_id: str
    kind: str
    applicant_name: str
    township_code: str
    township_name: str
    village_name: str
    tier: str
    status: str
    total: Money
    registered_at: datetime


class HouseholdView(BaseModel):
    """Everything known for one ID number, so help is neither missed nor paid twice."""

    id_number: str | None = Field(description="完整号码（仅乡镇经办人、审批人和区民政局工作人员可见）")
    id_masked: str
    names: list[str]
    cases: list[HouseholdCase]
    recipients: list[HouseholdRecipient]
    emergencies: list[HouseholdEmergency] = Field(
        description="12349 转来的急难事件，以及姓名和脱敏证件号都相符的急难事件（该表不存完整证件号）"
    )
    requests: list[RequestSummary]
    referrals: list[ReferralSummary]
    complaints: list[ComplaintSummary]
    elsewhere: int = Field(description="辖区外另有的记录数（不显示内容，需要时请联系区民政局）")


async def household_view(request: Request, id_number: str, actor: Actor) -> HouseholdView:
    if actor.role not in HOUSEHOLD_ROLES:
        raise forbidden("只有乡镇（街道）经办人、审批人和区民政局工作人员可以查看家庭信息")
    try:
        person = validate_resident_id(id_number)
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    db = pool(request)
    hidden = 0

    def mine(place: str) -> bool:
        nonlocal hidden
        if within(actor.place_code, place):
            return True
        hidden += 1
        return False

    case_rows = await db.fetch(
        "select c.case_id, c.assistance_type, c.township_code, t.name as township_name, v.name as village_name, "
        "c.village_code, c.applicant_name, m.relation, c.stage, c.status, c.accepted_at, c.deadline, c.overdue, "
        "c.category, c.monthly_amount_fen, c.household_id, m.name as member_name from household_members m "
        "join cases c on c.household_id = m.household_id join places t on t.code = c.township_code "
        "left join places v on v.code = c.village_code where m.id_number = $1 order by c.accepted_at desc",
        person,
    )
    all_requests = await db.fetch(_REQUEST_SQL + "where r.id_number = $1 order by r.created_at desc", person)
    # Related records are looked up from everything known, then shown only within the caller's jurisdiction.
    request_nos = [r["request_no"] for r in all_requests]
    all_case_ids = [c["case_id"] for c in case_rows]
    known_names = sorted({c["member_name"] for c in case_rows} | {r["name"] for r in all_requests})
    case_rows = [c for c in case_rows if mine(c["village_code"] or c["township_code"])]
    members = await db.fetch(
        "select household_id, name, relation, id_number, is_applicant from household_members "
        "where household_id = any($1::bigint[]) order by household_id, is_applicant desc, id",
        [c["household_id"] for c in case_rows],
    )
    cases = [
        HouseholdCase(
            **{k: c[k] for k in HouseholdCase.model_fields if k in c},
            stage_label=STAGE_LABELS.get(c["stage"], c["stage"]),
            monthly_amount=None if c["monthly_amount_fen"] is None else from_fen(c["monthly_amount_fen"]),
            members=[
                HouseholdMember(
                    name=m["name"],
                    relation=m["relation"],
                    id_masked=mask_id(m["id_number"]),
                    is_applicant=m["is_applicant"],
                )
                for m in members
                if m["household_id"] == c["household_id"]
            ],
        )
        for c in case_rows
    ]
    case_ids = [c.case_id for c in cases]
    recipients = [
        HouseholdRecipient(
            **{k: r[k] for k in HouseholdRecipient.model_fields if k in r},
            monthly_amount=from_fen(r["monthly_amount_fen"]),
        )
        for r in await db.fetch(
            "select case_id, assistance_type, township_code, category, monthly_amount_fen, people, "
            "first_payment_month, status, decided_at from recipients where case_id = any($1::text[]) "
            "order by decided_at desc",
            case_ids,
        )
    ]
    requests = [r for r in all_requests if mine(r["village_code"] or r["township_code"])]
    referrals = [
        r
        for r in await db.fetch(
            _REFERRAL_SQL + "where f.request_no = any($1::text[]) order by f.delivered_at desc", request_nos
        )
        if mine(r["township_code"])
    ]
    complaints = [
        c
        for c in await db.fetch(
            _COMPLAINT_SQL + "where c.request_no = any($1::text[]) or c.about_case_id = any($2::text[]) "
            "order by c.created_at desc",
            request_nos,
            all_case_ids,
        )
        if mine(c["unit_code"]) and not is_subject(actor, c["about_person"])
    ]
    emergencies = [
        e
        for e in await db.fetch(
            "select e.event_id, e.kind, e.applicant_name, e.township_code, t.name as township_name, "
            "e.village_code, v.name as village_name, e.tier, e.status, "
            "e.village_fen + e.township_fen + e.district_fen as total_fen, e.registered_at from emergencies e "
            "join places t on t.code = e.township_code join places v on v.code = e.village_code "
            "where e.applicant_id_number = $4 "
            "or (e.applicant_id_number is null and e.applicant_id_masked = $1 and e.applicant_name = any($2::text[])) "
            "or e.event_id in "
            "(select l.payload->>'target' from frontdoor_log l where l.subject_type = 'request' "
            "and l.subject_id = any($3::text[]) and l.kind = 'need_answered') order by e.registered_at desc",
            mask_id(person),
            known_names,
            request_nos,
            person,
        )
        if mine(e["village_code"])
    ]
    return HouseholdView(
        id_number=person if actor.role in FULL_ID_ROLES else None,
        id_masked=mask_id(person),
        names=sorted(
            {c["member_name"] for c in case_rows}
            | {r["name"] for r in requests}
            | {e["applicant_name"] for e in emergencies}
        ),
        cases=cases,
        recipients=recipients,
        emergencies=[
            HouseholdEmergency(
                **{k: e[k] for k in HouseholdEmergency.model_fields if k in e}, total=from_fen(e["total_fen"])
            )
            for e in emergencies
        ],
        requests=[request_summary(r) for r in requests],
        referrals=[referral_summary(r) for r in referrals],
        complaints=[complaint_summary(c) for c in complaints],
        elsewhere=hidden,
    )


class HouseholdQuery(BaseModel):
    """The person to look up, in the body: an ID number in a URL would stay in proxy logs and browser history."""

    id_number: str = Field(max_length=18, description="居民身份证号码")


@router.post(
    "/households/lookup", response_model=HouseholdView, summary="一户一档：某人的全部救助信息", responses=_ERRORS
)
async def lookup_household(request: Request, query: HouseholdQuery, actor: Actor = Depends(current_actor)):
    """Cases (with their household members), recipients register, emergencies, front-door requests, referrals
    and complaints; township staff see what lies in their township and a count of the rest."""
    return await household_view(request, query.id_number, actor)


def install(app: FastAPI) -> None:
    app.include_router(router)
