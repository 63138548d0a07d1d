"""Emergency aid over HTTP: register an event, pay at each tier, escalate, record documents, close;
the funds' ledgers; and the district's view of every open event by township and tier.

The workflow is called by name (schemas.emergency.EmergencyNames); lists come from the database.
"""

import asyncio
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from structlog.contextvars import bound_contextvars
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from db import funds_repo
from infra import clock
from infra.config import TASK_QUEUE
from rules.access import within
from schemas.emergency import (
    EVENT_ID,
    CloseEvent,
    DocumentsRecorded,
    EmergencyAck,
    EmergencyHousehold,
    EmergencyKind,
    EmergencyNames,
    EmergencyStart,
    EmergencyState,
    Escalation,
    FundSource,
    PaymentApproval,
    emergency_workflow_id,
)
from schemas.money import Money, from_fen
from schemas.staff import Actor, Role
from webapp.actions import body_model
from webapp.auth import current_actor, pool
from webapp.errors import ApiError, ErrorBody, forbidden, not_found
from webapp.temporal import client

log = structlog.get_logger("webapp")
EventId = Path(pattern=EVENT_ID, description="急难事件编号")
_ERRORS = {
    401: {"model": ErrorBody, "description": "未登录"},
    403: {"model": ErrorBody, "description": "角色或辖区不允许"},
    404: {"model": ErrorBody, "description": "不存在"},
    409: {"model": ErrorBody, "description": "超出封顶、层级不对、资金不足、事件已办结…"},
    422: {"model": ErrorBody, "description": "数据不合法（中文提示）"},
}
REGISTERING_ROLES = {Role.VILLAGE_CADRE, Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER}
READERS = set(Role) - {Role.BUREAU_STAFF}
REFUSAL_STATUS = {"wrong_role": 403, "out_of_jurisdiction": 403}

router = APIRouter(prefix="/api", tags=["救急难"])


class EmergencyIn(BaseModel):
    event_id: str | None = Field(default=None, pattern=EVENT_ID, description="留空则自动生成")
    kind: EmergencyKind
    description: str = Field(min_length=4, max_length=2000)
    household: EmergencyHousehold


class EmergencySummary(BaseModel):
    event_id: str
    kind: str
    applicant_name: str
    applicant_id_masked: str
    township_code: str
    township_name: str
    village_code: str
    village_name: str
    tier: str
    status: str
    village_total: Money
    township_total: Money
    district_total: Money
    total: Money
    documentation_due: date | None
    documents_done: bool
    registered_at: datetime


class TierTotal(BaseModel):
    township_code: str
    township_name: str
    tier: str
    events: int
    total: Money


class EmergencyList(BaseModel):
    items: list[EmergencySummary]
    total: int
    by_township_and_tier: list[TierTotal]


class EmergencyDetail(BaseModel):
    event: EmergencySummary
    state: EmergencyState | None
    payments: list[dict]


class FundEntry(BaseModel):
    id: int
    kind: Literal["income", "payment"]
    amount: Money
    source: str | None
    donor: str | None
    note: str | None
    payment_key: str | None
    recorded_by: str
    recorded_at: datetime
    balance_after: Decimal


class FundLedger(BaseModel):
    place_code: str
    name: str
    level: str
    balance: Decimal
    entries: list[FundEntry]


class IncomeIn(BaseModel):
    amount: Money
    source: FundSource
    donor: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=500)


_SUMMARY_SQL = """
select e.event_id, e.kind, e.applicant_name, e.applicant_id_masked, e.township_code, t.name as township_name,
       e.village_code, v.name as village_name, e.tier, e.status, e.village_fen, e.township_fen, e.district_fen,
       e.documentation_due, e.documents_done, e.registered_at
from emergencies e join places t on t.code = e.township_code join places v on v.code = e.village_code
"""


def _summary(row: asyncpg.Record) -> EmergencySummary:
    data = dict(row)
    totals = {t: from_fen(data.pop(f"{t}_fen")) for t in ("village", "township", "district")}
    return EmergencySummary(
        **data, **{f"{t}_total": v for t, v in totals.items()}, total=sum(totals.values(), Decimal("0"))
    )


def _reader(actor: Actor) -> Actor:
    if actor.role not in READERS:
        raise forbidden("部门工作人员无权查看救急难事件")
    return actor


async def _event_row(db: asyncpg.Pool, event_id: str, actor: Actor) -> asyncpg.Record:
    row = await db.fetchrow(_SUMMARY_SQL + "where e.event_id = $1", event_id)
    if row is None:
        raise not_found("急难事件不存在")
    if not within(actor.place_code, row["village_code"]):
        raise forbidden("该急难事件不在您的辖区内", "out_of_jurisdiction")
    return row


async def _state(temporal: Client, event_id: str) -> EmergencyState | None:
    try:
        return await temporal.get_workflow_handle(emergency_workflow_id(event_id)).query(
            EmergencyNames.STATE, result_type=EmergencyState
        )
    except RPCError:
        return None


@router.post("/emergencies", status_code=201, response_model=EmergencyDetail, summary="登记急难事件", responses=_ERRORS)
async def register(body: EmergencyIn, request: Request, response: Response, actor: Actor = Depends(current_actor)):
    """Village cadres register for their village, township staff for their township; help can follow at once."""
    if actor.role not in REGISTERING_ROLES:
        raise forbidden("急难事件由村（社区）干部或乡镇（街道）工作人员登记")
    hh = body.household
    if not within(actor.place_code, hh.village_code):
        raise forbidden("只能登记本辖区居民的急难事件", "out_of_jurisdiction")
    parent = await pool(request).fetchval(
        "select parent_code from places where code = $1 and level = 'village'", hh.village_code
    )
    if parent != hh.township_code:
        raise ApiError(422, "invalid", f"村（社区）{hh.village_code} 不属于乡镇（街道）{hh.township_code}")
    event_id = body.event_id or f"JJN-{hh.village_code}-{clock.now():%Y%m%d%H%M%S%f}"
    start = EmergencyStart(
        event_id=event_id,
        kind=body.kind,
        description=body.description,
        household=hh,
        registered_by=actor,
        channel="village" if actor.role is Role.VILLAGE_CADRE else "township",
    )
    temporal = client(request)
    try:
        handle = await temporal.start_workflow(
            EmergencyNames.WORKFLOW,
            start,
            id=emergency_workflow_id(event_id),
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        created = handle._start_workflow_response.started  # same private flag webapp.temporal relies on
    except WorkflowAlreadyStartedError:
        created = False
    if not created:
        response.status_code = 200
    with bound_contextvars(event_id=event_id):
        log.info("emergency registered" if created else "emergency already registered", by=actor.username)
    state = None
    for _ in range(50):  # the first activity writes the row; answer with it
        state = await _state(temporal, event_id)
        if state and state.log:
            break
        await asyncio.sleep(0.1)
    row = await pool(request).fetchrow(_SUMMARY_SQL + "where e.event_id = $1", event_id)
    if row is None:
        raise ApiError(503, "temporal_unavailable", "工作流服务暂不可用，事件已提交，请稍后查看")
    return EmergencyDetail(event=_summary(row), state=state, payments=[])


@router.get("/emergencies", response_model=EmergencyList, summary="急难事件（按乡镇、层级汇总）", responses=_ERRORS)
async def list_emergencies(
    request: Request,
    township: str | None = Query(None, pattern=r"^\d{9}$"),
    tier: Literal["village", "township", "district"] | None = None,
    status: Literal["open", "closed"] | None = "open",
    page: int = Query(1, ge=1, le=100_000),
    page_size: int = Query(50, ge=1, le=200),
    actor: Actor = Depends(current_actor),
) -> EmergencyList:
    _reader(actor)
    conditions, params = ["starts_with(e.village_code, $1)"], [actor.place_code]
    for column, value in (("e.township_code", township), ("e.tier", tier), ("e.status", status)):
        if value:
            params.append(value)
            conditions.append(f"{column} = ${len(params)}")
    where = " where " + " and ".join(conditions)
    db = pool(request)
    total = await db.fetchval("select count(*) from emergencies e" + where, *params)
    rows = await db.fetch(
        _SUMMARY_SQL + where + f" order by e.registered_at desc limit {page_size} offset {(page - 1) * page_size}",
        *params,
    )
    grouped = await db.fetch(
        "select e.township_code, t.name as township_name, e.tier, count(*) as events, "
        "sum(e.village_fen + e.township_fen + e.district_fen) as total_fen "
        "from emergencies e join places t on t.code = e.township_code"
        + where
        + " group by e.township_code, t.name, e.tier order by e.township_code, e.tier",
        *params,
    )
    return EmergencyList(
        items=[_summary(r) for r in rows],
        total=total,
        by_township_and_tier=[
            TierTotal(
                township_code=g["township_code"],
                township_name=g["township_name"],
                tier=g["tier"],
                events=g["events"],
                total=from_fen(g["total_fen"]),
            )
            for g in grouped
        ],
    )


@router.get("/emergencies/{event_id}", response_model=EmergencyDetail, summary="急难事件详情", responses=_ERRORS)
async def get_emergency(request: Request, event_id: str = EventId, actor: Actor = Depends(current_actor)):
    _reader(actor)
    db = pool(request)
    row = await _event_row(db, event_id, actor)
    payments = await db.fetch(
        "select p.payment_key, p.tier, p.amount_fen, f.name as fund, p.approved_by, p.approved_at, p.transfer_ref, "
        "p.paid_at from aid_payments p join aid_funds f on f.id = p.fund_id where p.event_id = $1 order by p.id",
        event_id,
    )
    return EmergencyDetail(
        event=_summary(row),
        state=await _state(client(request), event_id),
        payments=[{**dict(p), "amount": str(from_fen(p["amount_fen"]))} for p in payments],
    )


ACTIONS = {
    "approve": (PaymentApproval, EmergencyNames.APPROVE, "审批发放"),
    "escalate": (Escalation, EmergencyNames.ESCALATE, "申报上一级"),
    "documents": (DocumentsRecorded, EmergencyNames.DOCUMENTS, "补齐材料"),
    "close": (CloseEvent, EmergencyNames.CLOSE, "办结"),
}


async def perform(request: Request, event_id: str, actor: Actor, action: str, body: BaseModel) -> EmergencyAck:
    """Check the caller, then call the workflow once; its refusals come back as 4xx with their Chinese text."""
    if actor.role is Role.DISTRICT_SUPERVISOR:
        raise forbidden("监督员只能查看，不能办理")
    if actor.role in (Role.BUREAU_STAFF, Role.ADMIN):  # refused before the workflow, which would name the stage
        raise forbidden("您的角色不办理此类事项")
    model, update, _ = ACTIONS[action]
    try:
        payload = model.model_validate({**dict(body), "actor": actor})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
    await _event_row(pool(request), event_id, actor)
    handle = client(request).get_workflow_handle(emergency_workflow_id(event_id))
    with bound_contextvars(event_id=event_id, action=action):
        try:
            ack = await handle.execute_update(update, payload, result_type=EmergencyAck)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type:
                log.info("emergency action refused", by=actor.username, code=cause.type)
                raise ApiError(REFUSAL_STATUS.get(cause.type, 409), cause.type, cause.message) from None
            raise ApiError(500, "workflow_error", "处理出错，请联系系统管理员") from None
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                raise ApiError(409, "closed", "该急难事件已办结") from None
            raise
        log.info("emergency action done", by=actor.username, tier=ack.tier, total=str(ack.total))
    return ack


def _route(name: str, model: type[BaseModel], label: str) -> None:
    body_type = body_model(model)

    async def act(request: Request, body: body_type, event_id: str = EventId, actor: Actor = Depends(current_actor)):
        return await perform(request, event_id, actor, name, body)

    router.add_api_route(
        f"/emergencies/{{event_id}}/actions/{name}",
        act,
        methods=["POST"],
        response_model=EmergencyAck,
        summary=label,
        responses=_ERRORS,
        name=f"emergency_{name}",
    )


for _name, (_model, _, _label) in ACTIONS.items():
    _route(_name, _model, _label)

# Who keeps the books of each level's fund.
INCOME_ROLES = {
    "village": {Role.VILLAGE_CADRE, Role.ADMIN},
    "township": {Role.TOWNSHIP_APPROVER, Role.ADMIN},
    "district": {Role.DISTRICT_OFFICER, Role.ADMIN},
}


async def _fund_place(db: asyncpg.Pool, place_code: str, actor: Actor) -> asyncpg.Record:
    place = await db.fetchrow("select code, name, level from places where code = $1", place_code)
    if place is None:
        raise not_found("区划不存在")
    if not within(actor.place_code, place_code):
        raise forbidden("该资金账户不在您的辖区内", "out_of_jurisdiction")
    return place


@router.get(
    "/funds/{place_code}", response_model=FundLedger, summary="救助资金台账（余额即台账合计）", responses=_ERRORS
)
async def fund_ledger(
    request: Request,
    place_code: str = Path(pattern=r"^\d{6}(\d{3}){0,2}$"),
    page: int = Query(1, ge=1, le=100_000),
    actor: Actor = Depends(current_actor),
) -> FundLedger:
    _reader(actor)
    db = pool(request)
    place = await _fund_place(db, place_code, actor)
    async with db.acquire() as conn:
        await funds_repo.fund_id(conn, place_code)
        name = await conn.fetchval("select name from aid_funds where place_code = $1", place_code)
        balance = await funds_repo.balance(conn, place_code)
        rows = await funds_repo.ledger(conn, place_code, limit=200, offset=(page - 1) * 200)
    return FundLedger(
        place_code=place_code,
        name=name,
        level=place["level"],
        balance=balance,
        entries=[
            FundEntry(
                **{k: v for k, v in dict(r).items() if k not in ("amount_fen", "balance_fen")},
                amount=from_fen(r["amount_fen"]),
                balance_after=from_fen(r["balance_fen"]),
            )
            for r in rows
        ],
    )


@router.post(
    "/funds/{place_code}/income", status_code=201, response_model=FundLedger, summary="资金入账", responses=_ERRORS
)
async def add_income(
    body: IncomeIn,
    request: Request,
    place_code: str = Path(pattern=r"^\d{6}(\d{3}){0,2}$"),
    actor: Actor = Depends(current_actor),
) -> FundLedger:
    db = pool(request)
    place = await _fund_place(db, place_code, actor)
    if actor.role not in INCOME_ROLES[place["level"]]:
        raise forbidden("您无权为该资金账户入账")
    async with db.acquire() as conn:
        try:
            await funds_repo.add_income(
                conn, place_code, body.amount, body.source, actor.username, body.donor, body.note
            )
        except funds_repo.FundError as exc:
            raise ApiError(422, "invalid", str(exc)) from None
    return await fund_ledger(request, place_code, 1, actor)


def install(app: FastAPI) -> None:
    app.include_router(router)
