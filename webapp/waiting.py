"""Whom a case, event, request or referral waits on, in words: `rules.waiting` says which role at which place, this
names the place and the people (users' full names, never logins) and counts, on the working-day calendar, how long
it has waited and how many working days are left until it is due. Rendered by `ui/_waiting.html`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from db import places_repo, seats_repo
from db.pool import Db
from infra.clock import BEIJING
from rules.calendar import WorkCalendar, working_days_left
from rules.waiting import APPLICANT, NOTICE, SYSTEM, Wait
from schemas.staff import Bureau, Role

# What the pages call a person of each role where they sit, the place's name in front: the Chinese is also the
# msgid the English catalog translates (`webapp/locale/en/LC_MESSAGES/labels.po`), as for every label.
_AT_PLACE = {
    Role.VILLAGE_CADRE.value: "%(place)s村（社区）干部",
    Role.TOWNSHIP_CASEWORKER.value: "%(place)s经办人",
    Role.TOWNSHIP_APPROVER.value: "%(place)s审批人",
}
_OTHERS = {APPLICANT: "申请人", NOTICE: "公示期", SYSTEM: "系统"}
DISTRICT_OFFICE = "区民政局"


@dataclass(frozen=True)
class WaitLine:
    """One line of "等待…": `kind` is staff, applicant, notice or system; `who` the role at its place (or the
    applicant…), `people` the full names of the staff sitting there; `since` when the wait began, `waited` the
    working days since then, `due` when the step is due and `left` the working days until then. `who` and `what`
    are Chinese (the API's); the pages say them in the reader's language from `who_label` (a label with the
    place's name as `%(place)s`), `place` and `labels` (the steps' labels), through the catalogs."""

    kind: str
    who: str
    what: str
    who_label: str = ""
    place: str = ""
    labels: tuple[str, ...] = ()
    people: list[str] = field(default_factory=list)
    since: datetime | None = None
    waited: int | None = None
    due: date | None = None
    left: int | None = None


def _label(wait: Wait) -> str:
    """Whom `wait` names, with `%(place)s` for the place's name where it has one."""
    if not wait.person:
        return _OTHERS[wait.who]
    if wait.who == Role.BUREAU_STAFF.value:
        return Bureau(wait.bureau).label if wait.bureau else Role.BUREAU_STAFF.label
    return _AT_PLACE.get(wait.who, DISTRICT_OFFICE)


def who_label(wait: Wait, places: dict[str, str]) -> str:
    """The role at its place, by name: 石婆店镇经办人, 示范村一村（社区）干部, 区民政局, 区医保局."""
    return _label(wait) % {"place": places.get(wait.place, wait.place)}


async def people(db: Db, waits: Sequence[Wait]) -> dict[Wait, list[str]]:
    """The full names of the active staff each wait names (a bureau's staff of that bureau)."""
    staff = [w for w in waits if w.person]
    if not staff:
        return {}
    seated = await seats_repo.staff_at(db, sorted({w.place for w in staff}), sorted({w.who for w in staff}))
    return {
        w: [s.full_name for s in seated if (s.role, s.place_code) == (w.who, w.place) and s.bureau == w.bureau]
        for w in staff
    }


async def wait_lines(
    db: Db,
    cal: WorkCalendar,
    waits: Sequence[Wait],
    today: date,
    *,
    since: Callable[[Wait], datetime | None],
    due: Callable[[Wait], date | None],
    names: dict[str, str] | None = None,
    named: dict[Wait, list[str]] | None = None,
) -> list[WaitLine]:
    """Each wait in words, with `since(wait)` and `due(wait)` counted in working days from `today`; `names` (the
    places') and `named` (`people`) where the caller has read them already for many rows."""
    places = names if names is not None else await places_repo.names(db)
    named = named if named is not None else await people(db, waits)
    out = []
    for w in waits:
        began, by = since(w), due(w)
        out.append(
            WaitLine(
                kind="staff" if w.person else w.who,
                who=who_label(w, places),
                what="、".join(w.labels),
                who_label=_label(w),
                place=places.get(w.place, w.place),
                labels=w.labels,
                people=named.get(w, []),
                since=began,
                waited=cal.working_days_between(began.astimezone(BEIJING).date(), today) if began else None,
                due=by,
                left=working_days_left(cal, today, by) if by else None,
            )
        )
    return out
