"""The case page: household, clock, timeline and the action forms the user may use now.

Who sees full ID numbers: township caseworkers and approvers of the case's township and district
officers, who verify identities at the window, on home visits and at the verification centre
(`shows_full_ids`). `case_row` has already confined every reader to the case's jurisdiction.

The database (case row, event log) is enough to show a case; the workflow adds the live state (needed
for the forms) and its input, the application as typed, for incomes, assets and disability.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from temporalio.client import Client
from temporalio.service import RPCError

from db import cases_repo, events_repo, households_repo, policy_repo, users_repo
from db.cases_repo import CaseRow
from db.events_repo import LoggedEvent, barred_staff, filed_relatives, namesake_warnings
from db.users_repo import USERNAME_PATTERN, StaffName
from infra.clock import today
from infra.config import Settings
from rules.calendar import WorkCalendar, working_days_left
from rules.investigators import ASSISTING_ROLES, INVESTIGATING_ROLES, may_assist, may_investigate
from rules.recusal import namesake_refusal
from rules.stages import ACTION_LABELS, STAGE_LABELS, Action
from schemas.people import RELATION_LABELS, DisabilityKind, SelfCare
from schemas.review import CaseState, DeliveryMethod, workflow_id_for
from schemas.roster import IMPORTED
from schemas.staff import Actor, Role
from webapp import access_log, authz
from webapp.access_log import Kind
from webapp.deps import AppSettings, Db, MaybeTemporal, PageActor
from webapp.documents.panel import panel
from webapp.errors import ApiError
from webapp.render import refusal_page, render
from webapp.review.actions import NamesakeAnswer, perform, resolve_namesake
from webapp.review.case_forms import (
    FOLDED,
    action_body,
    available_actions,
    defaults,
    error_field,
    read_action_form,
)
from webapp.review.cases import CaseId, case_row, shows_full_ids, summary
from webapp.review.common import COMMON_MATERIALS, beijing, field_errors, load_calendar
from webapp.review.findings import findings, staff_names, with_names
from webapp.review.timeline_text import describe
from webapp.review.waiting import state_lines
from webapp.review.workflow import case_state, settled, started_with
from webapp.supervision import corrections

router = APIRouter(include_in_schema=False)

TEAM_ROLES = sorted(INVESTIGATING_ROLES | ASSISTING_ROLES)  # who may be named in a home visit (rules.investigators)


async def _household(db: asyncpg.Pool, client: Client | None, row: CaseRow) -> dict[str, Any]:
    """From the workflow's input if it can be read; else what the database keeps (no incomes or assets)."""
    start = await started_with(client, row.workflow_id)
    if start is not None:
        app = start.application
        hh = app.household
        return {
            "complete": True,
            "address": hh.address,
            "hukou_type": hh.hukou_type.value,
            "phone": hh.phone,
            "members": [m.model_dump(mode="json") for m in hh.members],
            "supporters": [x.model_dump(mode="json") for x in hh.supporters],
            "incomes": [i.model_dump() for i in hh.incomes],
            "assets": [a.model_dump() for a in hh.assets],
            "monthly_income": hh.monthly_income(),
            "per_capita_income": hh.per_capita_income(),
            "declared_relatives": [r.model_dump() for r in app.declared_relatives],
            "attachments": app.attachments,
            "channel": app.channel.value,
        }
    household = await households_repo.household_of_case(db, row.case_id)
    return {
        "complete": False,
        "address": household.address if household else "",
        "hukou_type": household.hukou_type if household else "",
        "phone": household.phone if household else None,
        "members": [
            {"name": m.name, "id_number": m.id_number, "relation": m.relation}
            for m in (household.members if household else [])
        ],
        "channel": row.channel,
    }


async def _team(db: asyncpg.Pool, row: CaseRow, barred: set[str]) -> dict[str, list[StaffName]]:
    """The staff a home visit may name: investigators (caseworkers, district officers) and assistants (village
    cadres) of the case's place, as `rules.investigators` says; recused staff are not offered."""
    staff = [s for s in await users_repo.staff_for_place(db, row.place, TEAM_ROLES) if s.username not in barred]
    return {
        "investigators": [s for s in staff if may_investigate(s.role, s.place_code, row.place)],
        "assistants": [s for s in staff if may_assist(s.role, s.place_code, row.place)],
    }


def _timeline(
    events: list[LoggedEvent], accepted_on: date, cal: WorkCalendar, names: dict[str, str]
) -> list[dict[str, Any]]:
    out = []
    for e in events:
        at = beijing(e.occurred_at)
        out.append(
            {
                "at": at,
                "working_days": cal.working_days_between(accepted_on, at.date()),
                "who": e.actor_name or e.actor,
                "role": Role(e.actor_role).label if e.actor_role else None,
                "stage": e.stage,
                "kind": e.kind,
                "summary": (summary := with_names(e.payload.get("summary", e.kind), e, names)),
                # the English page describes known kinds from the data (timeline_text.py), Chinese shows `summary`
                "payload": e.payload | {"summary": summary},
            }
        )
    return out


def provisional(cal: WorkCalendar, accepted_on: date, due: date | None) -> bool:
    """Whether a limit counted from `accepted_on` to `due` runs through a year whose holiday notice is not in the
    calendar yet (the statutory limit's, which the case row does not keep)."""
    return bool(due and cal.provisional_years(accepted_on.year, due.year))


def _pause(events: list[LoggedEvent]) -> date | None:
    """The day the clock was paused, if the latest pause/resume event is a pause."""
    for e in reversed(events):
        if e.kind == "missing_materials":
            return beijing(e.occurred_at).date()
        if e.kind == "materials_supplied":
            return None
    return None


async def case_page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    client: Client | None,
    settings: Settings,
    case_id: str,
    *,
    failed: tuple[Action, dict[str, Any], dict[str, str], str | None] | None = None,
    relatives_error: str | None = None,
    correction_failed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """Render the case; `failed` is (action, typed values, field errors, message) of a refused action,
    `relatives_error` why a namesake warning could not be settled, `correction_failed` the re-check, typed outcome
    and message of a correction that could not be closed."""
    try:
        authz.require(actor, "case.read")
        row = await case_row(db, case_id, actor)
    except ApiError as exc:
        return refusal_page(request, exc, actor)
    events = await events_repo.event_log(db, case_id)
    cal = await load_calendar(db)
    accepted_at = beijing(row.accepted_at)
    barred = barred_staff(events)
    barred_names = {b["username"] for b in barred}
    imported = row.channel == IMPORTED  # taken in from the roster: no workflow to ask
    if imported:
        client = None
    state = await case_state(client, row.workflow_id)
    async with db.acquire() as conn:
        policy = await policy_repo.get(conn, row.policy_version)
    now = today()
    names = await staff_names(db, events)
    actions = available_actions(actor, state, policy) if state is not None else []
    waiting = await state_lines(db, cal, row, state, policy, now)
    forms = {a: defaults(a, actor, now.isoformat()) for a in actions}
    documents = await panel(db, client, "case", case_id, actor)
    materials = _prefill_missing(forms, documents)
    form_errors: dict[str, str] = {}
    form_message = None
    if failed is not None:
        action, typed, form_errors, form_message = failed
        forms[action] = typed
    namespace = client.namespace if client is not None else settings.temporal_namespace
    namesakes = [
        n
        | {
            "can_resolve": state is not None
            and row.status == "open"
            and n["resolution"] == "pending"
            and namesake_refusal(
                actor.role.value,
                actor.place_code,
                actor.username,
                case_place=row.place,
                namesake=n["username"],
                barred=frozenset(barred_names),
            )
            is None
        }
        for n in namesake_warnings(events)
    ]
    context = {
        "case": summary(row),
        "imported": imported,
        "state": state,
        "settling": _settling(row, state),
        "policy": policy,
        "household": await _household(db, client, row),
        "full_ids": shows_full_ids(actor, row),
        "accepted_at": accepted_at,
        "days_left": working_days_left(cal, now, row.deadline) if row.deadline else None,
        "statutory_provisional": provisional(
            cal, accepted_at.date(), state.clock.statutory_deadline if state and state.clock else None
        ),
        "paused_since": _pause(events),
        "timeline": _timeline(events, accepted_at.date(), cal, names),
        "findings": findings(events, state, names),
        "timeline_text": describe,
        "escalations": await cases_repo.escalations_of(db, [case_id]),
        "corrections": await corrections.panel(db, actor, case_id),
        "correction_failed": correction_failed or {},
        "barred": barred,
        "namesakes": namesakes,
        "filed_relatives": filed_relatives(events),
        "relatives_error": relatives_error,
        "actor_barred": actor.username in barred_names,
        "forms": forms,
        "failed_action": failed[0] if failed else None,
        "folded": FOLDED,
        "delivery_methods": [(m.value, m.label) for m in DeliveryMethod],
        "form_errors": form_errors,
        "form_message": form_message,
        "team": await _team(db, row, barred_names) if Action.HOME_VISIT in forms else {},
        "materials": materials,
        "documents_panel": documents,
        "done": _done(request),
        "waiting": waiting,
        "history_url": f"/cases/{case_id}/history" if authz.may(actor, "case.history") else None,
        "action_labels": ACTION_LABELS,
        "stage_labels": STAGE_LABELS,
        "bj": beijing,
        "relation_labels": {r.value: label for r, label in RELATION_LABELS.items()},
        "disability_labels": {k.value: k.label for k in DisabilityKind},
        "self_care_labels": {c.value: c.label for c in SelfCare},
        # The Temporal Web UI shows what the case page keeps from most readers: administrators only.
        "temporal_url": f"{settings.temporal_ui_url}/namespaces/{namespace}/workflows/{row.workflow_id}"
        if authz.may(actor, "temporal.ui")
        else None,
    }
    return render(request, "caseworker/case.html", context, status=status, actor=actor)


def _prefill_missing(forms: dict[Action, dict[str, Any]], documents: dict[str, Any]) -> list[str]:
    """The 补正 form's choices (the usual materials and any required one besides) with the required materials
    still missing ticked."""
    missing = [t.name for t in documents["missing"]]
    if Action.MISSING_MATERIALS in forms:
        forms[Action.MISSING_MATERIALS]["items"] = missing
    return [*COMMON_MATERIALS, *(m for m in missing if m not in COMMON_MATERIALS)]


def _settling(row: CaseRow, state: CaseState | None) -> bool:
    """Whether the workflow is still moving the case on (requesting the data check right after
    acceptance, opening the notice after an approval): the page then looks again shortly."""
    if row.stage == "accepted":
        return True
    if state is None:
        return False
    return state.stage != row.stage or (state.stage == "decision" and state.decision is not None)


ACCEPTED = "accepted"  # `?done=` after the intake form
NAMESAKE = "namesake"  # `?done=` after a namesake warning is settled
CORRECTION = "correction"  # `?done=` after a re-check's correction is closed


def _done(request: Request) -> Action | str | None:
    """The action just recorded (the redirect after a successful form says which), or `ACCEPTED`."""
    done = request.query_params.get("done", "")
    if done in (ACCEPTED, NAMESAKE, CORRECTION):
        return done
    try:
        return Action(done)
    except ValueError:
        return None


@router.get("/cases/{case_id}")
async def show_case(
    request: Request, case_id: CaseId, actor: PageActor, db: Db, temporal: MaybeTemporal, settings: AppSettings
) -> Response:
    return await shown(request, actor, case_id, await case_page(request, actor, db, temporal, settings, case_id), 200)


async def shown(request: Request, actor: Actor, case_id: str, page: Response, status: int) -> Response:
    """`page`, logged as a read of the case when it is the case page (as asked, with `status`), not a refusal:
    a form shown again with its errors shows the whole case as well."""
    if page.status_code == status:
        await access_log.record(request, actor, Kind.CASE_PAGE, case_id)
    return page


@router.post("/cases/{case_id}/act/{action}")
async def act(
    request: Request,
    action: Action,
    case_id: CaseId,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
    settings: AppSettings,
) -> Response:
    """Run the action through the API's own `perform`; a refusal re-renders the page with what was typed."""
    typed = read_action_form(action, await request.form())

    async def again(failed: tuple[Action, dict[str, Any], dict[str, str], str | None], status: int) -> Response:
        page = await case_page(request, actor, db, temporal, settings, case_id, failed=failed, status=status)
        return await shown(request, actor, case_id, page, status)

    try:
        ack = await perform(db, temporal, case_id, actor, action, action_body(action, typed))
    except RequestValidationError as exc:
        errors = field_errors(list(exc.errors()), error_field)
        return await again((action, typed, errors, "请按提示修改后再提交"), 422)
    except ApiError as exc:
        if exc.code in ("not_found", "out_of_jurisdiction"):
            return refusal_page(request, exc, actor)  # nothing of the case may be shown
        return await again((action, typed, {}, exc.message), exc.status)
    except RPCError:
        return await again((action, typed, {}, "工作流服务暂不可用，请稍后再试"), 503)
    await settled(db, temporal, case_id, workflow_id_for(case_id), ack.event_key)  # the next page shows it done
    return RedirectResponse(f"/cases/{case_id}?done={action.value}", status_code=303)


@router.post("/cases/{case_id}/namesakes/{username}")
async def settle_namesake(
    request: Request,
    case_id: CaseId,
    username: Annotated[str, PathParam(pattern=USERNAME_PATTERN)],
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
    settings: AppSettings,
) -> Response:
    """同名提示核实 from the case page: "是本人" bars the user from the case, "不是本人" clears the warning."""
    form = await request.form()
    answer = NamesakeAnswer(same_person=form.get("same_person") == "yes", note=str(form.get("note") or "").strip())

    async def again(message: str, status: int) -> Response:
        page = await case_page(request, actor, db, temporal, settings, case_id, relatives_error=message, status=status)
        return await shown(request, actor, case_id, page, status)

    try:
        ack = await resolve_namesake(db, temporal, case_id, actor, username, answer)
    except RequestValidationError:
        return await again("核实情况最长 500 字", 422)
    except ApiError as exc:
        if exc.code in ("not_found", "out_of_jurisdiction"):
            return refusal_page(request, exc, actor)
        return await again(exc.message, exc.status)
    except RPCError:
        return await again("工作流服务暂不可用，请稍后再试", 503)
    await settled(db, temporal, case_id, workflow_id_for(case_id), ack.event_key)
    return RedirectResponse(f"/cases/{case_id}?done={NAMESAKE}#relatives", status_code=303)


@router.post("/cases/{case_id}/corrections/{recheck_id}/close")
async def close_correction(
    request: Request,
    case_id: CaseId,
    recheck_id: str,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
    settings: AppSettings,
) -> Response:
    """纠错办结 from the case page: the written outcome closes the correction the re-check opened."""
    outcome = str((await request.form()).get("outcome") or "")
    try:
        await corrections.close(db, actor, recheck_id, outcome, case_id=case_id)
    except ApiError as exc:
        if exc.code in ("not_found", "out_of_jurisdiction", "wrong_role"):
            return refusal_page(request, exc, actor)
        failed = {"recheck_id": recheck_id, "outcome": outcome, "message": exc.message}
        page = await case_page(
            request, actor, db, temporal, settings, case_id, correction_failed=failed, status=exc.status
        )
        return await shown(request, actor, case_id, page, exc.status)
    return RedirectResponse(f"/cases/{case_id}?done={CORRECTION}#corrections", status_code=303)
