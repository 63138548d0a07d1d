"""The 12349 desk for township staff and the district's hotline operators: requests waiting for triage,
enquiries to answer, review needs waiting for their case; one request's page with the triage, link-case
and answer forms; registering a request for someone on the phone or at the window; complaints with
accept and conclude; and the district's view of who has not answered.

Every page calls the functions the HTTP API calls (the feature's service modules), so both refuse alike.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import asyncpg
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from temporalio.client import Client

from db import places_repo
from infra import clock
from schemas.staff import Actor
from webapp import authz
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.documents.panel import panel
from webapp.errors import ApiError
from webapp.frontdoor import requests
from webapp.frontdoor.complaints import COMPLAINTS, complaint_detail, list_complaints
from webapp.frontdoor.complaints import actions_for as complaint_actions
from webapp.frontdoor.labels import DESK_LABELS as LABELS
from webapp.frontdoor.models import StaffRequestIn, VerifyIdentityIn
from webapp.frontdoor.overview import overview
from webapp.frontdoor.referrals import list_referrals
from webapp.frontdoor.row_pages import RowPage, action_forms, submit
from webapp.frontdoor.waiting import complaint_list_lines, request_lines, request_list_lines
from webapp.render import HIDDEN_FIELDS, Feedback, refused, render, render_error

router = APIRouter(include_in_schema=False)

NEW = {"new": "登记"}  # what leads to a request's page besides its actions


@router.get("/frontdoor")
async def desk(request: Request, actor: PageActor, db: Db) -> Response:
    try:
        lists = {
            waiting: await requests.list_requests(db, actor, waiting=waiting, page_size=200)
            for waiting in ("triage", "answer", "cases")
        }
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    return render(
        request,
        "frontdoor/desk.html",
        LABELS
        | {
            "lists": lists,
            "waiting": await request_list_lines(db, [r for listed in lists.values() for r in listed.items]),
            "may_register": authz.may(actor, "request.register"),
            "today": clock.today(),
        },
        actor=actor,
    )


async def _request(db: asyncpg.Pool, temporal: Client | None, request_no: str, actor: Actor) -> dict[str, Any]:
    detail = await requests.request_detail(db, temporal, request_no, actor)
    actions, to_link = requests.actions_for(detail, actor)
    return LABELS | {
        "detail": detail,
        "req": detail.request,
        "need_states": detail.state.needs if detail.state else [],
        "actions": actions,
        "to_link": to_link,
        "may_see_household": authz.may(actor, "household.view"),
        "may_verify": authz.may(actor, "request.verify_identity"),
        "documents_panel": await panel(db, temporal, "request", request_no, actor),
        "waiting": await request_lines(db, detail),
    }


VERIFY = {"verify-identity": (VerifyIdentityIn, requests.verify_identity, "核实身份")}  # no workflow: a row's fact
REQUEST_PAGE = RowPage(
    "/frontdoor/requests",
    "request_no",
    "frontdoor/request.html",
    _request,
    action_forms(requests.REQUESTS) | VERIFY,
    NEW,
)
REQUEST_PAGE.install(router)


# ---- registering for a resident (hotline / window) --------------------------------------------------------


async def _new_page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    feedback: Feedback,
    errors: dict[str, str] | None = None,
) -> Response:
    """The form; `errors`: a refusal of one field (ApiError.field), shown beside it as well."""
    towns = await places_repo.places_at_level(db, "township", actor.place_code)
    villages = await places_repo.places_at_level(db, "village", actor.place_code)
    return render(
        request,
        "frontdoor/new.html",
        LABELS | {**feedback.context("values", "error"), "errors": errors or {}, "towns": towns, "villages": villages},
        status=feedback.status,
        actor=actor,
    )


@router.get("/frontdoor/new")
async def new_form(request: Request, actor: PageActor, db: Db) -> Response:
    if denied := refused(request, actor, "request.register"):
        return denied
    return await _new_page(request, actor, db, Feedback(values={"kind": "help", "needs": []}))


@router.post("/frontdoor/new")
async def register(request: Request, actor: PageActor, db: Db, temporal: MaybeTemporal) -> Response:
    form = await request.form()
    values: dict[str, Any] = {k: str(v).strip() for k, v in form.items() if k not in HIDDEN_FIELDS | {"needs"}}
    values["needs"] = [str(n) for n in form.getlist("needs")]

    async def attempt() -> str:
        body = StaffRequestIn(
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
        created = await requests.register_request(db, temporal, body, actor)
        return f"/frontdoor/requests/{created.request_no}?done=new"

    def again(exc: ValidationError | ApiError) -> Awaitable[Response]:
        field = {exc.field: exc.message} if isinstance(exc, ApiError) and exc.field else {}
        return _new_page(request, actor, db, Feedback.refused(exc, values), field)

    return await submit(attempt, again)


# ---- complaints -------------------------------------------------------------------------------------------


@router.get("/frontdoor/complaints")
async def complaints(request: Request, actor: PageActor, db: Db, status: str = "open") -> Response:
    chosen = status if status in ("open", "concluded") else "open"
    try:
        listing = await list_complaints(db, actor, chosen, None, 500)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    waiting = await complaint_list_lines(db, listing.items)
    return render(
        request,
        "frontdoor/complaints.html",
        LABELS | {"listing": listing, "status": chosen, "waiting": waiting},
        actor=actor,
    )


async def _complaint(db: asyncpg.Pool, temporal: Client | None, complaint_no: str, actor: Actor) -> dict[str, Any]:
    detail = await complaint_detail(db, temporal, complaint_no, actor)
    c = detail.complaint
    return LABELS | {"detail": detail, "c": c, "actions": complaint_actions(c, actor)}


COMPLAINT_PAGE = RowPage(
    "/frontdoor/complaints", "complaint_no", "frontdoor/complaint.html", _complaint, action_forms(COMPLAINTS)
)
COMPLAINT_PAGE.install(router)


# ---- the district: who has not answered -------------------------------------------------------------------


@router.get("/frontdoor/district")
async def district(request: Request, actor: PageActor, db: Db) -> Response:
    try:
        summary = await overview(db, actor)
        late = await list_referrals(db, actor, None, "open", True, 200)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    open_complaints = await list_complaints(db, actor, "open", None, 200)
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
