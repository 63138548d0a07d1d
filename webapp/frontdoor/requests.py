"""12349 requests: register one (from the portal, the hotline or a township window: an intake workflow under a
fresh number), the desk's lists, one request's detail, and the desk's actions on it (triage, link a review
case, answer an enquiry: rules.frontdoor_actions), with what the web app checks of them first. The API and the
pages both call these."""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from db import cases_repo, frontdoor_repo, policy_repo, request_identity_repo
from infra.clock import today
from rules.access import within
from rules.actions import ActorView
from rules.frontdoor_actions import (
    REQUEST_ACTIONS,
    RequestAction,
    RequestView,
    available_request_actions,
    request_refusal,
    review_needs,
)
from rules.needs import BY_CODE, Route
from schemas.emergency import EmergencyKind
from schemas.frontdoor import (
    REQUEST_PAYLOADS,
    Channel,
    FrontDoorRequest,
    IntakeNames,
    IntakeStart,
    IntakeState,
    LinkCase,
    NeedState,
    RequestKind,
    Triage,
    intake_workflow_id,
)
from schemas.identity import mask_name, mask_phone
from schemas.policy import FrontDoorPolicy
from schemas.staff import Actor, Role
from webapp import authz
from webapp.errors import ApiError, forbidden, refuse_personal_number
from webapp.frontdoor.models import (
    IdentityVerified,
    LogEntry,
    RequestCreated,
    RequestDetail,
    RequestList,
    StaffRequestIn,
    VerifyIdentityIn,
)
from webapp.frontdoor.rows import (
    about,
    case_complained_of,
    check_needs,
    check_places,
    complaint_summary,
    district_reason,
    new_request_no,
    reader,
    referral_summary,
    request_row,
    request_summary,
    sees_complainant,
)
from webapp.frontdoor.subjects import Subject, history
from webapp.workflow_calls import connected, query, start_fresh

log = structlog.get_logger("webapp")


async def front_door_policy(db: asyncpg.Pool) -> FrontDoorPolicy:
    """The front door's time limits in force today, to tell the resident what to expect."""
    async with db.acquire() as conn:
        return (await policy_repo.in_force(conn, today())).front_door


async def submit_request(
    db: asyncpg.Pool, temporal: Client | None, body: FrontDoorRequest, channel: Channel, received_by: Actor | None
) -> RequestCreated:
    """Start the intake under a fresh number and wait briefly for the workflow to record it (answer date)."""
    await check_places(db, body.township_code, body.village_code)
    check_needs(body.needs)
    # a case number means something on a complaint only, and there only a case of the complaint's township
    complained_of = reason = None
    if body.kind is RequestKind.COMPLAINT:
        complained_of = await case_complained_of(db, body.about_case_id, body.township_code)
        reason = await district_reason(db, body.about_person, body.to_district)
    body = body.model_copy(update={"about_case_id": complained_of, "to_district": reason is not None})
    if not body.village_code and any(BY_CODE[n].route is Route.EMERGENCY for n in body.needs):
        raise ApiError(422, "invalid", "突发急难由村（社区）先行救助，请选择所在村（社区）")
    client = connected(temporal)
    request_no = await start_fresh(
        client,
        IntakeNames.WORKFLOW,
        new_request_no,
        lambda no: IntakeStart(
            request_no=no, request=body, channel=channel, received_by=received_by, district_reason=reason
        ),
        intake_workflow_id,
    )
    with bound_contextvars(request_no=request_no):
        log.info("front-door request received", kind=body.kind.value, channel=channel.value)
    due = None
    for _ in range(50):
        due = await frontdoor_repo.answer_due(db, request_no)
        if due is not None:
            break
        await asyncio.sleep(0.1)
    state = await query(client, intake_workflow_id(request_no), IntakeState)
    return RequestCreated(
        request_no=request_no,
        answer_due=due or (state.answer_due if state else None),
        answer_working_days=(await front_door_policy(db)).answer_working_days,
        state=state,
    )


async def register_request(
    db: asyncpg.Pool, temporal: Client | None, body: StaffRequestIn, actor: Actor
) -> RequestCreated:
    """The hotline operator (district officer) registers for anyone in the district, a township window for
    its own township; the resident gets the same number and answer date as online."""
    authz.require(actor, "request.register")
    if not within(actor.place_code, body.township_code):
        raise forbidden("只能登记本乡镇（街道）居民的求助", "out_of_jurisdiction")
    channel = Channel(body.channel or ("hotline" if actor.role is Role.DISTRICT_OFFICER else "window"))
    plain = FrontDoorRequest.model_validate(body.model_dump(exclude={"channel"}))
    return await submit_request(db, temporal, plain, channel, actor)


async def list_requests(
    db: asyncpg.Pool,
    actor: Actor,
    *,
    waiting: str | None = None,
    status: str | None = None,
    kind: RequestKind | None = None,
    township: str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> RequestList:
    """Oldest first: the front door answers in the order people asked."""
    authz.require(actor, "request.read")
    selected = frontdoor_repo.RequestFilter(
        actor.place_code, waiting, status, kind.value if kind else None, township, q or None, reader(actor)
    )
    rows, total = await frontdoor_repo.requests(db, selected, limit=page_size, offset=(page - 1) * page_size)
    items = [request_summary(r, actor) for r in rows]
    return RequestList(items=items, total=total, page=page, page_size=page_size)


CONTENT_WITHHELD = "（投诉内容仅由承办单位查看）"


def _withheld(log: list, content: str) -> list:
    """The log (the rows' entries, or the workflow's) with a complaint's content left out of its summaries (the
    request's record quotes it)."""

    def cut(summary: str) -> str:
        return summary.replace(content, CONTENT_WITHHELD) if content else summary

    if log and isinstance(log[0], LogEntry):  # the rows' entries keep the summary in their payload
        return [
            e.model_copy(update={"payload": e.payload | {"summary": cut(e.payload.get("summary", ""))}}) for e in log
        ]
    return [e | {"summary": cut(e.get("summary", ""))} for e in log]


async def request_detail(db: asyncpg.Pool, temporal: Client | None, request_no: str, actor: Actor) -> RequestDetail:
    """The request (a complaint about the caller: 404); a complaint's requester known to its handlers only."""
    row = await request_row(db, request_no, actor)
    referrals = await frontdoor_repo.referrals_of_requests(db, [request_no])
    complaints = [c for c in await frontdoor_repo.complaints_about(db, [request_no]) if not about(actor, c)]
    seen = await history(db, temporal, REQUESTS, row)
    identity = sees_complainant(actor, row)
    if not identity:  # what a complaint says may tell who made it: its handlers read it, others see it exists
        seen["log"] = _withheld(seen["log"], row.description)
        if seen["state"] is not None:
            kept = {"name": mask_name(row.name), "log": _withheld(seen["state"].log, row.description)}
            seen["state"] = seen["state"].model_copy(update=kept)
    return RequestDetail(
        request=request_summary(row, actor),
        id_number=row.id_number if identity and authz.may(actor, "ids.full") else None,
        phone=row.phone if identity else mask_phone(row.phone),
        address=row.address if identity else "",
        description=row.description if identity else CONTENT_WITHHELD,
        received_by=row.received_by,
        answer=row.answer,
        identity_verified_by=row.identity_verified_by,
        identity_verified_at=row.identity_verified_at,
        identity_note=row.identity_note,
        referrals=[referral_summary(r) for r in referrals],
        complaints=[complaint_summary(c, actor) for c in complaints],
        **seen,
    )


async def verify_identity(
    db: asyncpg.Pool, temporal: Client | None, request_no: str, actor: Actor, body: VerifyIdentityIn
) -> IdentityVerified:
    """Staff who may handle the request confirm that the person it names filed it (a portal request in someone
    else's name is unverified until then, and not the person's in the household view); a fact of the row, not
    of the workflow. Verified already: 409 `already_verified`."""
    authz.require(actor, "request.verify_identity")
    row = await request_row(db, request_no, actor)
    if not authz.in_scope(actor, "request.verify_identity", row.township_code):
        raise forbidden("该诉求不在您的辖区内", "out_of_jurisdiction")
    at = await request_identity_repo.verify(db, request_no, actor.username, body.note)
    if at is None:
        raise ApiError(409, "already_verified", "该诉求的身份已核实")
    with bound_contextvars(request_no=request_no):
        log.info("front-door request identity verified", by=actor.username)
    return IdentityVerified(
        request_no=request_no,
        identity_verified=True,
        identity_verified_by=actor.username,
        identity_verified_at=at,
        identity_note=body.note,
    )


# ---- the desk's actions --------------------------------------------------------------------------------


async def check_triage(db: asyncpg.Pool, request_no: str, actor: Actor, payload: Triage) -> None:
    """Each need becomes a review case to open, an emergency event, or a referral to the bureau that owns it."""
    check_needs(payload.needs)
    if payload.emergency_kind not in {k.value for k in EmergencyKind}:
        raise ApiError(422, "invalid", f"急难类型无效：{payload.emergency_kind}")


async def check_link(db: asyncpg.Pool, request_no: str, actor: Actor, payload: LinkCase) -> None:
    """The case must be a review case of the right kind that has the requester among its household members."""
    refuse_personal_number(payload.case_id, "case_id")
    need = BY_CODE.get(payload.need)
    if need is None or need.route is not Route.REVIEW:
        raise ApiError(422, "invalid", "只有低保、特困事项需要关联审核案件")
    row = await request_row(db, request_no, actor)
    case = await cases_repo.case_for_person(db, payload.case_id, row.id_number)
    # A case outside the caller's jurisdiction is answered as one that does not exist: nothing about it is told.
    if case is None or not within(actor.place_code, case.village_code or case.township_code):
        raise ApiError(422, "invalid", f"审核案件不存在：{payload.case_id}")
    if case.assistance_type != need.assistance_type:
        raise ApiError(422, "invalid", f"该案件不是{need.help_kind}案件")
    if not case.member:
        raise ApiError(422, "invalid", "该案件的家庭成员中没有此求助人")


REQUESTS = Subject(
    "request",
    "request_no",
    request_row,
    IntakeState,
    REQUEST_ACTIONS,
    REQUEST_PAYLOADS,
    {RequestAction.TRIAGE: check_triage, RequestAction.LINK_CASE: check_link},
)


def request_view(detail: RequestDetail) -> RequestView:
    """The request as the rules its workflow's validators apply see it (rules.frontdoor_actions)."""
    req = detail.request
    return RequestView(
        status=req.status,
        kind=req.kind.value,
        township=req.township_code,
        ready=req.answer_due is not None,
        answered=detail.answer is not None,
        review_needs=review_needs(detail.state.needs if detail.state else []),
    )


def actions_for(detail: RequestDetail, actor: Actor) -> tuple[list[RequestAction], list[NeedState]]:
    """The actions `actor` may take on the request now, and the review needs they may link a case for."""
    view, who = request_view(detail), ActorView.of(actor)
    needs = detail.state.needs if detail.state else []
    to_link = [n for n in needs if request_refusal(RequestAction.LINK_CASE, view, who, need=n.code) is None]
    return available_request_actions(view, who), to_link
