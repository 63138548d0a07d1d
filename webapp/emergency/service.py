"""Emergency aid as the API and the pages both use it: register an event (start its workflow), read events and
the district's totals, act on an event (a workflow update called by name), and the funds' ledgers.

The workflow is called by name (schemas.emergency.EmergencyNames); lists come from the database.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import date
from decimal import Decimal

import asyncpg
import structlog
from pydantic import BaseModel
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from db import emergency_repo, funds_repo, places_repo, policy_repo, relatives_repo
from infra import clock
from rules.access import within
from rules.actions import ActorView
from rules.caps import Caps, Tier, Totals, counted
from rules.emergency_actions import ACTIONS, EmergencyAction, EventView, register_refusal
from schemas.emergency import (
    EMERGENCY_PAYLOADS,
    EmergencyAck,
    EmergencyNames,
    EmergencyPath,
    EmergencyStart,
    EmergencyState,
    emergency_workflow_id,
)
from schemas.identity import mask_name
from schemas.money import from_fen
from schemas.policy import EmergencyPolicy
from schemas.relatives import DeclaredRelativesIn
from schemas.staff import Actor, Role
from webapp import authz
from webapp.emergency.models import (
    EmergencyDetail,
    EmergencyIn,
    EmergencyList,
    EmergencySummary,
    FundEntry,
    FundLedger,
    IncomeIn,
    TierTotal,
)
from webapp.errors import ApiError, forbidden, not_found, refuse_personal_number
from webapp.payloads import with_actor
from webapp.workflow_calls import connected, fresh, query, start_or_attach, started_input, update

log = structlog.get_logger("webapp")

CLOSED = ApiError(409, "closed", "该急难事件已办结")
# Issue 16.3: what a registration learns of an event outside the caller's jurisdiction: that the number is in use,
# or that the person has an open event, and nothing else (not its name, place, dates, description or payments).
ID_TAKEN = ApiError(409, "event_id_taken", "该事件编号已被使用，请换一个编号或留空由系统生成")
OPEN_ELSEWHERE = ApiError(
    409, "open_event_exists", "该居民已有未办结的急难事件，办结后方可再次登记；如需继续救助，请联系区民政局"
)


def _summary(row: emergency_repo.EventRow) -> EmergencySummary:
    data = row.model_dump()
    totals = {t: from_fen(data.pop(f"{t}_fen")) for t in ("village", "township", "district")}
    return EmergencySummary(
        **data, **{f"{t}_total": v for t, v in totals.items()}, total=sum(totals.values(), Decimal("0"))
    )


async def _event_row(db: asyncpg.Pool, event_id: str, actor: Actor) -> emergency_repo.EventRow:
    row = await emergency_repo.event(db, event_id)
    if row is None:
        raise not_found("急难事件不存在")
    if not authz.in_scope(actor, "emergency.read", row.village_code):
        raise forbidden("该急难事件不在您的辖区内", "out_of_jurisdiction")
    return row


async def _state(temporal: Client, event_id: str) -> EmergencyState | None:
    return await query(temporal, emergency_workflow_id(event_id), EmergencyState, name=EmergencyNames.STATE)


async def register(
    db: asyncpg.Pool, temporal: Client | None, body: EmergencyIn, actor: Actor
) -> tuple[EmergencyDetail, bool]:
    """Village cadres register for their village, township staff for their township (支出型 only they); help can
    follow at once. Staff related to the household may not register (the review's relatives check). A household
    has at most one open event: a registration for its applicant answers that event; one whose applicant or
    members belong to another applicant's open event is refused (`open_event_exists`).
    Returns the event and whether this call registered it (a repeated event id answers the existing one)."""
    authz.require(actor, "emergency.register")
    refuse_personal_number(body.event_id, "event_id")
    hh = body.household
    if not within(actor.place_code, hh.village_code):
        raise forbidden("只能登记本辖区居民的急难事件", "out_of_jurisdiction")
    village = await places_repo.get_place(db, hh.village_code)
    if village is None or village.level != "village" or village.parent_code != hh.township_code:
        raise ApiError(422, "invalid", f"村（社区）{hh.village_code} 不属于乡镇（街道）{hh.township_code}")
    if body.event_id and (row := await emergency_repo.event(db, body.event_id)) is not None:
        _check_attach(row.village_code, actor)
    event_id = body.event_id or f"JJN-{hh.village_code}-{clock.now():%Y%m%d%H%M%S%f}"
    found = await relatives_repo.check_declared(
        db,
        DeclaredRelativesIn(
            case_id=event_id,
            township_code=hh.township_code,
            id_numbers=[hh.id_number, *hh.member_id_numbers],
            declared=body.declared_relatives,
        ),
    )
    why = register_refusal(body.path.value, ActorView.of(actor), frozenset(m.username for m in found.barred))
    if why is not None:
        raise forbidden(why.worded(lambda role: Role(role).label, actor.role), why.code)
    if open_event := await emergency_repo.open_event_of(db, *hh.id_numbers, besides=body.event_id):
        return await _open_event(db, temporal, open_event, body, actor), False
    start = EmergencyStart(
        event_id=event_id,
        kind=body.kind,
        description=body.description,
        household=hh,
        registered_by=actor,
        channel="village" if actor.role is Role.VILLAGE_CADRE else "township",
        path=body.path,
        expense=body.expense,
        declared_relatives=body.declared_relatives,
    )
    client = connected(temporal)
    _, created = await start_or_attach(client, EmergencyNames.WORKFLOW, start, id=emergency_workflow_id(event_id))
    if not created:  # a repeated event id: someone else's, maybe started a moment ago without its row yet
        await _check_existing(db, client, event_id, actor)
    state = None
    for _ in range(50):  # the first activity writes the row; answer with it
        state = await _state(client, event_id)
        if state and (state.log or state.duplicate_of):
            break
        await asyncio.sleep(0.1)
    if state is not None and state.duplicate_of:  # another registration of the person came first
        return await _open_event(db, client, state.duplicate_of, body, actor), False
    with bound_contextvars(event_id=event_id):
        log.info("emergency registered" if created else "emergency already registered", by=actor.username)
    if not created and await emergency_repo.event(db, event_id) is not None:  # attached: the event, its payments
        return await event_detail(db, client, event_id, actor), False
    row = await emergency_repo.event(db, event_id)
    if row is None:
        raise ApiError(503, "temporal_unavailable", "工作流服务暂不可用，事件已提交，请稍后查看")
    return EmergencyDetail(event=_summary(row), state=state, payments=[]), created


def _check_attach(village_code: str, actor: Actor) -> None:
    """A registration may attach to an existing event only within the caller's jurisdiction."""
    if not authz.in_scope(actor, "emergency.read", village_code):
        log.info("emergency id in use elsewhere", by=actor.username)
        raise fresh(ID_TAKEN)


async def _check_existing(db: asyncpg.Pool, temporal: Client, event_id: str, actor: Actor) -> None:
    """Where the event already registered under `event_id` lies: its row, or before its first activity has written
    it, the household it was started with; refused (`ID_TAKEN`) outside the caller's jurisdiction."""
    row = await emergency_repo.event(db, event_id)
    if row is None:
        start = await started_input(temporal, emergency_workflow_id(event_id), EmergencyStart)
        if start is None:  # cannot tell where it lies: tell nothing
            raise fresh(ID_TAKEN)
        _check_attach(start.household.village_code, actor)
    else:
        _check_attach(row.village_code, actor)


async def _open_event(
    db: asyncpg.Pool, temporal: Client | None, event_id: str, body: EmergencyIn, actor: Actor
) -> EmergencyDetail:
    """The household's open event, answering a registration for its applicant; refused (409) where the caller may
    not see it (`OPEN_ELSEWHERE`, naming nothing of it), where the registration's applicant is not its applicant
    (a member of its household, or of a household with a member in it: one household, one open event), or where it
    is of the other path (支出型 and 急难型 share the household's caps: one open event at a time)."""
    row = await emergency_repo.event(db, event_id)
    assert row is not None
    with bound_contextvars(event_id=event_id):
        log.info("emergency registration answered with the open event", by=actor.username)
    if not authz.in_scope(actor, "emergency.read", row.village_code):
        raise fresh(OPEN_ELSEWHERE)
    path = EmergencyPath(row.path)
    hh = body.household
    applicant = await emergency_repo.is_applicant(db, event_id, hh.id_number)
    if not applicant or row.path != body.path.value:
        whose = "" if applicant else f"{hh.name}或其家庭成员属于{row.applicant_name}户，"
        raise ApiError(
            409,
            "open_event_exists",
            f"{whose}{row.applicant_name}在{row.village_name}有未办结的{path.label}事件"
            f"（{row.registered_at.astimezone(clock.BEIJING):%Y-%m-%d} 登记），"
            "请在该事件中继续救助，办结后方可再次登记",
        )
    return await event_detail(db, temporal, event_id, actor)


async def list_events(
    db: asyncpg.Pool,
    actor: Actor,
    township: str | None,
    tier: str | None,
    status: str | None,
    page: int = 1,
    page_size: int = 50,
) -> EmergencyList:
    """Events within the caller's jurisdiction, newest first, with totals by township and tier."""
    authz.require(actor, "emergency.read")
    selected = emergency_repo.EventFilter(actor.place_code, township, tier, status)
    rows, total = await emergency_repo.events(db, selected, limit=page_size, offset=(page - 1) * page_size)
    grouped = await emergency_repo.totals_by_township_and_tier(db, selected)
    return EmergencyList(
        items=[_summary(r) for r in rows],
        total=total,
        by_township_and_tier=[
            TierTotal(
                township_code=g.township_code,
                township_name=g.township_name,
                tier=g.tier,
                events=g.events,
                total=from_fen(g.total_fen),
            )
            for g in grouped
        ],
    )


async def event_detail(db: asyncpg.Pool, temporal: Client | None, event_id: str, actor: Actor) -> EmergencyDetail:
    authz.require(actor, "emergency.read")
    row = await _event_row(db, event_id, actor)
    payments = await emergency_repo.payments_of(db, event_id)
    return EmergencyDetail(
        event=_summary(row),
        state=await _state(connected(temporal), event_id),
        payments=[
            {**asdict(p), "amount": str(from_fen(p.amount_fen)), "documentation": p.documentation} for p in payments
        ],
    )


async def caps_policy(db: asyncpg.Pool, event_id: str) -> EmergencyPolicy | None:
    """The emergency part of the policy version the event was registered under."""
    version = await emergency_repo.policy_version(db, event_id)
    return None if version is None else (await policy_repo.get(db, version)).emergency


def event_view(detail: EmergencyDetail, policy: EmergencyPolicy | None) -> EventView:
    """The event as the action rules see it (`rules.emergency_actions`, which the workflow's validators apply),
    read from its row and payments; `policy` is the event's, if known (else no payment can be offered)."""
    ev, state = detail.event, detail.state
    caps = Caps.of(policy) if policy is not None else None
    totals = Totals(village=ev.village_total, township=ev.township_total, district=ev.district_total)
    prior = state.prior if state else None
    if caps is not None and prior is not None:
        totals = counted(caps, totals, Totals(village=prior.village, township=prior.township, district=prior.district))
    return EventView(
        status=ev.status,
        tier=Tier(ev.tier),
        place=ev.village_code,
        caps=caps,
        totals=totals,
        paid=bool(detail.payments),
        documents_done=ev.documents_done,
        paying=any(p["transfer_ref"] is None for p in detail.payments),
        fund_short=frozenset(Tier(t) for t in state.fund_short) if state else frozenset(),
        path=ev.path,
        barred=frozenset(state.barred_staff) if state else frozenset(),
        repeat_pending=state.repeat_pending if state else False,
        prior_total=prior.total if prior else Decimal("0"),
        namesakes_pending=any(n.resolution == "pending" for n in state.namesakes) if state else False,
    )


async def perform(
    db: asyncpg.Pool,
    temporal: Client | None,
    event_id: str,
    actor: Actor,
    action: EmergencyAction,
    body: BaseModel,
) -> EmergencyAck:
    """Check the caller, then call the workflow once: its validator has the last word on role, tier and state
    (`rules.emergency_actions`); its refusals come back as 4xx with their Chinese text."""
    authz.require(actor, "emergency.act")
    payload = with_actor(EMERGENCY_PAYLOADS[action], body, actor)
    await _event_row(db, event_id, actor)
    client = connected(temporal)
    with bound_contextvars(event_id=event_id, action=action.value):
        ack = await update(
            client,
            emergency_workflow_id(event_id),
            ACTIONS[action].update,
            payload,
            result_type=EmergencyAck,
            closed=CLOSED,
        )
        log.info("emergency action done", by=actor.username, tier=ack.tier, total=str(ack.total))
    return ack


# ---- funds -------------------------------------------------------------------------------------------


def may_book(actor: Actor, level: str) -> bool:
    """Who keeps the books of each level's fund (authz `fund.income.<level>`)."""
    return authz.may(actor, f"fund.income.{level}")


async def _fund_place(db: asyncpg.Pool, place_code: str, actor: Actor) -> places_repo.Place:
    place = await places_repo.get_place(db, place_code)
    if place is None:
        raise not_found("区划不存在")
    if not authz.in_scope(actor, "fund.read", place_code):
        raise forbidden("该资金账户不在您的辖区内", "out_of_jurisdiction")
    return place


async def fund_ledger(
    db: asyncpg.Pool,
    place_code: str,
    actor: Actor,
    page: int = 1,
    since: date | None = None,
    until: date | None = None,
    limit: int = 200,
) -> FundLedger:
    authz.require(actor, "fund.read")
    place = await _fund_place(db, place_code, actor)
    async with db.acquire() as conn:
        fund = await funds_repo.fund(conn, place_code)
        balance = await funds_repo.balance(conn, place_code)
        rows = await funds_repo.ledger(conn, place_code, limit, (page - 1) * limit, since, until)
    # who received aid is for those who read the events (not the administrator, who books income)
    names = authz.may(actor, "emergency.read")
    return FundLedger(
        place_code=place_code,
        name=fund.name,
        level=place.level,
        balance=balance,
        entries=[
            FundEntry(
                **{k: v for k, v in asdict(r).items() if k not in ("amount_fen", "balance_fen")},
                amount=from_fen(r.amount_fen),
                balance_after=from_fen(r.balance_fen),
            ).model_copy(update={} if names or not r.beneficiary else {"beneficiary": mask_name(r.beneficiary)})
            for r in rows
        ],
    )


async def add_income(db: asyncpg.Pool, place_code: str, body: IncomeIn, actor: Actor) -> FundLedger:
    place = await _fund_place(db, place_code, actor)
    authz.require(actor, f"fund.income.{place.level}")
    async with db.acquire() as conn:
        try:
            await funds_repo.add_income(
                conn, place_code, body.amount, body.source, actor.username, body.donor, body.note
            )
        except funds_repo.FundError as exc:
            raise ApiError(422, "invalid", str(exc)) from None
    return await fund_ledger(db, place_code, actor)
