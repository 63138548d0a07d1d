"""The 12349 desk for township staff and the district's hotline operators: requests waiting for triage,
enquiries to answer, review needs waiting for their case; one request's page with the triage, link-case
and answer forms; registering a request for someone on the phone or at the window; complaints with
accept and conclude; and the district's view of who has not answered.

Every page calls the HTTP API's functions (webapp.frontdoor_api), so both refuse alike.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response

from infra import clock
from rules.needs import NEEDS, Route
from schemas.emergency import EmergencyKind
from schemas.frontdoor import RequestKind
from schemas.staff import Actor
from webapp import frontdoor_api as api
from webapp.auth import pool
from webapp.errors import ApiError
from webapp.ui import bureau_pages
from webapp.ui.action_forms import Form, RowPage, plain_forms, submit
from webapp.ui.render import PageActor, render, render_error

router = APIRouter(include_in_schema=False)

REQUEST_STATUS = {"received": "待分办", "triaged": "办理中", "closed": "已答复"}
NEED_STATUS = {"waiting": "待办", "in_progress": "办理中", "answered": "已答复"}
COMPLAINT_STATUS = {"registered": "待受理", "accepted": "办理中", "concluded": "已办结"}
FINDINGS = {"substantiated": "属实", "partly": "部分属实", "unsubstantiated": "不属实"}
CHANNELS = {"portal": "网上", "hotline": "12349 热线", "window": "窗口"}
REQUEST_FORMS: dict[str, Form] = {
    "triage": (api.TriageBody, api.triage, "分办"),
    "link-case": (api.LinkCaseBody, api.link_case, "关联案件"),
    "answer": (api.AnswerBody, api.answer_enquiry, "答复"),
}
DONE_LABELS = {action: label for action, (_, _, label) in REQUEST_FORMS.items()} | {"new": "登记"}
LABELS = bureau_pages.LABELS | {
    "request_status": REQUEST_STATUS,
    "need_status": NEED_STATUS,
    "complaint_status": COMPLAINT_STATUS,
    "findings": FINDINGS,
    "channels": CHANNELS,
    "kinds": {k.value: k.label for k in RequestKind},
    "needs": NEEDS,
    "Route": Route,
    "emergency_kinds": [(k.value, k.label) for k in EmergencyKind],
}


@router.get("/frontdoor")
async def desk(request: Request, actor: Actor = PageActor) -> Response:
    try:
        lists = {
            waiting: await api.list_requests(request, actor, waiting, None, None, None, None, 1, 200)
            for waiting in ("triage", "answer", "cases")
        }
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    return render(
        request,
        "frontdoor/desk.html",
        LABELS | {"lists": lists, "may_register": actor.role in api.DESK_ROLES, "today": clock.today()},
        actor=actor,
    )


async def _request(request: Request, request_no: str, actor: Actor) -> dict[str, Any]:
    detail = await api.request_detail(request, request_no, actor)
    req = detail.request
    desk_staff = actor.role in api.DESK_ROLES and req.status != "closed"
    needs = detail.state.needs if detail.state else []
    return LABELS | {
        "detail": detail,
        "req": req,
        "need_states": needs,
        "may_triage": desk_staff and req.kind is RequestKind.HELP and req.status == "received",
        "to_link": [n for n in needs if n.route == Route.REVIEW.value and n.status != "answered"] if desk_staff else [],
        "may_answer": desk_staff and req.kind is RequestKind.ENQUIRY,
        "may_see_household": actor.role in api.HOUSEHOLD_ROLES,
    }


REQUEST_PAGE = RowPage(
    "/frontdoor/requests", "request_no", "frontdoor/request.html", _request, REQUEST_FORMS, DONE_LABELS
)
REQUEST_PAGE.install(router)


# ---- registering for a resident (hotline / window) --------------------------------------------------------


async def _new_page(
    request: Request, actor: Actor, values: dict[str, Any], error: str | None = None, status: int = 200
):
    towns = await pool(request).fetch(
        "select code, name from places where level = 'township' and starts_with(code, $1) order by code",
        actor.place_code,
    )
    villages = await pool(request).fetch(
        "select code, name, parent_code from places where level = 'village' and starts_with(code, $1) order by code",
        actor.place_code,
    )
    return render(
        request,
        "frontdoor/new.html",
        LABELS | {"values": values, "error": error, "towns": towns, "villages": villages},
        status=status,
        actor=actor,
    )


@router.get("/frontdoor/new")
async def new_form(request: Request, actor: Actor = PageActor) -> Response:
    if actor.role not in api.DESK_ROLES:
        return render_error(request, 403, "只有乡镇（街道）经办人、审批人或区民政局工作人员可以代为登记", actor)
    return await _new_page(request, actor, {"kind": "help", "needs": []})


@router.post("/frontdoor/new")
async def register(request: Request, actor: Actor = PageActor) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(v).strip() for k, v in form.items() if k not in ("csrftoken", "needs")}
    values["needs"] = [str(n) for n in form.getlist("needs")]

    async def attempt() -> str:
        body = api.StaffRequestIn(
            kind=values.get("kind") or "help",
            needs=values["needs"] if values.get("kind", "help") == "help" else [],
            name=values.get("name", ""),
            id_number=values.get("id_number", ""),
            phone=values.get("phone", ""),
            township_code=values.get("village_code", "")[:9] or values.get("township_code", ""),
            village_code=values.get("village_code") or None,
            address=values.get("address", ""),
            description=values.get("description", ""),
            about_case_id=values.get("about_case_id") or None,
            about_person=values.get("about_person") or None,
        )
        created = await api.register_request(body, request, actor)
        return f"/frontdoor/requests/{created.request_no}?done=new"

    return await submit(attempt, partial(_new_page, request, actor, values))


# ---- complaints -------------------------------------------------------------------------------------------


@router.get("/frontdoor/complaints")
async def complaints(request: Request, status: str = "open", actor: Actor = PageActor) -> Response:
    chosen = status if status in ("open", "concluded") else "open"
    try:
        listing = await api.list_complaints(request, actor, chosen, None, 500)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    return render(request, "frontdoor/complaints.html", LABELS | {"listing": listing, "status": chosen}, actor=actor)


async def _complaint(request: Request, complaint_no: str, actor: Actor) -> dict[str, Any]:
    detail = await api.complaint_detail(request, complaint_no, actor)
    c = detail.complaint
    handler = actor.role in api.DESK_ROLES
    return LABELS | {
        "detail": detail,
        "c": c,
        "may_accept": handler and c.status == "registered",
        "may_conclude": handler and c.status == "accepted",
    }


COMPLAINT_PAGE = RowPage(
    "/frontdoor/complaints", "complaint_no", "frontdoor/complaint.html", _complaint, plain_forms(api.COMPLAINTS)
)
COMPLAINT_PAGE.install(router)


# ---- the district: who has not answered -------------------------------------------------------------------


@router.get("/frontdoor/district")
async def district(request: Request, actor: Actor = PageActor) -> Response:
    try:
        summary = await api.overview(request, actor)
        late = await api.list_referrals(request, actor, None, "open", True, 200)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    open_complaints = await api.list_complaints(request, actor, "open", None, 200)
    return render(
        request,
        "frontdoor/district.html",
        LABELS
        | {
            "summary": summary,
            "late": late.items,
            "late_complaints": [c for c in open_complaints.items if c.overdue],
        },
        actor=actor,
    )
