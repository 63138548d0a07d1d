"""Who investigates a household (入户调查): the township's caseworkers of the case's place and the district's
officers; village cadres may assist but do not count toward the policy's minimum of investigators; nobody
else is named. Pure functions: the workflow's validator and the web app (its check before the workflow, and
the case page, which offers only the staff named here) use the same rule and the same Chinese words.

Staff are described by anything with `username`, `full_name`, `role` (the role's value), `role_label` and
`place_code` (`schemas.staff.StaffRef`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from rules.access import within

INVESTIGATING_ROLES = frozenset({"township_caseworker", "district_officer"})
ASSISTING_ROLES = frozenset({"village_cadre"})
INVESTIGATOR_ROLES_TEXT = "乡镇经办人或区民政局工作人员"
ASSISTANT_ROLES_TEXT = "村（社区）干部"


class Staff(Protocol):
    @property
    def username(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def role_label(self) -> str: ...
    @property
    def place_code(self) -> str: ...


@dataclass(frozen=True)
class TeamRefusal:
    """Why a home visit's team is refused: a code of `schemas.review.CaseError` and the Chinese reason."""

    code: str  # "invalid" or "incomplete"
    message: str


def may_investigate(role: str, place_code: str, case_place: str) -> bool:
    """Whether someone of `role` responsible for `place_code` counts as an investigator of a case at `case_place`."""
    return role in INVESTIGATING_ROLES and within(place_code, case_place)


def may_assist(role: str, place_code: str, case_place: str) -> bool:
    """Whether someone may be recorded as assisting (not counted) in a home visit of a case at `case_place`."""
    return role in ASSISTING_ROLES and within(place_code, case_place)


def person(s: Staff) -> str:
    return f"{s.full_name}（{s.username}）"


def person_refusal(s: Staff, case_place: str, *, assisting: bool) -> str | None:
    """Why `s` may not be named as an investigator (or, `assisting`, as an assistant) of a home visit of a
    case at `case_place`; None if they may. A village cadre named as investigator is not refused here: they
    only do not count (`team_refusal`)."""
    if assisting and s.role not in ASSISTING_ROLES:
        return f"{person(s)}是{s.role_label}，不能列为协助人员（协助人员须为{ASSISTANT_ROLES_TEXT}）"
    if not assisting and s.role not in INVESTIGATING_ROLES | ASSISTING_ROLES:
        return f"{person(s)}是{s.role_label}，不能担任调查人员（调查人员须为{INVESTIGATOR_ROLES_TEXT}）"
    if not within(s.place_code, case_place):
        return f"{person(s)}不负责该案件所在地，不能参加本案入户调查"
    return None


def names(values: Iterable[str]) -> list[str]:
    """User names as typed: stripped, blanks and repeats dropped, in order."""
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def team_refusal(
    investigators: Iterable[str],
    assistants: Iterable[str],
    staff: Mapping[str, Staff],
    case_place: str,
    minimum: int,
) -> TeamRefusal | None:
    """The first thing wrong with a home visit's team, or None: everyone named is a known user (`staff`, by
    user name), investigators are caseworkers or district officers responsible for the case's place, at least
    `minimum` of them; village cadres of the place only assist (named as investigators, they do not count)."""
    team, helpers = names(investigators), names(assistants)
    both = [n for n in team if n in helpers]
    if both:
        return TeamRefusal("invalid", f"同一人不能既是调查人员又是协助人员：{'、'.join(both)}")
    unknown = [n for n in team + helpers if n not in staff]
    if unknown:
        return TeamRefusal("invalid", f"调查人员须为本系统在职工作人员（填写用户名）：{'、'.join(unknown)}")
    wrong = [
        why
        for group, assisting in ((team, False), (helpers, True))
        for n in group
        if (why := person_refusal(staff[n], case_place, assisting=assisting)) is not None
    ]
    if wrong:
        return TeamRefusal("invalid", "；".join(wrong))
    counted = [n for n in team if staff[n].role in INVESTIGATING_ROLES]
    cadres = [person(staff[n]) for n in team if staff[n].role in ASSISTING_ROLES]
    if len(counted) < minimum:
        why = f"入户调查至少需要 {minimum} 名调查人员，现为 {len(counted)} 名"
        if cadres:
            why += f"（{ASSISTANT_ROLES_TEXT}只能协助，不计入调查人员：{'、'.join(cadres)}）"
        return TeamRefusal("incomplete", why)
    if cadres:
        return TeamRefusal("invalid", f"{ASSISTANT_ROLES_TEXT}只能列为协助人员：{'、'.join(cadres)}")
    return None
