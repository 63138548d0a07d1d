"""What the front door's lists select (db.frontdoor_repo): requests, referrals and complaints by place, status and
kind, and never a complaint about the one who reads the list (rules.recusal.complaint_about, in SQL)."""

from __future__ import annotations

from dataclasses import dataclass

from db.where import Where
from rules.recusal import naming


def case_handlers(case_id: str) -> str:
    """The user names recorded on the review case `case_id` (a column): whoever acted on it, and the
    investigators and assistants its home visits name; a complaint about the case is about each of them."""
    return (
        f"array(select e.actor from case_events e where e.case_id = {case_id} and e.actor is not null "
        "union select x from case_events e cross join lateral jsonb_array_elements_text("
        "coalesce(e.payload->'investigators', '[]') || coalesce(e.payload->'assistants', '[]')) x "
        f"where e.case_id = {case_id} and e.kind = 'home_visit')"
    )


def _about_reader(t: str) -> str:
    """SQL true when the row `t` (with `about_person`, `about_case_id`) is a complaint about the reader, by
    rules.recusal.complaint_about: the parameters are {0} the names that name them exactly (text[]), {1} the
    personal name a longer text may contain (or null) and {2} their user name (Naming, `Reader`)."""
    person = f"btrim(coalesce({t}.about_person, ''), E' \\t\\n\\r\\u3000')"
    named = f"{person} = any({{0}}::text[]) or coalesce(strpos({person}, {{1}}::text), 0) > 0"
    return (
        f"coalesce(({person} <> '' and ({named})) or {{2}}::text = any({case_handlers(f'{t}.about_case_id')}), false)"
    )


@dataclass(frozen=True)
class Reader:
    """Who reads a list: the complaints about them are left out (rules.recusal.complaint_about)."""

    username: str
    full_name: str

    def exclude(self, where: Where, t: str) -> Where:
        """`where` with the rows of `t` about the reader left out."""
        return self._add(where, t, "not ")

    def only(self, where: Where, t: str) -> Where:
        """`where` with only the rows of `t` about the reader."""
        return self._add(where, t, "")

    def _add(self, where: Where, t: str, negation: str) -> Where:
        keys = naming(self.username, self.full_name)
        return where.add(f"{negation}{_about_reader(t)}", list(keys.exact), keys.part, self.username)


# what the desk waits on (RequestFilter.waiting)
_WAITING = {
    "triage": "r.kind = 'help' and r.status = 'received'",
    "answer": "r.kind = 'enquiry' and r.status <> 'closed'",
    "cases": "r.kind = 'help' and r.status = 'triaged'",
}


@dataclass(frozen=True)
class RequestFilter:
    """Requests whose most precise place lies within `within`; the other fields narrow it where given."""

    within: str
    waiting: str | None = None  # triage, answer, cases
    status: str | None = None  # one status, or "open": not closed
    kind: str | None = None
    township: str | None = None
    name_prefix: str | None = None
    reader: Reader | None = None  # complaints about the reader are left out

    def where(self) -> Where:
        where = Where().add("starts_with(coalesce(r.village_code, r.township_code), {})", self.within)
        if self.reader:
            self.reader.exclude(where, "r")
        if self.waiting in _WAITING:
            where.add(_WAITING[self.waiting])
        if self.status == "open":
            where.add("r.status <> 'closed'")
        elif self.status:
            where.add("r.status = {}", self.status)
        for condition, value in (("r.kind = {}", self.kind), ("r.township_code = {}", self.township)):
            if value:
                where.add(condition, value)
        if self.name_prefix:
            where.add("starts_with(r.name, {})", self.name_prefix)
        return where


@dataclass(frozen=True)
class ReferralFilter:
    """Referrals of one bureau, or within a place (of one bureau, if given); by status, or "open"."""

    within: str | None = None
    bureau: str | None = None
    status: str | None = None

    def where(self) -> Where:
        where = Where()
        if self.within is not None:
            where.add("starts_with(f.township_code, {})", self.within)
        if self.bureau is not None:
            where.add("f.bureau = {}", self.bureau)
        if self.status == "open":
            where.add("f.status <> 'answered'")
        elif self.status:
            where.add("f.status = {}", self.status)
        return where


@dataclass(frozen=True)
class ComplaintFilter:
    """Complaints handled within a place; by status, or "open", and by handling unit where given."""

    within: str = ""
    status: str | None = None
    unit: str | None = None
    reader: Reader | None = None  # complaints about the reader are left out

    def where(self) -> Where:
        where = Where().add("starts_with(c.unit_code, {})", self.within)
        if self.reader:
            self.reader.exclude(where, "c")
        if self.status == "open":
            where.add("c.status <> 'concluded'")
        elif self.status:
            where.add("c.status = {}", self.status)
        if self.unit:
            where.add("c.unit_code = {}", self.unit)
        return where
