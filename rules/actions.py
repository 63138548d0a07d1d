"""The shape every staff action on an emergency event or a front-door row has (rules/emergency_actions.py,
rules/frontdoor_actions.py; the review's own table, with its stages, is rules/stages.py). Pure data.

An action is written once, as an `ActionSpec`: its name is the API path segment (and the page's form), the
workflow's update and the kind of the log entry it is recorded as are beside it, with its Chinese label,
the statuses of the row it may be taken in and the roles that may take it. Each table's `refusal()` says
why an actor may not take an action now, in the order the workflow's validator checks it (the validator
raises it as it is), and `available_actions()` what the actor may take now (the pages' forms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

K = TypeVar("K", bound=str)  # an action
V = TypeVar("V")  # a view of a row
S = TypeVar("S", bound="ActionSpec")

# The roles, by their names in `schemas.staff.Role` (the rules import no schemas).
VILLAGE_CADRE, CASEWORKER, APPROVER = "village_cadre", "township_caseworker", "township_approver"
DISTRICT_OFFICER, BUREAU_STAFF = "district_officer", "bureau_staff"
DESK = frozenset({CASEWORKER, APPROVER, DISTRICT_OFFICER})  # the township window and the 12349 hotline
CASE_STAFF = DESK | {VILLAGE_CADRE}  # those who act on cases and events

# The closing sentence of every written decision that refuses, ends or cuts the applicant's benefit (不予批准、
# 终止审核、变更或停发): the right to administrative review or to go to court.
APPEAL_RIGHT = "如有异议，可依法申请行政复议或提起行政诉讼。"


@dataclass(frozen=True)
class ActionSpec:
    """One staff action: what it is called where, and who may take it in which statuses of its row."""

    name: str  # the API path segment, the page's form, the key of its label
    update: str  # the workflow's update
    kind: str  # the kind of the log entry it is recorded as
    label: str  # Chinese: the API's summary, what the page says once it is done
    states: frozenset[str]  # the statuses of the row it may be taken in
    roles: frozenset[str]
    denied: str = ""  # what a role not in `roles` is told; by default the action and the roles are named
    not_now: str = ""  # what is said in a status not in `states` (a `wrong_stage` refusal)

    def refused_in(self, status: str) -> Refusal | None:
        """`wrong_stage` if the row's `status` is not one the action may be taken in."""
        return None if status in self.states else Refusal("wrong_stage", self.not_now)

    def wrong_role(self, roles: frozenset[str] | None = None, what: str = "") -> Refusal:
        """The refusal of a role not among `roles` (the spec's own by default)."""
        allowed = self.roles if roles is None else roles
        return Refusal("wrong_role", self.denied or f"「{what or self.label}」须由{{roles}}办理，您是{{you}}", allowed)


class Person(Protocol):
    """Whoever acts (`schemas.staff.Actor` is one)."""

    username: str
    full_name: str
    role: str
    place_code: str
    bureau: str | None


@dataclass(frozen=True)
class ActorView:
    """Who acts, as the rules need to know them: the review's `rules.stages.ActorView` and the personal name
    (a complaint is never handled by the person it is about) and bureau the front door asks for."""

    username: str
    role: str
    place_code: str
    full_name: str = ""
    bureau: str | None = None

    @classmethod
    def of(cls, person: Person) -> ActorView:
        bureau = person.bureau
        return cls(person.username, str(person.role), person.place_code, person.full_name, bureau and str(bureau))


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused: the `code` the caller gets and the Chinese `message`. A message may name
    what the rules do not know by name (the labels are in `schemas.staff`): `{roles}`, the roles allowed
    (`roles`), `{you}`, the actor's role, and `{bureau}`; `worded()` fills them in."""

    code: str
    message: str
    roles: frozenset[str] = frozenset()

    def worded(self, role_label: Callable[[str], str], you: str, bureau: str = "") -> str:
        if "{" not in self.message:
            return self.message
        names = "、".join(sorted(role_label(r) for r in self.roles))
        return self.message.format(roles=names, you=role_label(you), bureau=bureau)


def table(*specs: S) -> dict[Any, S]:
    """A table of specs by name (the action), in the order given."""
    return {s.name: s for s in specs}


def taken_by(
    actions: Callable[[str], str], roles: frozenset[str], denied: str
) -> Callable[[str, str, str, str, Iterable[str], str], ActionSpec]:
    """The maker of the specs of `actions` (their enum) that `roles` take, a role not among them told `denied`:
    a spec a row, `(name, update, kind, label, states, not_now)` as in `ActionSpec`, the name its enum's value."""

    def spec(name: str, update: str, kind: str, label: str, states: Iterable[str], not_now: str) -> ActionSpec:
        return ActionSpec(actions(name), update, kind, label, frozenset(states), roles, denied, not_now)

    return spec


def available(
    actions: Iterable[K], refusal: Callable[[K, V, ActorView], Refusal | None], row: V, actor: ActorView
) -> list[K]:
    """The `actions` `actor` may take on `row` now (those its table's `refusal` lets through), in their order."""
    return [a for a in actions if refusal(a, row, actor) is None]
