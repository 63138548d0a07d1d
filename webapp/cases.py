"""Cases: accept (start the review workflow), list and read them; the verification queue; calendar news.

Lists come from the `cases` table the workflow keeps up to date, not from Temporal visibility: the
database can filter by jurisdiction and name and page through results, and it outlives retention.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from infra.calendar_news import announce_calendar_change
from infra.config import TIMEZONE, Settings
from rules.access import within
from rules.stages import STAGE_LABELS, Stage
from schemas.money import Money, from_fen
from schemas.review import APPLICATION_ID, Application, AssistanceType, CaseState, ReviewStart, workflow_id_for
from schemas.staff import Actor, Role
from webapp.auth import case_reader, current_actor, pool
from webapp.errors import ApiError, ErrorBody, forbidden, not_found
from webapp.temporal import client, query_state, start_review, started_with

log = structlog.get_logger("webapp")

router = APIRouter(prefix="/api", tags=["案件"])
CaseId = Path(pattern=APPLICATION_ID, description="案件编号（即申请编号）")
ACCEPTING_ROLES = frozenset({Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER})
_ERRORS = {
    401: {"model": ErrorBody, "description": "未登录"},
    403: {"model": ErrorBody, "description": "无权操作（角色或辖区）"},
    404: {"model": ErrorBody, "description": "案件不存在"},
    422: {"model": ErrorBody, "description": "数据不合法（中文提示）"},
}


class CaseSummary(BaseModel):
    """One row of the `cases` table; the applicant's ID number only ever appears masked."""

    case_id: str
    workflow_id: str
    assistance_type: AssistanceType
    township_code: str
    township_name: str
    village_code: str | None
    village_name: str | None
    applicant_name: str
    applicant_id_masked: str
    channel: str
    policy_version: int
    stage: str
    stage_label: str
    status: str
    handled_by: str
    accepted_at: datetime
    deadline: date | None
    deadline_provisional: bool
    paused_days: int
    overdue: bool
    relatives_match: bool
    category: str | None
    monthly_amount: Money | None
    decided_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime


class CaseList(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    page_size: int


class CaseEvent(BaseModel):
    id: int
    event_key: str
    kind: str
    stage: str | None
    actor: str | None
    actor_role: str | None
    payload: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime


class CaseDetail(BaseModel):
    case: CaseSummary
    state: CaseState | None = Field(description="工作流查询结果；工作流暂不可查询时为空")
    events: list[CaseEvent]
    temporal_ui_url: str = Field(description="Temporal Web UI 中的完整事件历史")


class CaseCreated(BaseModel):
    created: bool = Field(description="false：该申请编号已受理过，返回已有案件")
    case_id: str
    workflow_id: str
    state: CaseState | None = Field(description="工作流查询结果；暂不可查询时为空")


class VerificationRequest(BaseModel):
    case_id: str
    township_code: str
    applicant_name: str
    applicant_id_masked: str
    assistance_type: AssistanceType
    requested_at: datetime
    adapter: str
    status: Literal["requested", "answered"]
    answered_by: str | None
    answered_at: datetime | None
    case_deadline: date | None


class VerificationRequestList(BaseModel):
    items: list[VerificationRequest]
    total: int


class CalendarChanged(BaseModel):
    count: int = Field(description="已通知的在办案件数")
    failed: list[str] = Field(description="未能通知的案件（工作流已结束或不存在）")


_SUMMARY_SQL = """
select c.case_id, c.workflow_id, c.assistance_type, c.township_code, t.name as township_name,
       c.village_code, v.name as village_name, c.applicant_name, c.applicant_id_masked, c.channel,
       c.policy_version, c.stage, c.status, c.handled_by, c.accepted_at, c.deadline, c.deadline_provisional,
       c.paused_days, c.overdue, c.relatives_match, c.category, c.monthly_amount_fen, c.decided_at,
       c.closed_at, c.updated_at
from cases c
join places t on t.code = c.township_code
left join places v on v.code = c.village_code
"""

# The actor's jurisdiction as a condition on the row's most precise place (village, else township).
_IN_JURISDICTION = "starts_with(coalesce(c.village_code, c.township_code), {})"
# True if `$1` is the only district: the root of every place, so of every case's place.
_ONLY_ROOT = "select coalesce(bool_and(code = $1), false) from places where level = 'district'"


async def jurisdiction(db: asyncpg.Pool | asyncpg.Connection, place_code: str, param: str = "$1") -> str:
    """`_IN_JURISDICTION`, or for the district that holds every place a condition true of every row that
    still refers to `param`: evaluating the prefix test on 100,000 rows was most of a district-wide list's
    time (bench/findings.md)."""
    if await db.fetchval(_ONLY_ROOT, place_code):
        return f"{param}::text is not null"
    return _IN_JURISDICTION.format(param)


# Up to this many matches a list page is sorted in memory (a few milliseconds) rather than read in index order.
_SORT_AT_MOST = 2000


def _summary(row: asyncpg.Record) -> CaseSummary:
    fen = row["monthly_amount_fen"]
    return CaseSummary(
        **{k: v for k, v in dict(row).items() if k != "monthly_amount_fen"},
        stage_label=STAGE_LABELS.get(row["stage"], row["stage"]),
        monthly_amount=None if fen is None else from_fen(fen),
    )


def case_place(township_code: str, village_code: str | None) -> str:
    return village_code or township_code


async def case_row(db: asyncpg.Pool, case_id: str, actor: Actor) -> asyncpg.Record:
    """The case as the database knows it, if it exists and lies in the actor's jurisdiction."""
    row = await db.fetchrow(_SUMMARY_SQL + "where c.case_id = $1", case_id)
    if row is None:
        raise not_found()
    if not within(actor.place_code, case_place(row["township_code"], row["village_code"])):
        raise forbidden("该案件不在您的辖区内", "out_of_jurisdiction")
    return row


async def _check_places(db: asyncpg.Pool, township_code: str, village_code: str | None) -> None:
    rows = {
        r["code"]: r
        for r in await db.fetch(
            "select code, name, level, parent_code from places where code = any($1::text[])",
            [c for c in (township_code, village_code) if c],
        )
    }
    town = rows.get(township_code)
    if town is None or town["level"] != "township":
        raise ApiError(422, "invalid", f"乡镇（街道）代码不存在：{township_code}")
    if village_code:
        village = rows.get(village_code)
        if village is None or village["level"] != "village":
            raise ApiError(422, "invalid", f"村（社区）代码不存在：{village_code}")
        if village["parent_code"] != township_code:
            raise ApiError(422, "invalid", f"{village['name']}不属于{town['name']}")


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseCreated,
    summary="受理申请（启动审核确认流程）",
    responses={
        **_ERRORS,
        200: {"model": CaseCreated, "description": "该申请编号已受理过，返回已有案件"},
        202: {"model": CaseCreated, "description": "已受理，流程已启动；案件状态稍后可查（未等待或等待超时）"},
    },
)
async def accept(
    application: Application,
    request: Request,
    response: Response,
    actor: Actor = Depends(current_actor),
    wait: Annotated[float, Query(ge=0, le=10, description="最多等待工作流返回案件状态的秒数；0：启动即返回")] = 0.0,
) -> CaseCreated:
    """Accept a dibao/tekun application at the township of household registration and start the 20-working-day
    clock. A repeated application_id returns the existing case instead of opening a second one.

    The application is safe once Temporal has persisted the start, so by default the answer comes then
    (202, `Location` to read the case); waiting for the state costs a worker round trip that a burst of
    applications would queue behind each other."""
    if actor.role is Role.VILLAGE_CADRE:
        raise forbidden("村（社区）干部不能受理申请，代办申请请交乡镇（街道）录入")
    if actor.role not in ACCEPTING_ROLES:
        raise forbidden("只有乡镇（街道）经办人或审批人可以受理申请")
    household = application.household
    if not within(actor.place_code, household.township_code):
        raise forbidden("只能受理本乡镇（街道）户籍居民的申请", "out_of_jurisdiction")
    db = pool(request)
    await _check_places(db, household.township_code, household.village_code)
    temporal = client(request)
    case_id = application.application_id
    with bound_contextvars(case_id=case_id):
        handle, created = await start_review(temporal, ReviewStart(application=application, accepted_by=actor))
        with bound_contextvars(workflow_id=handle.id):
            if not created:
                place = await _existing_place(db, temporal, case_id)
                if place and not within(actor.place_code, place):
                    raise ApiError(409, "application_id_taken", "该申请编号已被其他乡镇（街道）使用")
            state = await query_state(handle, wait=wait) if wait else None
            response.status_code = 200 if not created else (201 if state else 202)
            response.headers["Location"] = f"/api/cases/{case_id}"
            log.info("case accepted" if created else "case already accepted", by=actor.username)
    return CaseCreated(created=created, case_id=case_id, workflow_id=handle.id, state=state)


async def _existing_place(db: asyncpg.Pool, temporal: Client, case_id: str) -> str | None:
    """Where an already accepted case lies, so a repeat from another township learns nothing about it: the
    case row, or before its first activity has written it, the application the workflow was started with."""
    row = await db.fetchrow("select township_code, village_code from cases where case_id = $1", case_id)
    if row:
        return case_place(row["township_code"], row["village_code"])
    start = await started_with(temporal, workflow_id_for(case_id))
    return (
        case_place(start.application.household.township_code, start.application.household.village_code)
        if start
        else None
    )


@router.get("/cases", response_model=CaseList, summary="案件列表（按辖区）", responses=_ERRORS)
async def list_cases(
    request: Request,
    actor: Actor = Depends(case_reader),
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
    db = pool(request)
    params: list[Any] = [actor.place_code]
    where = [await jurisdiction(db, actor.place_code)]

    def add(condition: str, value: Any) -> None:
        params.append(value)
        where.append(condition.format(f"${len(params)}"))

    if township:
        add("c.township_code = {}", township)
    if stage:
        add("c.stage = {}", stage.value)
    if assistance_type:
        add("c.assistance_type = {}", assistance_type.value)
    if overdue is not None:
        add("c.overdue = {}", overdue)
    if deadline_before:
        add("c.deadline <= {}", deadline_before)
    if accepted_from:
        add(f"(c.accepted_at at time zone '{TIMEZONE}')::date >= {{}}", accepted_from)
    if accepted_to:
        add(f"(c.accepted_at at time zone '{TIMEZONE}')::date <= {{}}", accepted_to)
    if q:
        add("starts_with(c.applicant_name, {})", q)
    condition = " and ".join(where)
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot for the count and the page. The count also says where the matches start in
        # deadline order, so the page is read along the (deadline, accepted_at, case_id) index from there;
        # a few matches are sorted instead, as the rows a filter picks (an open stage, a date range) may
        # all lie at one end of that index (bench/RESULTS.md, migration 0009).
        found = await conn.fetchrow(
            "select count(*) as total, min(c.deadline) as first, count(*) filter (where c.deadline is null) as undated "
            f"from cases c where {condition}",
            *params,
        )
        order = "c.deadline asc nulls last"
        if found["total"] <= _SORT_AT_MOST:
            order = "c.deadline + 0 asc nulls last"  # same order; no index matches it, so the planner sorts
        elif found["undated"] == 0 and found["first"] is not None:
            params.append(found["first"])
            condition += f" and c.deadline >= ${len(params)}"  # true of every match: where the walk starts
        # The page's numbers first, then their rows: the rows skipped on the way to a deep page are not
        # joined with their places.
        rows = await conn.fetch(
            f"{_SUMMARY_SQL} where c.case_id = any(array(select c.case_id from cases c where {condition} "
            f"order by {order}, c.accepted_at, c.case_id limit {page_size} offset {(page - 1) * page_size})) "
            "order by c.deadline asc nulls last, c.accepted_at, c.case_id",
            *params,
        )
    return CaseList(items=[_summary(r) for r in rows], total=found["total"], page=page, page_size=page_size)


@router.get("/cases/{case_id}", response_model=CaseDetail, summary="案件详情", responses=_ERRORS)
async def get_case(request: Request, case_id: str = CaseId, actor: Actor = Depends(case_reader)) -> CaseDetail:
    """The database row and event log, and the workflow's live state (deadline, pauses, who is barred)."""
    db = pool(request)
    row = await case_row(db, case_id, actor)
    events = await db.fetch(
        "select id, event_key, kind, stage, actor, actor_role, payload, occurred_at, recorded_at "
        "from case_events where case_id = $1 order by occurred_at, id",
        case_id,
    )
    temporal = client(request)
    settings: Settings = request.app.state.settings
    return CaseDetail(
        case=_summary(row),
        state=await query_state(temporal.get_workflow_handle(row["workflow_id"])),
        events=[CaseEvent(**dict(e)) for e in events],
        temporal_ui_url=f"{settings.temporal_ui_url}/namespaces/{temporal.namespace}/workflows/{row['workflow_id']}",
    )


@router.get(
    "/verification-requests",
    response_model=VerificationRequestList,
    summary="家庭经济状况核对请求（待办队列）",
    responses=_ERRORS,
)
async def verification_requests(
    request: Request,
    actor: Actor = Depends(case_reader),
    status: Literal["requested", "answered"] | None = Query("requested", description="requested：待核对"),
    limit: int = Query(100, ge=1, le=200),
) -> VerificationRequestList:
    """The district verification centre's queue, oldest request first, within the caller's jurisdiction."""
    params: list[Any] = [actor.place_code]
    condition = _IN_JURISDICTION.format("$1")
    if status:
        params.append(status)
        condition += " and r.status = $2"
    db = pool(request)
    base = "from verification_requests r join cases c on c.case_id = r.case_id where " + condition
    total = await db.fetchval("select count(*) " + base, *params)
    rows = await db.fetch(
        "select r.case_id, r.township_code, c.applicant_name, c.applicant_id_masked, c.assistance_type, "
        "r.requested_at, r.adapter, r.status, r.answered_by, r.answered_at, c.deadline as case_deadline "
        f"{base} order by r.requested_at, r.id limit {limit}",
        *params,
    )
    return VerificationRequestList(items=[VerificationRequest(**dict(r)) for r in rows], total=total)


@router.post("/calendar/changed", response_model=CalendarChanged, summary="工作日历已更新：通知在办案件重算时限")
async def calendar_changed(request: Request, actor: Actor = Depends(current_actor)) -> CalendarChanged:
    """After an administrator imports a holiday notice, every open case recomputes its deadline."""
    if actor.role is not Role.ADMIN:
        raise forbidden("只有系统管理员可以发布日历变更")
    count, failed = await announce_calendar_change(client(request), pool(request))
    log.info("calendar change announced", by=actor.username, cases=count, failed=len(failed))
    return CalendarChanged(count=count, failed=failed)
