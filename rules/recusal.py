"""Who is related to what: the person a complaint is about (named in it, or a handler of its case) may not
handle it, nor even know of it; the staff an applicant declares as close relatives (the review's relatives
check) may not act on the case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rules.access import within


@dataclass(frozen=True)
class Naming:
    """How a complaint names a user: exactly as one of `exact` (user name, full name), or by a text that
    contains `part` (the personal name: the last word of the full name, if it has two characters or more)."""

    exact: tuple[str, str]
    part: str | None


def naming(username: str, full_name: str) -> Naming:
    name = full_name.split(" ")[-1]
    return Naming((username, full_name), name if len(name) >= 2 else None)


def names_person(named: str | None, username: str, full_name: str) -> bool:
    """True if `named` is the user name or full name, or contains the personal name (the last word of the
    full name, e.g. "李娟" in "经办人李娟" or "李娟（经办人）" for 石婆店镇经办人 李娟)."""
    person = (named or "").strip()
    if not person:
        return False
    keys = naming(username, full_name)
    return person in keys.exact or (keys.part is not None and keys.part in person)


def complaint_about(about_person: str | None, case_handlers: Iterable[str], username: str, full_name: str) -> bool:
    """Whether a complaint is about the user: they are the person it names (`names_person`), or they handled
    the case it concerns (`case_handlers`: the user names recorded on the case: whoever acted on it, the
    investigators and assistants of its home visits). Such a user may not handle it, see it, nor count it; the
    database's lists apply the same rule (db.frontdoor_repo `_NOT_ABOUT`)."""
    return names_person(about_person, username, full_name) or username in set(case_handlers)


# ---- which unit handles a complaint: the township concerned, or the district -----------------------------

# Why a complaint went to the district (its record says so: ComplaintStart.district_reason).
CHOSEN_DISTRICT = "投诉时选择由区民政局办理"


def names_no_staff(about_person: str | None, staff: Iterable[tuple[str, str]]) -> bool:
    """Whether a complaint names a person (`about_person` not blank) whom no user of `staff` ((user name, full
    name) of every user) matches by `names_person`: "王书记" or "李主任" may well be the township's own leader, whom
    no rule can keep from it, so the township cannot be trusted to judge whether it is about one of its own."""
    if not (about_person or "").strip():
        return False
    return not any(names_person(about_person, username, full_name) for username, full_name in staff)


def unmatched_person_reason(about_person: str) -> str:
    """The record's words for a complaint sent to the district because the person it names matches no user."""
    return (
        f"投诉涉及的人员“{about_person.strip()}”未能对应到系统内的工作人员，无法排除是乡镇（街道）领导或工作人员，"
        "由区民政局办理"
    )


# ---- the relatives check of a review case (近亲属备案) ----------------------------------------------------

# The staff an applicant's declared relative may be: those who act on review cases.
RELATED_STAFF_ROLES = ("village_cadre", "township_caseworker", "township_approver", "district_officer")
# Who settles a namesake warning ("同名提示": a declared relative known by name only, and a user of that name):
# the township's caseworkers of the case's place and the district's officers.
NAMESAKE_RESOLVERS = frozenset({"township_caseworker", "district_officer"})


def namesake_refusal(
    role: str, place_code: str, username: str, *, case_place: str, namesake: str, barred: frozenset[str]
) -> str | None:
    """Why the user (`role`, `place_code`, `username`) may not settle the warning about the user `namesake` on a
    case at `case_place` from which `barred` are kept away: a code of `schemas.review.CaseError`, or None."""
    if role not in NAMESAKE_RESOLVERS:
        return "wrong_role"
    if not within(place_code, case_place):
        return "out_of_jurisdiction"
    if username in barred or username == namesake:
        return "recused"
    return None
