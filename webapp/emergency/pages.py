"""Emergency aid pages: register an event, pay at each tier, escalate, record documents and close;
a fund's ledger with its balance; the district's view of open events by township and tier.

Every page calls the same functions as the HTTP API (webapp.emergency.service), so both refuse alike.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from db import places_repo, users_repo
from infra.clock import BEIJING
from rules.actions import ActorView
from rules.caps import Tier, per_capita_after_expense, room
from rules.emergency_actions import ACTIONS, EmergencyAction, available_actions
from schemas.emergency import (
    EMERGENCY_PAYLOADS,
    EmergencyHousehold,
    EmergencyKind,
    EmergencyPath,
    ExpenseEvidence,
    ExpenseKind,
    FundSource,
)
from schemas.relatives import DeclaredRelative
from schemas.staff import Actor
from webapp import access_log, authz
from webapp.access_log import Kind
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.documents.panel import panel
from webapp.emergency import service
from webapp.emergency.models import EmergencyDetail, EmergencyIn
from webapp.emergency.waiting import event_lines, list_lines, settled
from webapp.errors import ApiError, chinese_message
from webapp.payloads import body_model
from webapp.render import HIDDEN_FIELDS, Feedback, form_model, refused, render, render_error

router = APIRouter(include_in_schema=False)
KINDS = [(k.value, k.label) for k in EmergencyKind]
SOURCES = [(s.value, s.label) for s in FundSource]
PATHS = [(p.value, p.label) for p in EmergencyPath]
EXPENSE_KINDS = [(k.value, k.label) for k in ExpenseKind]
RELATIVE_ROWS = 2  # declared relatives the registration form has room for
LABELS = {
    "kind_labels": dict(KINDS),
    "path_labels": dict(PATHS),
    "expense_kind_labels": dict(EXPENSE_KINDS),
    "paths": PATHS,
    "expense_kinds": EXPENSE_KINDS,
    "tier_labels": {t.value: t.label for t in Tier},
    "source_labels": dict(SOURCES),
    "beijing": BEIJING,
}


def _errors(exc: ValidationError) -> list[str]:
    return [chinese_message(e) for e in exc.errors(include_url=False, include_input=False)]


@router.get("/emergencies")
async def overview(
    request: Request, actor: PageActor, db: Db, township: str | None = None, status: str = "open"
) -> Response:
    try:
        chosen = status if status in ("open", "closed") else "open"
        listing = await service.list_events(db, actor, township or None, None, chosen, 1, 200)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    towns = await places_repo.places_at_level(db, "township", actor.place_code[:9])
    sums: dict[str, dict[str, Any]] = {}
    for g in listing.by_township_and_tier:
        row = sums.setdefault(
            g.township_code,
            {"name": g.township_name, "village": 0, "township": 0, "district": 0, "events": 0, "total": Decimal("0")},
        )
        row[g.tier] = g.events
        row["events"] += g.events
        row["total"] += g.total
    return render(
        request,
        "emergency/list.html",
        LABELS
        | {
            "listing": listing,
            "waiting": await list_lines(db, listing.items),
            "sums": sums,
            "towns": towns,
            "township": township or "",
            "status": status,
            "can_register": authz.may(actor, "emergency.register"),
            "Tier": Tier,
        },
        actor=actor,
    )


async def _villages(db: asyncpg.Pool, actor: Actor) -> list:
    return await places_repo.places_at_level(db, "village", actor.place_code)


@router.get("/emergencies/new")
async def new_form(request: Request, actor: PageActor, db: Db) -> Response:
    if denied := refused(request, actor, "emergency.register"):
        return denied
    return render(
        request,
        "emergency/new.html",
        LABELS | {"values": {"members": "1"}, "errors": [], "kinds": KINDS, "villages": await _villages(db, actor)},
        actor=actor,
    )


RegisterForm = form_model(
    "RegisterForm", "kind description name id_number phone village_code address", members="1", path="urgent"
)


@router.post("/emergencies/new")
async def register(
    request: Request, fields: Annotated[RegisterForm, Form()], *, actor: PageActor, db: Db, temporal: MaybeTemporal
) -> Response:
    values = fields.model_dump()
    form = await request.form()
    values |= {
        k: str(v) for k, v in form.items() if k.startswith(("expense", "covered", "income", "relative_", "member_"))
    }
    errors: list[str] = []
    status = 422
    try:
        body = EmergencyIn(
            kind=fields.kind,
            description=fields.description,
            household=EmergencyHousehold(
                name=fields.name,
                id_number=fields.id_number,
                phone=fields.phone or None,
                township_code=fields.village_code[:9],
                village_code=fields.village_code,
                address=fields.address,
                members=fields.members or 1,
                member_id_numbers=_id_numbers(values.get("member_id_numbers", "")),
            ),
            path=fields.path or "urgent",
            expense=_expense(values) if fields.path == EmergencyPath.EXPENSE else None,
            declared_relatives=_declared(values),
        )
        event, created = await service.register(db, temporal, body, actor)
        opened = "?done=registered" if created else "?existing=1"  # the person's open event answers it
        if created:
            await settled(db, temporal, event.event.event_id, actor)
        return RedirectResponse(f"/emergencies/{event.event.event_id}{opened}", status_code=303)
    except ValidationError as exc:
        errors = _errors(exc)
    except ApiError as exc:
        errors, status = [exc.message], exc.status
    context = LABELS | {"values": values, "errors": errors, "kinds": KINDS, "villages": await _villages(db, actor)}
    return render(request, "emergency/new.html", context, status=status, actor=actor)


def _expense(values: dict[str, str]) -> ExpenseEvidence:
    return ExpenseEvidence(
        kind=values.get("expense_kind") or "medical",
        expense=values.get("expense") or "0",
        covered=values.get("covered") or "0",
        income_12m=values.get("income_12m") or "0",
        note=values.get("expense_note", ""),
    )


def _id_numbers(text: str) -> list[str]:
    """The ID numbers of a text field, one per line (or separated by spaces, commas or 、)."""
    return [n for n in re.split(r"[\s,，、;；]+", text) if n]


def _declared(values: dict[str, str]) -> list[DeclaredRelative]:
    """The declared relatives of the form's rows that name someone."""
    rows = [
        {f: values.get(f"relative_{f}_{i}", "").strip() for f in ("name", "relation", "workplace", "id")}
        for i in range(RELATIVE_ROWS)
    ]
    return [
        DeclaredRelative(
            staff_name=r["name"], relation=r["relation"], workplace=r["workplace"], id_number=r["id"] or None
        )
        for r in rows
        if r["name"]
    ]


def _logins(detail: EmergencyDetail) -> set[str]:
    """The staff the event's page names by login: the payments' approvers and the log's actors."""
    log = detail.state.log if detail.state else []
    return {p["approved_by"] for p in detail.payments if p.get("approved_by")} | {
        e["actor"] for e in log if e.get("actor")
    }


async def _detail_page(
    request: Request,
    event_id: str,
    actor: Actor,
    db: asyncpg.Pool,
    temporal: Client | None,
    feedback: Feedback = Feedback(),
) -> Response:
    try:
        detail = await service.event_detail(db, temporal, event_id, actor)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    ev = detail.event
    policy = await service.caps_policy(db, event_id) if detail.state is not None else None
    event = service.event_view(detail, policy)
    limits = None if event.caps is None else {"caps": event.caps, "room": room(event.caps, event.totals, event.tier)}
    owed = [p for p in detail.payments if p["documentation"] in ("due", "overdue")]
    state = detail.state
    x = state.expense if state else None
    after = per_capita_after_expense(x.income_12m, x.self_paid, state.members) if x and state else None
    return render(
        request,
        "emergency/detail.html",
        LABELS
        | {
            "detail": detail,
            "ev": ev,
            "tier": Tier(ev.tier),
            "limits": limits,
            **feedback.context(),
            "actions": available_actions(event, ActorView.of(actor)),  # the forms shown
            "owed": owed,  # the payments whose documents are still owed (the documents and exemption forms)
            "promise": detail.state.payment_promise if detail.state else None,
            "per_capita_after": after,
            "per_person": bool(event.caps and event.caps.per_person),
            "documents_panel": await panel(db, temporal, "emergency", event_id, actor),
            "waiting": await event_lines(db, detail, event),
            "names": await users_repo.full_names(db, _logins(detail)),
        },
        status=feedback.status,
        actor=actor,
    )


@router.get("/emergencies/{event_id}")
async def detail(
    request: Request,
    event_id: str,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
    done: str | None = None,
    existing: str | None = None,
) -> Response:
    label = ACTIONS[EmergencyAction(done)].label if done in ACTIONS else None
    said = f"{label}：已办理" if label else None
    if done == "registered":
        said = f"登记成功：急难事件 {event_id} 已登记"
    if existing:
        said = "该居民已有未办结的急难事件，本次登记即该事件（每人同一时间只有一个未办结事件）"
    page = await _detail_page(request, event_id, actor, db, temporal, Feedback(done=said))
    if page.status_code == 200:
        await access_log.record(request, actor, Kind.EMERGENCY, event_id)
    return page


@router.post("/emergencies/{event_id}/{action}")
async def act(
    request: Request, event_id: str, action: str, actor: PageActor, db: Db, temporal: MaybeTemporal
) -> Response:
    if action not in ACTIONS:
        return render_error(request, 404, "页面不存在", actor)
    which = EmergencyAction(action)
    form = await request.form()
    fields: dict[str, Any] = {k: v for k, v in form.items() if k not in HIDDEN_FIELDS}
    form_values = {action: dict(fields)}
    if action == "documents":
        fields["items"] = [i.strip() for i in str(fields.get("items", "")).replace("，", "、").split("、") if i.strip()]
    if not fields.get("payment_key"):
        fields.pop("payment_key", None)  # every payment whose documents are owed
    model = body_model(EMERGENCY_PAYLOADS[which])
    try:
        body: BaseModel = model.model_validate(fields)
        await service.perform(db, temporal, event_id, actor, which, body)
        await settled(db, temporal, event_id, actor)
    except (ValidationError, ApiError) as exc:
        feedback = Feedback.refused(exc, form_values)
        shown = await _detail_page(request, event_id, actor, db, temporal, feedback)
        if shown.status_code == feedback.status:  # the whole event shown again, with the form's errors: a read
            await access_log.record(request, actor, Kind.EMERGENCY, event_id)
        return shown
    return RedirectResponse(f"/emergencies/{event_id}?done={action}", status_code=303)
