"""The public 12349 portal (no log-in): apply for help in plain words, ask, complain, and check the status
of one's own request with its number, ID number and phone.

Nothing here shows anything that the person at the keyboard did not type in themselves, except the
status of the one request whose number, ID number and phone all match. Failed status look-ups are
rate-limited per IP address and per request number, so numbers cannot be tried one after another.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse
from pydantic import ValidationError
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from db import frontdoor_repo, places_repo, throttle_repo
from infra import clock
from rules.access import DISTRICT_CODE
from rules.needs import BY_CODE, NEEDS, Route
from schemas.frontdoor import REQUEST_NO, Channel, FrontDoorRequest, IntakeState, RequestKind, intake_workflow_id
from schemas.identity import validate_phone, validate_resident_id
from schemas.staff import BUREAU_LABELS
from webapp.deps import Db, MaybeTemporal
from webapp.errors import ApiError, chinese_message, field_message, missing_message
from webapp.frontdoor.requests import front_door_policy, submit_request
from webapp.portal import limits, objections
from webapp.render import render
from webapp.workflow_calls import connected, query

log = structlog.get_logger("webapp")
router = APIRouter(prefix="/portal", include_in_schema=False)

RECEIPT_AGE = 24 * 3600  # the receipt page stays reachable for a day after submitting
FAILED_LOOKUPS = parse("5/10 minutes")
FORMS = {RequestKind.HELP: "apply", RequestKind.ENQUIRY: "ask", RequestKind.COMPLAINT: "complain"}
FIELDS = ("name", "id_number", "phone", "township_code", "village_code", "address", "description")


async def lookups_blocked(db: asyncpg.Pool, ip: str, request_no: str | None) -> bool:
    """Failed status look-ups are limited per IP and per request number, counted in PostgreSQL so that
    every web replica applies the same limit."""
    keys = [("portal-ip", ip)] + ([("portal-no", request_no)] if request_no else [])
    return not all([await throttle_repo.test(db, FAILED_LOOKUPS, *k) for k in keys])


async def lookup_failed(db: asyncpg.Pool, ip: str, request_no: str) -> None:
    await throttle_repo.hit(db, FAILED_LOOKUPS, "portal-ip", ip)
    await throttle_repo.hit(db, FAILED_LOOKUPS, "portal-no", request_no)


def _receipts(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.keys.secret, salt="jiuzhu.portal-receipt")


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _towns(db: asyncpg.Pool) -> list[asyncpg.Record]:
    return await places_repo.places_at_level(db, "township", DISTRICT_CODE)


async def _villages(db: asyncpg.Pool, township_code: str) -> list[asyncpg.Record]:
    """The villages of a township; none for anything that is not a township's code (9 digits)."""
    if not re.fullmatch(r"\d{9}", township_code):
        return []
    return await places_repo.places_at_level(db, "village", township_code)


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return render(request, template, {"needs": NEEDS, "bureaus": BUREAU_LABELS} | context, status=status)


@router.get("")
async def home(request: Request) -> Response:
    return _page(request, "portal/home.html", {})


async def _form(
    request: Request,
    db: asyncpg.Pool,
    kind: RequestKind,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
    notice: objections.NoticeConcerned | None = None,
) -> HTMLResponse:
    return _page(
        request,
        f"portal/{FORMS[kind]}.html",
        {
            "kind": kind,
            "values": values,
            "errors": errors or {},
            "towns": await _towns(db),
            "villages": await _villages(db, values.get("township_code", "")),
            "days": (await front_door_policy(db)).answer_working_days,
            "notice": notice.shown if notice else None,
        },
        status=status,
    )


@router.get("/villages")
async def villages(request: Request, db: Db, township_code: str = Query("", max_length=9)) -> Response:
    """The village select for the chosen township (htmx swaps it in; without script the form still works)."""
    return _page(request, "portal/_villages.html", {"villages": await _villages(db, township_code), "values": {}})


def _field_errors(exc: ValidationError | None, kind: RequestKind, values: dict[str, Any]) -> dict[str, str]:
    """Per field, what to fix: an empty required field asks for itself, the rest say what is wrong."""
    found: dict[str, str] = {}
    if kind is RequestKind.HELP and not values["needs"]:
        found["needs"] = missing_message("needs")
    for e in exc.errors(include_url=False, include_input=False) if exc else []:
        field = str(e["loc"][0]) if e.get("loc") else "form"
        if field == "form" and str(e.get("msg", "")).endswith("请至少选择一项求助事项"):
            field = "needs"  # the model's own check, shown at the checkboxes
        if field in FIELDS and not values.get(field) and not (field == "id_number" and kind is RequestKind.ENQUIRY):
            found.setdefault(field, missing_message(field))
        found.setdefault(field, field_message(e) if field != "form" else chinese_message(e))
    return found


async def _submit(
    request: Request,
    db: asyncpg.Pool,
    temporal: Client | None,
    kind: RequestKind,
    form: dict[str, Any],
    needs: list[str],
) -> Response:
    fields = (*FIELDS, "about_case_id", "about_person", "notice", "to_district")
    values = {k: str(form.get(k, "")).strip() for k in fields}
    values["needs"] = needs
    notice = None
    if kind is RequestKind.COMPLAINT and values["notice"]:  # an objection from a row of the public notice list
        try:
            notice = await objections.resolve(request, db, values["notice"])
        except objections.BadReference as exc:
            values["notice"] = ""
            return await _form(request, db, kind, values, {"form": exc.message}, status=422)
        values["about_case_id"] = notice.case_id  # linked as the case's number typed in would link it
        if values["township_code"] != notice.township_code:
            errors = {"township_code": objections.other_township(notice)}
            return await _form(request, db, kind, values, errors, status=422, notice=notice)
    ip = _ip(request)
    if await limits.address_blocked(db, request, ip):
        return _too_many(request, ip, "address")
    try:
        body = FrontDoorRequest(
            kind=kind,
            needs=needs if kind is RequestKind.HELP else [],
            name=values["name"],
            id_number=values["id_number"] or (None if kind is RequestKind.ENQUIRY else ""),  # a question needs none
            phone=values["phone"],
            township_code=values["township_code"],
            village_code=values["village_code"] or None,
            address=values["address"],
            description=values["description"],
            about_case_id=values["about_case_id"] or None,
            about_person=values["about_person"] or None,
            to_district=kind is RequestKind.COMPLAINT and values["to_district"] == "1",
        )
    except ValidationError as exc:
        return await _form(request, db, kind, values, _field_errors(exc, kind, values), status=422, notice=notice)
    if not await limits.count(db, request, ip, body.id_number or f"phone:{body.phone}"):
        return _too_many(request, ip, "id_number")
    try:
        created = await submit_request(db, temporal, body, Channel.PORTAL, None)
    except ApiError as exc:
        errors = {exc.field or "form": exc.message}
        return await _form(request, db, kind, values, errors, status=exc.status, notice=notice)
    token = _receipts(request).dumps(created.request_no)
    return RedirectResponse(f"/portal/done?t={token}", status_code=303)


def _too_many(request: Request, ip: str, which: str) -> HTMLResponse:
    with bound_contextvars(ip=ip):
        log.warning("portal submissions limited", by=which)
    return _page(request, "portal/too_many.html", limits.words(request), status=429)


@router.get("/apply")
async def apply_form(request: Request, db: Db) -> Response:
    return await _form(request, db, RequestKind.HELP, {"needs": []})


@router.post("/apply")
async def apply(request: Request, db: Db, temporal: MaybeTemporal) -> Response:
    form = await request.form()
    needs = [str(n) for n in form.getlist("needs")]
    return await _submit(request, db, temporal, RequestKind.HELP, dict(form), needs)


@router.get("/ask")
async def ask_form(request: Request, db: Db) -> Response:
    return await _form(request, db, RequestKind.ENQUIRY, {})


@router.post("/ask")
async def ask(request: Request, db: Db, temporal: MaybeTemporal) -> Response:
    return await _submit(request, db, temporal, RequestKind.ENQUIRY, dict(await request.form()), [])


@router.get("/complain")
async def complain_form(request: Request, db: Db, notice: str = Query("", max_length=400)) -> Response:
    """The complaint form; from a row of the public notice list (`notice`: its opaque reference), an objection to
    that household's notice, which names it as the notice does and carries the reference on."""
    if not notice:
        return await _form(request, db, RequestKind.COMPLAINT, {})
    try:
        concerned = await objections.resolve(request, db, notice)
    except objections.BadReference as exc:
        return await _form(request, db, RequestKind.COMPLAINT, {}, {"form": exc.message}, status=422)
    values = {"notice": notice, "township_code": concerned.township_code}
    return await _form(request, db, RequestKind.COMPLAINT, values, notice=concerned)


@router.post("/complain")
async def complain(request: Request, db: Db, temporal: MaybeTemporal) -> Response:
    return await _submit(request, db, temporal, RequestKind.COMPLAINT, dict(await request.form()), [])


@router.get("/done")
async def done(request: Request, db: Db, t: str = "") -> Response:
    """The receipt: number and answer date only, reachable through the signed link the form redirected to."""
    try:
        request_no = _receipts(request).loads(t, max_age=RECEIPT_AGE)
    except BadSignature:
        return RedirectResponse("/portal", status_code=303)
    row = await frontdoor_repo.request(db, request_no)
    return _page(
        request,
        "portal/done.html",
        {
            "request_no": request_no,
            "kind": RequestKind(row.kind) if row else None,
            "answer_due": row.answer_due if row else None,
            "answer_provisional": row.answer_provisional if row else False,
            "policy": await front_door_policy(db),
        },
    )


def _status_form(request: Request, values: dict[str, str], error: str | None = None, status: int = 200) -> HTMLResponse:
    return _page(request, "portal/status.html", {"values": values, "error": error}, status=status)


@router.get("/status")
async def status_form(request: Request) -> Response:
    return _status_form(request, {})


@router.post("/status")
async def status(
    request: Request,
    db: Db,
    temporal: MaybeTemporal,
    request_no: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> Response:
    """Malformed input is explained and not counted; a well-formed combination that matches nothing gets
    one generic refusal, whichever part was wrong, and counts against the IP and the number."""
    values = {"request_no": request_no.strip().upper(), "id_number": id_number.strip(), "phone": phone.strip()}
    ip = _ip(request)
    number = values["request_no"] if re.fullmatch(REQUEST_NO, values["request_no"]) else None
    if await lookups_blocked(db, ip, number):
        return _page(request, "portal/limited.html", {}, status=429)
    if number is None:
        return _status_form(request, values, "bad_number", status=422)
    try:
        person = validate_resident_id(values["id_number"]) if values["id_number"] else None  # a question's
        phone_no = validate_phone(values["phone"])
    except ValueError as exc:
        return _status_form(request, values, str(exc), status=422)
    row = await frontdoor_repo.request_of_resident(db, number, person, phone_no)
    if row is None:
        await lookup_failed(db, ip, number)
        with bound_contextvars(ip=ip):
            log.info("portal status lookup refused")
        return _status_form(request, values, "no_match", status=404)
    state = await query(connected(temporal), intake_workflow_id(number), IntakeState)
    needs = state.needs if state else []
    return _page(
        request,
        "portal/status_result.html",
        {
            "row": row,
            "kind": RequestKind(row.kind),
            "state": state,
            "needs_state": needs,
            "by_code": BY_CODE,
            "Route": Route,
            "beijing": clock.BEIJING,
        },
    )
