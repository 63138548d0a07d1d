"""The action forms of the case page: which ones a user sees now, their defaults, and form -> action body.

Showing a form is a convenience computed from the workflow's state; the workflow's update validators
stay the authority, and their Chinese refusal is what the form shows when they say no.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from pydantic import BaseModel

from rules.investigators import ASSISTING_ROLES
from rules.stages import Action, ActorView, CaseView, Stage, open_steps
from schemas.policy import ApprovalLevel, Policy
from schemas.relatives import unsettled
from schemas.review import CaseState
from schemas.staff import Actor
from webapp.payloads import body_model
from webapp.review.actions import ACTIONS
from webapp.review.common import split_list

# A form's fields are its action's body model's (`fields`), and these beside them: typed lines added to a list.
FORM_ONLY: dict[Action, tuple[str, ...]] = {Action.MISSING_MATERIALS: ("items_other",)}
MULTI = frozenset({"items", "investigators", "assistants"})  # checkboxes
LINES = frozenset({"items_other", "family_signatures", "interviewees", "evidence_requests", "participants"})
OPTIONAL = frozenset({"category", "monthly_amount"})
# The order forms appear in: the stage's own step first, in the order of the action table (which follows the
# process), the exceptional ones last.
LAST = (Action.TAKE_OVER, Action.EXTEND_DEADLINE, Action.MISSING_MATERIALS, Action.WITHDRAW, Action.TERMINATE)
ORDER = tuple(a for a in Action if a not in LAST) + LAST
# Shown folded: rarely needed, and long (closing a case early, too: never by a slip of the hand).
FOLDED = frozenset({Action.MISSING_MATERIALS, Action.EXTEND_DEADLINE, Action.WITHDRAW, Action.TERMINATE})


def case_view(state: CaseState, policy: Policy) -> CaseView:
    """What the action rules need to know of the case, from the workflow's state."""
    return CaseView(
        stage=Stage(state.stage),
        place=state.village_code or state.township_code,
        paused=bool(state.clock and state.clock.paused),
        handled_by=state.handled_by,
        district_approves=state.district_approval
        or policy.review.approval_level(state.township_code) is ApprovalLevel.DISTRICT,
        barred=frozenset(state.barred_staff) | unsettled(state.namesakes),
        verified=state.verification_done,
        escalated=bool(state.escalations),
        home_visit_done=state.home_visit_done,
        neighbour_done=state.neighbour_interview_done,
        district_visit_due=state.district_visit_required and not state.district_visit_done,
        decided=state.decision is not None,
        extended=bool(state.clock and state.clock.extended),
        delivered=state.refusal_delivery is not None,
    )


def available_actions(actor: Actor, state: CaseState, policy: Policy) -> list[Action]:
    """The forms `actor` sees now: the actions the rules let them take whose step is still to be done, in
    `ORDER` (the workflow's validators, which use the same rules, have the last word)."""
    steps = open_steps(case_view(state, policy), ActorView(actor.username, actor.role.value, actor.place_code))
    return [a for a in ORDER if a in steps]


def defaults(action: Action, actor: Actor, today: str) -> dict[str, Any]:
    """What a fresh form shows: today for every date, the user as first investigator (a village cadre: as
    assistant), the usual choices."""
    base: dict[str, Any] = {name: [] if name in MULTI else "" for name in fields(action)}
    dates = {name: today for name, f in _body_type(action).model_fields.items() if f.annotation is date}
    team = "assistants" if actor.role.value in ASSISTING_ROLES else "investigators"
    extra = {
        Action.VERIFICATION_RESULT: {"assets_within_limits": "true"},
        Action.HOME_VISIT: {team: [actor.username]},
        Action.HEARING: {"kind": "democratic_review", "opinion": "agree"},
        Action.DECISION: {"approve": "yes"},
        Action.OBJECTION: {"route": "reinvestigate"},
        Action.REFUSAL_DELIVERED: {"method": "in_person"},
    }
    return base | dates | extra.get(action, {})


def read_action_form(action: Action, form: Any) -> dict[str, Any]:
    """The form as typed, to show again if the action is refused."""
    return {
        name: [str(v) for v in form.getlist(name)] if name in MULTI else str(form.get(name) or "").strip()
        for name in fields(action)
    }


@cache
def _body_type(action: Action) -> type[BaseModel]:
    return body_model(ACTIONS[action][0])


@cache
def fields(action: Action) -> tuple[str, ...]:
    """The form's fields: its body model's, in their order, and the form's own (`FORM_ONLY`)."""
    return tuple(_body_type(action).model_fields) + FORM_ONLY.get(action, ())


def action_body(action: Action, typed: dict[str, Any]) -> BaseModel:
    """The body for `webapp.review.actions.perform`, unvalidated: perform validates it (with the actor) once."""
    data: dict[str, Any] = {}
    for name, value in typed.items():
        if name in LINES:
            value = split_list(value)
        elif name in OPTIONAL:
            value = value or None
        data[name] = value
    if "approve" in data:
        data["approve"] = data["approve"] != "no"
    if "items_other" in data:
        data["items"] = data["items"] + data.pop("items_other")
    return _body_type(action).model_construct(**data)


def error_field(loc: tuple) -> str | None:
    return str(loc[0]) if loc else None
