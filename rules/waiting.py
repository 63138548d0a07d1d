"""Whom an open case, emergency event, 12349 request or referral waits on now: the one rule behind every page's
"等待…" line and the inbox's "等待他人". Pure functions over the action tables, never a table of their own.

- A review case waits on each role whose task list the case is in (`rules.stages.tasks`, asked for a person of
  that role at the case's place, who is related to no one): the `waits_on` column of `rules.stages.ACTIONS`,
  with the district standing in where it handles the case. While the clock is paused for missing materials it
  waits on the applicant (the caseworker records the materials once they come); during the public notice on
  the notice period's end; right after acceptance, and whenever no one has a step, on the system.
- An emergency event waits on whoever may take its next step (`rules.emergency_actions.refusal` lets them
  through): a namesake warning to settle, the township's approval of a repeat, then the payment at the
  event's tier, the documents of a payment, and at last closing it; the tier's payer for the last three.
- A 12349 request waits on the desk of its township for the triage, an enquiry's answer or linking a review
  case (`rules.frontdoor_actions.request_refusal`); a referral on the bureau to accept it and report its result,
  or on the township's desk to supply what the bureau asked (`referral_refusal`); a complaint on the desk of the
  unit handling it (the district's officers where the district does) to accept and conclude it
  (`complaint_refusal`).

A `Wait` names roles at the place they sit (a village cadre at the village, township staff at the township,
the district's officers and the bureaus at the district); the pages name the place and the people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rules import actions as roles_of
from rules import emergency_actions as em
from rules import frontdoor_actions as fd
from rules import stages
from rules.access import district_of, place_level, township_of
from rules.actions import ActorView as RowActor
from rules.stages import Action, CaseView, Stage

APPLICANT = "applicant"  # the applicant, to supply missing materials
NOTICE = "notice"  # the public notice's period, to run out
SYSTEM = "system"  # the workflow itself, moving the row on

# The roles a case may wait on, in the order the pages name them.
CASE_ROLES = (roles_of.CASEWORKER, roles_of.VILLAGE_CADRE, roles_of.APPROVER, roles_of.DISTRICT_OFFICER)
_TOWNSHIP_ROLES = frozenset({roles_of.CASEWORKER, roles_of.APPROVER})


@dataclass(frozen=True)
class Wait:
    """Someone the row waits on: `who` is a role (by its name in `schemas.staff.Role`), or APPLICANT, NOTICE or
    SYSTEM; `place` where the role sits ('' for the others); `steps` what they are to do (the actions' names)
    and `labels` those steps in Chinese; `bureau` the bureau of a referral's staff."""

    who: str
    place: str = ""
    steps: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    bureau: str | None = None

    @property
    def person(self) -> bool:
        """Whether staff are waited on (a role at a place), not the applicant, a period or the system."""
        return self.who not in (APPLICANT, NOTICE, SYSTEM)


def seat(role: str, place: str) -> str:
    """Where a person of `role` who acts on a row at `place` sits: the village of a village cadre, the township of
    township staff, the district of its officers and of the bureaus."""
    if role == roles_of.VILLAGE_CADRE:
        return place
    if role in _TOWNSHIP_ROLES:
        return township_of(place)
    return district_of(place)


def _someone(role: str, place: str, bureau: str | None = None) -> RowActor:
    """A person of `role` at `place`, related to no one: what the tables would let anyone of that role do."""
    return RowActor("", role, seat(role, place), "", bureau)


def _waits(place: str, by_role: Iterable[tuple[str, list]], label: Callable[[Any], str]) -> list[Wait]:
    """A `Wait` for each role with steps to take, in the order given."""
    return [
        Wait(role, seat(role, place), tuple(str(s) for s in steps), tuple(label(s) for s in steps))
        for role, steps in by_role
        if steps
    ]


# ---- review cases -----------------------------------------------------------------------------------


def case_waits(case: CaseView) -> list[Wait]:
    """Whom the case waits on now, in the order of `CASE_ROLES`; [] once it is closed and nothing is left to do."""
    if case.stage is Stage.ACCEPTED:
        return [Wait(SYSTEM)]
    roles = [r for r in CASE_ROLES if r != roles_of.VILLAGE_CADRE or place_level(case.place) == "village"]
    by_role = [(r, stages.tasks(case, stages.ActorView("", r, seat(r, case.place)))) for r in roles]
    out: list[Wait] = []
    if case.paused:  # the materials are the applicant's to bring; recording them is not what is awaited
        out.append(Wait(APPLICANT, steps=(Action.MATERIALS_SUPPLIED.value,), labels=("补正材料",)))
        by_role = [(r, [a for a in steps if a is not Action.MATERIALS_SUPPLIED]) for r, steps in by_role]
    if case.stage is Stage.PUBLIC_NOTICE:  # objections are recorded if any come: the notice is what runs
        out.append(Wait(NOTICE, labels=(stages.STAGE_LABELS[Stage.PUBLIC_NOTICE],)))
        by_role = [(r, [a for a in steps if a is not Action.OBJECTION]) for r, steps in by_role]
    out += _waits(case.place, by_role, lambda a: stages.ACTIONS[a].label)
    if not out and not case.stage.closed:
        return [Wait(SYSTEM)]
    return out


def waits_on_role(case: CaseView, role: str) -> bool:
    """Whether the case waits on `role` now (its inbox's 待办 rather than 等待他人)."""
    return any(w.who == role for w in case_waits(case))


# ---- emergency events -------------------------------------------------------------------------------


def _event_step(event: em.EventView) -> em.EmergencyAction:
    """The step the event waits for: the first of these that is still to be done."""
    A = em.EmergencyAction
    if event.namesakes_pending:
        return A.RESOLVE_NAMESAKE
    if event.repeat_pending and event.tier.value == "village":
        return A.APPROVE_REPEAT
    if not event.paid:
        return A.APPROVE
    return A.CLOSE if event.documents_done else A.DOCUMENTS


def event_waits(event: em.EventView) -> list[Wait]:
    """Whom the open event waits on: those of the step's roles who may take it now; the tier's payer where
    anyone of the event's staff may take it (documents, closing). The system while it is registered or paying."""
    if event.status != "open":
        return []
    if event.caps is None or event.paying:
        return [Wait(SYSTEM)]
    step = _event_step(event)
    spec = em.ACTIONS[step]
    payer = em.ACTIONS[em.EmergencyAction.APPROVE].roles_at(event.tier)
    candidates = spec.roles_at(event.tier) if step is em.EmergencyAction.APPROVE else spec.roles
    if candidates == roles_of.CASE_STAFF:
        candidates = payer
    by_role = [
        (r, [step] if em.refusal(step, event, _someone(r, event.place)) is None else [])
        for r in CASE_ROLES
        if r in candidates
    ]
    return _waits(event.place, by_role, lambda a: em.ACTIONS[a].label) or [Wait(SYSTEM)]


# ---- the front door ---------------------------------------------------------------------------------


def _desk(spec_roles: frozenset[str]) -> list[str]:
    """The desk's roles in page order; the district's officers only where no township staff may act."""
    named = [r for r in CASE_ROLES if r in spec_roles]
    township = [r for r in named if r in _TOWNSHIP_ROLES]
    return township or named


def request_waits(request: fd.RequestView) -> list[Wait]:
    """Whom the open request waits on: its township's desk for the first step the desk may take now."""
    if request.status == "closed":
        return []
    if not request.ready:
        return [Wait(SYSTEM)]
    for action in fd.RequestAction:
        spec = fd.REQUEST_ACTIONS[action]
        who = [_someone(r, request.township) for r in _desk(spec.roles)]
        roles = [p.role for p in who if fd.request_refusal(action, request, p) is None]
        if roles:
            return _waits(request.township, [(r, [action]) for r in roles], lambda a: fd.REQUEST_ACTIONS[a].label)
    return [Wait(SYSTEM)]


# The step a referral waits for in each status (its other actions are the bureau's to take if it wishes).
_REFERRAL_AWAITS = {
    "delivered": fd.ReferralAction.ACCEPT,
    "accepted": fd.ReferralAction.RESULT,
    "info_requested": fd.ReferralAction.SUPPLY_INFO,
}


def referral_waits(referral: fd.ReferralView) -> list[Wait]:
    """Whom the referral waits on: the bureau it was referred to, or the township's desk for information."""
    action = _REFERRAL_AWAITS.get(referral.status)
    if action is None:
        return []
    if not referral.ready:
        return [Wait(SYSTEM)]
    spec = fd.REFERRAL_ACTIONS[action]
    label = spec.label
    if spec.roles == frozenset({roles_of.BUREAU_STAFF}):
        who = _someone(roles_of.BUREAU_STAFF, referral.township, referral.bureau)
        ok = fd.referral_refusal(action, referral, who) is None
        return [Wait(roles_of.BUREAU_STAFF, who.place_code, (action.value,), (label,), referral.bureau)] if ok else []
    desk = [_someone(r, referral.township) for r in _desk(spec.roles)]
    roles = [p.role for p in desk if fd.referral_refusal(action, referral, p) is None]
    return _waits(referral.township, [(r, [action]) for r in roles], lambda a: fd.REFERRAL_ACTIONS[a].label)


# The step a complaint waits for in each status.
_COMPLAINT_AWAITS = {"registered": fd.ComplaintAction.ACCEPT, "accepted": fd.ComplaintAction.CONCLUDE}


def complaint_waits(complaint: fd.ComplaintView) -> list[Wait]:
    """Whom the open complaint waits on: the desk of the unit handling it, anyone it is about left out."""
    action = _COMPLAINT_AWAITS.get(complaint.status)
    if action is None:
        return []
    spec = fd.COMPLAINT_ACTIONS[action]
    at_district = place_level(complaint.unit) == "district"
    desk = [roles_of.DISTRICT_OFFICER] if at_district else _desk(spec.roles)
    roles = [r for r in desk if fd.complaint_refusal(action, complaint, _someone(r, complaint.unit)) is None]
    return _waits(complaint.unit, [(r, [action]) for r in roles], lambda a: fd.COMPLAINT_ACTIONS[a].label)
