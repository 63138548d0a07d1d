"""What a case's event log says is done, kept on the case row so the task inbox reads only `cases`.

Events may arrive late (a retried write) or twice (a replayed one, which the log does not take again),
so each field is settled by the event's time, not by the order of arrival:
- `paused`: the latest of missing_materials / materials_supplied is missing_materials;
- `home_visit_at`, `neighbour_at`: the latest home visit and neighbour interview; `reinvestigate_at`: the
  latest objection that sent the case back to investigation (a visit counts only if later than that);
- `district_visit_done`: a home visit by the district (after a relatives match or a complaint);
- `barred_users`, `relatives_match`: staff the relatives check keeps away from the case; a namesake warning
  or a declared relative without an account is a relatives match too (the district visits the household).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from rules.stages import Action

RELATIVES_MATCHED = "relatives_matched"
RELATIVES_NAMESAKE = "relatives_namesake"
RELATIVES_DECLARED = "relatives_declared"

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
        return replace(p, reinvestigate_at=_later(p.reinvestigate_at, at))
    if kind == RELATIVES_MATCHED:
        barred = {b["username"] for b in payload.get("barred") or []}
        return replace(p, barred_users=tuple(sorted(barred | set(p.barred_users))), relatives_match=True)
    if kind in (RELATIVES_NAMESAKE, RELATIVES_DECLARED):
        return replace(p, relatives_match=True)
    return p
