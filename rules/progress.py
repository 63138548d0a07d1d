"""What a case's event log says is done, kept on the case row so the task inbox reads only `cases`.

Events may arrive late (a retried write) or twice (a replayed one, which the log does not take again),
so each field is settled by the event's time, not by the order of arrival:
- `paused`: the latest of missing_materials / materials_supplied is missing_materials;
- `home_visit_at`, `neighbour_at`: the latest home visit and neighbour interview; `reinvestigate_at`: the
  latest objection that sent the case back to investigation (a visit counts only if later than that);
- `district_visit_done`: a home visit by the district (after a relatives match or a complaint); a complaint, or
  an objection through 12349, asks for a new one (`district_visit_required`: the district must visit at all);
- `barred_users`, `relatives_match`: staff the relatives check keeps away from the case; a namesake warning
  or a declared relative without an account is a relatives match too (the district visits the household), and
  the user a namesake warning names is kept away until someone settles it;
- `district_approval`: the township referred an approval the means test does not support to the district.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from rules.stages import Action

RELATIVES_MATCHED = "relatives_matched"
RELATIVES_NAMESAKE = "relatives_namesake"
RELATIVES_DECLARED = "relatives_declared"
NAMESAKE_DISMISSED = "namesake_dismissed"
DISTRICT_VISIT_REQUIRED = "district_visit_required"  # a complaint about the case (since it names none)
COMPLAINT_FILED = "complaint_filed"  # the same, in cases that named the complaint
REFERRED_TO_DISTRICT = "referred_to_district"

# The kinds of event that change the progress; any other leaves it as it is.
KINDS = frozenset(
    {
        Action.MISSING_MATERIALS.value,
        Action.MATERIALS_SUPPLIED.value,
        Action.HOME_VISIT.value,
        Action.NEIGHBOUR_INTERVIEW.value,
        Action.OBJECTION.value,
        RELATIVES_MATCHED,
        RELATIVES_NAMESAKE,
        RELATIVES_DECLARED,
        NAMESAKE_DISMISSED,
        DISTRICT_VISIT_REQUIRED,
        COMPLAINT_FILED,
        REFERRED_TO_DISTRICT,
    }
)


@dataclass(frozen=True)
class CaseProgress:
    paused: bool = False
    paused_changed_at: datetime | None = None
    home_visit_at: datetime | None = None
    neighbour_at: datetime | None = None
    reinvestigate_at: datetime | None = None
    district_visit_done: bool = False
    barred_users: tuple[str, ...] = ()
    relatives_match: bool = False
    district_visit_required: bool = False
    district_approval: bool = False


def _later(a: datetime | None, b: datetime) -> datetime:
    return b if a is None else max(a, b)


def after_event(p: CaseProgress, kind: str, payload: dict, at: datetime) -> CaseProgress:
    """The progress once the event `kind` with `payload`, which happened at `at`, is in the log."""
    if kind in (Action.MISSING_MATERIALS, Action.MATERIALS_SUPPLIED):
        if p.paused_changed_at is not None and p.paused_changed_at > at:
            return p  # a late arrival of an older pause or resumption
        return replace(p, paused=kind == Action.MISSING_MATERIALS, paused_changed_at=at)
    if kind == Action.HOME_VISIT:
        by_district = bool(payload.get("by_district"))
        return replace(
            p, home_visit_at=_later(p.home_visit_at, at), district_visit_done=p.district_visit_done or by_district
        )
    if kind == Action.NEIGHBOUR_INTERVIEW:
        return replace(p, neighbour_at=_later(p.neighbour_at, at))
    if kind == Action.OBJECTION and payload.get("route") == "reinvestigate":
        p = replace(p, reinvestigate_at=_later(p.reinvestigate_at, at))
        return _new_district_visit(p) if payload.get("via") == "12349" else p
    if kind in (DISTRICT_VISIT_REQUIRED, COMPLAINT_FILED):
        return _new_district_visit(p)
    if kind == REFERRED_TO_DISTRICT:
        return replace(p, district_approval=True)
    if kind in (RELATIVES_MATCHED, RELATIVES_NAMESAKE):
        key = "barred" if kind == RELATIVES_MATCHED else "namesakes"
        kept = {b["username"] for b in payload.get(key) or []}
        return replace(p, barred_users=_with(p, kept), relatives_match=True, district_visit_required=True)
    if kind == NAMESAKE_DISMISSED:
        return replace(p, barred_users=tuple(u for u in p.barred_users if u != payload.get("username")))
    if kind == RELATIVES_DECLARED:
        return replace(p, relatives_match=True, district_visit_required=True)
    return p


def _with(p: CaseProgress, users: set[str]) -> tuple[str, ...]:
    return tuple(sorted(users | set(p.barred_users)))


def _new_district_visit(p: CaseProgress) -> CaseProgress:
    """A complaint (or an objection through 12349): the district must visit the household, again if it did."""
    return replace(p, district_visit_required=True, district_visit_done=False)
