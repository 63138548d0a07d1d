"""The 12349 front door over HTTP: requests registered for a resident, triage into kinds of help, referrals to
the partner bureaus (their inbox and their webhook callback), complaints, and the district's overview.

Lists and reads come from the tables the workflows keep; every action is one route, named as its workflow update
is in rules.frontdoor_actions, whose rules the validator applies with the last word on role, bureau and stage.
The work is done
in the feature's service modules (requests, referrals, complaints, overview), which the pages call too.
This module has no `from __future__ import annotations`: the action routes use derived body classes that
FastAPI must see as objects, not names.
"""

from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from schemas import webhook
from schemas.frontdoor import REQUEST_NO, ReferralState, RequestKind
from schemas.staff import Bureau
from webapp import access_log
from webapp.access_log import Kind
from webapp.deps import CurrentActor, Db, MaybeTemporal
from webapp.frontdoor import complaints, referrals, requests
from webapp.frontdoor.models import (
    ERRORS,
    CallbackIn,
    ComplaintCreated,
    ComplaintDetail,
    ComplaintIn,
    ComplaintList,
    IdentityVerified,
    Overview,
    ReferralDetail,
    ReferralList,
    RequestCreated,
    RequestDetail,
    RequestList,
    StaffRequestIn,
    VerifyIdentityIn,
)
from webapp.frontdoor.overview import overview as district_overview
from webapp.frontdoor.subjects import Subject, perform
from webapp.payloads import body_model

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


PathId = Callable[..., Awaitable[str]]  # a dependency reading a row's path parameter


router = APIRouter(prefix="/api", tags=["12349 一门受理"])


def _action_route(subject: Subject, action: str, path: str, path_id: PathId) -> None:
    """`POST {path}/{action}`: one of the subject's actions on the row whose number `path_id` reads, with the
    action's payload (less its actor, the logged-in caller) as its body. Every action keeps its own route, and
    its own entry in the API docs."""
    spec, model, check = subject.actions[action], subject.payloads[action], subject.checks.get(action)
    body_type = body_model(model)

    async def act(
        body: body_type, actor: CurrentActor, db: Db, temporal: MaybeTemporal, subject_id: str = Depends(path_id)
    ):
        return await perform(subject, action, db, temporal, subject_id, actor, body)

    router.add_api_route(
        f"{path}/{action}",
        act,
        methods=["POST"],
        responses=ERRORS,
        response_model=subject.state,
        summary=spec.label,
        description=(f"{check.__doc__}\n\n" if check and check.__doc__ else "")
        + f"{spec.label}（请求体为 {model.__name__}，办理人由登录身份确定）",
        name=f"{subject.name}_{action.replace('-', '_')}",
    )


def _detail_route(
    path: str,
    path_id: PathId,
    read: Callable[..., Awaitable[object]],
    kind: Kind,
    *,
    name: str,
    response_model: type,
    summary: str,
) -> None:
    """`GET {path}`: one row's detail, `read(db, temporal, number, actor)` (which checks role and jurisdiction),
    its reading recorded in the access log."""

    async def detail(
        request: Request, actor: CurrentActor, db: Db, temporal: MaybeTemporal, subject_id: str = Depends(path_id)
    ):
        found = await read(db, temporal, subject_id, actor)
        await access_log.record(request, actor, kind, subject_id)
        return found

    router.add_api_route(
        path, detail, methods=["GET"], response_model=response_model, summary=summary, responses=ERRORS, name=name
    )


# Each kind of row's detail: how it is read, its access-log kind, its response model and its summary in the docs.
_DETAILS: dict[str, tuple[Callable[..., Awaitable[object]], Kind, type, str]] = {
    "request": (requests.request_detail, Kind.REQUEST, RequestDetail, "求助详情（状态与记录）"),
    "referral": (referrals.referral_detail, Kind.REFERRAL, ReferralDetail, "转介详情"),
    "complaint": (complaints.complaint_detail, Kind.COMPLAINT, ComplaintDetail, "投诉详情"),
}


def _subject_routes(subject: Subject, path: str, path_id: PathId) -> None:
    """`GET {path}`, the row's detail (`get_{subject.name}`), and `POST {path}/{action}` for each of its actions."""
    read, kind, model, summary = _DETAILS[subject.name]
    _detail_route(path, path_id, read, kind, name=f"get_{subject.name}", response_model=model, summary=summary)
    for action in subject.actions:
        _action_route(subject, action, path, path_id)


# ---- requests ---------------------------------------------------------------------------------------


@router.post(
    "/frontdoor/requests",
    status_code=201,
    response_model=RequestCreated,
    summary="代为登记求助、咨询或投诉（12349 热线 / 乡镇窗口）",
    responses=ERRORS,
)
async def register_request(body: StaffRequestIn, actor: CurrentActor, db: Db, temporal: MaybeTemporal):
    """The hotline operator (district officer) registers for anyone in the district, a township window for
    its own township; the resident gets the same number and answer date as online."""
    return await requests.register_request(db, temporal, body, actor)


@router.get(
    "/frontdoor/requests", response_model=RequestList, summary="求助、咨询、投诉登记（按辖区）", responses=ERRORS
)
async def list_requests(
    actor: CurrentActor,
    db: Db,
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
    return await requests.list_requests(
        db, actor, waiting=waiting, status=status, kind=kind, township=township, q=q, page=page, page_size=page_size
    )


_subject_routes(requests.REQUESTS, "/frontdoor/requests/{request_no}", _request_no)


@router.post(
    "/frontdoor/requests/{request_no}/verify-identity",
    response_model=IdentityVerified,
    summary="核实身份（确认为本人提交）",
    responses=ERRORS,
)
async def verify_identity(
    body: VerifyIdentityIn, actor: CurrentActor, db: Db, temporal: MaybeTemporal, request_no: str = RequestNo
):
    """A portal request filed under someone's ID number is unverified, and not listed as theirs in the
    household view, until staff who may handle it confirm it (e.g. by calling the person back); 409
    `already_verified` the second time."""
    return await requests.verify_identity(db, temporal, request_no, actor, body)


# ---- referrals --------------------------------------------------------------------------------------


@router.get("/referrals", response_model=ReferralList, summary="转介（部门收件箱 / 区级督办）", responses=ERRORS)
async def list_referrals(
    actor: CurrentActor,
    db: Db,
    bureau: Bureau | None = Query(None, description="部门（区级用户筛选）"),
    status: Literal["open", "delivered", "accepted", "info_requested", "answered"] | None = Query(
        "open", description="open：未报告结果"
    ),
    overdue: bool | None = Query(None, description="只看超期或已上报区民政局的"),
    limit: int = Query(200, ge=1, le=500),
) -> ReferralList:
    """Bureau staff see their own bureau's referrals, townships theirs, the district all; nearest deadline first."""
    return await referrals.list_referrals(db, actor, bureau, status, overdue, limit)


_subject_routes(referrals.REFERRALS, "/referrals/{referral_id}", _referral_id)


@router.post(
    "/referrals/{referral_id}/callback",
    response_model=ReferralState,
    summary="部门系统回调（Webhook 对接：接收或报告结果）",
    responses=ERRORS,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": CallbackIn.model_json_schema()}}},
        "parameters": [
            {
                "name": webhook.SIGNATURE_HEADER,
                "in": "header",
                "required": True,
                "schema": {"type": "string"},
                "description": "sha256=<以对接密钥对“方法\\n路径\\n时间戳\\n随机数\\n请求体SHA-256”计算的 HMAC-SHA256>",
            },
            {
                "name": webhook.TIMESTAMP_HEADER,
                "in": "header",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"},
                "description": "签名时间（Unix 秒），与服务器时间相差不得超过 5 分钟",
            },
            {
                "name": webhook.NONCE_HEADER,
                "in": "header",
                "required": True,
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
                "description": "每次请求新生成的随机数，重复使用即视为重放",
            },
        ],
    },
)
async def callback(request: Request, db: Db, temporal: MaybeTemporal, referral_id: str = ReferralId):
    """For bureaus on the webhook adapter; no log-in, the signature with the endpoint's secret is the proof
    (README "Bureau webhook"). Unknown referrals, bureaus without an active endpoint and bad signatures all get
    the same 401 `bad_signature`; a timestamp more than 5 minutes off 401 `stale`; a nonce used before 401
    `replayed`."""
    raw = await request.body()
    headers = request.headers
    given = webhook.Signed(
        headers.get(webhook.SIGNATURE_HEADER, ""),
        headers.get(webhook.TIMESTAMP_HEADER, ""),
        headers.get(webhook.NONCE_HEADER, ""),
    )
    return await referrals.callback(db, temporal, referral_id, raw, given)


# ---- complaints -------------------------------------------------------------------------------------


@router.post("/complaints", status_code=201, response_model=ComplaintCreated, summary="登记投诉", responses=ERRORS)
async def register_complaint(
    body: ComplaintIn, actor: CurrentActor, db: Db, temporal: MaybeTemporal, response: Response
) -> ComplaintCreated:
    """Assigned to the township concerned, or to the district (to_district, e.g. about the township's leaders, or
    naming a person whom no user matches: webapp.frontdoor.rows.district_reason); the workflow makes sure the
    person complained about never handles it. 202 with no dates: registered, but its workflow has not recorded it
    yet (the number stands; its dates follow on the complaint's page)."""
    created = await complaints.register_complaint(db, temporal, body, actor)
    if created.accept_due is None:
        response.status_code = 202
    return created


@router.get("/complaints", response_model=ComplaintList, summary="投诉（按承办单位）", responses=ERRORS)
async def list_complaints(
    actor: CurrentActor,
    db: Db,
    status: Literal["open", "registered", "accepted", "concluded"] | None = Query("open"),
    unit: str | None = Query(None, pattern=r"^\d{6}(\d{3})?$", description="承办单位代码"),
    limit: int = Query(200, ge=1, le=500),
) -> ComplaintList:
    """Complaints the caller's unit handles, never those about the caller; the nearest deadline first."""
    return await complaints.list_complaints(db, actor, status, unit, limit)


_subject_routes(complaints.COMPLAINTS, "/complaints/{complaint_no}", _complaint_no)


# ---- the district's view ----------------------------------------------------------------------------


@router.get("/frontdoor/overview", response_model=Overview, summary="区级督办：谁还没有答复", responses=ERRORS)
async def overview(actor: CurrentActor, db: Db) -> Overview:
    return await district_overview(db, actor)
