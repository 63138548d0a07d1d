"""The statutory working-day calendar and deadline arithmetic (pure: no I/O, no project imports).

A working day is Monday-Friday except public holidays, plus make-up weekend days (调休). The dates
come from the State Council's yearly notice: `chinese_calendar` carries 2004-2026, later years are
imported by an administrator. A year with neither is counted with the statutory holidays of the law
itself (`rules.holidays`: 元旦, 春节, 清明, 劳动节, 端午, 中秋, 国庆, with the weekend rule) and is
*provisional*: the notice adds bridges and make-up days, so deadlines falling into such a year are
flagged and recomputed once the notice is imported.

Counting follows Civil Code art. 201: the starting day (acceptance) is not counted, and a period
"within N working days" ends at the close of the Nth working day after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import chinese_calendar

from rules.holidays import statutory_holidays

HOLIDAY = "holiday"
WORKDAY = "workday"
DayKind = Literal["holiday", "workday"]

# Years for which the installed chinese_calendar has the State Council notice.
BUILTIN_YEARS: frozenset[int] = frozenset(d.year for d in (*chinese_calendar.holidays, *chinese_calendar.workdays))

_ONE_DAY = timedelta(days=1)

# The notice for a year also arranges the last days of December before it (元旦's bridges and make-up days: the
# 2007 notice 2006-12-30/31, the 2008 notice 2007-12-29..31, the 2012 notice 2011-12-31, the 2019 notice
# 2018-12-29..31). From this day of December on, a day belongs to the next year's notice.
NEXT_NOTICE_FROM = 25


def notice_year(d: date) -> int:
    """The year of the State Council notice that arranges day `d`: its own, or the next from 25 December."""
    return d.year + 1 if d.month == 12 and d.day >= NEXT_NOTICE_FROM else d.year


def notice_span(year: int) -> tuple[date, date]:
    """The first and last day `year`'s notice arranges (inclusive): from 25 December of the year before."""
    return date(year - 1, 12, NEXT_NOTICE_FROM), date(year, 12, NEXT_NOTICE_FROM - 1)


@dataclass(frozen=True)
class Deadline:
    """A computed deadline; `provisional` means it relied on weekends-only counting and may move."""

    date: date
    provisional: bool


class WorkCalendar:
    """Which days are worked, from builtin data plus imported notices.

    `WorkCalendar()` uses the builtin data only and needs no database. `overrides` are `(date, kind)`
    pairs that take precedence over the builtin data. A year in `imported_years` had a full notice
    imported: the builtin data of the days that notice arranges (`notice_span`, so with the last days of
    December before it) is ignored, so a corrected notice can also *remove* a holiday.
    """

    def __init__(self, overrides: Iterable[tuple[date, DayKind]] = (), imported_years: Iterable[int] = ()):
        imported = frozenset(imported_years)
        self._known_years = BUILTIN_YEARS | imported
        self._days: dict[date, DayKind] = {}
        for days, kind in ((chinese_calendar.holidays, HOLIDAY), (chinese_calendar.workdays, WORKDAY)):
            self._days.update((d, kind) for d in days if notice_year(d) not in imported)
        for d, kind in overrides:
            if kind not in (HOLIDAY, WORKDAY):
                raise ValueError(f"unknown calendar day kind {kind!r} for {d}")
            self._days[d] = kind

    def is_workday(self, d: date) -> bool:
        kind = self._days.get(d)
        if kind is None:
            if d.year not in self._known_years and d in statutory_holidays(d.year):
                return False
            return d.weekday() < 5
        return kind == WORKDAY

    def is_provisional(self, year: int) -> bool:
        """True if no notice is known for `year`, so its holidays are not yet accounted for."""
        return year not in self._known_years

    def provisional_years(self, start_year: int, end_year: int) -> list[int]:
        """The provisional years in `start_year..end_year` (inclusive), ascending."""
        return [y for y in range(start_year, end_year + 1) if self.is_provisional(y)]

    def add_working_days(self, start: date, n: int, paused: Sequence[tuple[date, date]] = ()) -> Deadline:
        """The close of the `n`th working day after `start` (`start` itself not counted).

        `paused` are inclusive `(first, last)` ranges when the clock is stopped (e.g. while the
        applicant supplies missing documents): working days inside them do not count. The result is
        provisional if any day that was not paused lies in a provisional year, since a holiday
        (or make-up day) announced later for that year would move it.
        """
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        d, counted, provisional = start, 0, False
        while counted < n:
            d += _ONE_DAY
            if _is_paused(d, paused):
                continue
            provisional = provisional or self.is_provisional(d.year)
            if self.is_workday(d):
                counted += 1
        return Deadline(d, provisional)

    def end_of_period(self, start: date, days: int) -> Deadline:
        """The last day of a period of `days` calendar days after `start` (`start` itself not counted): if it
        falls on a day off (a public holiday or a weekend that is not a make-up working day), the period runs
        to the next working day (Civil Code art. 203). Provisional if that last day's year has no notice."""
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        d = start + timedelta(days=days)
        while not self.is_workday(d):
            d += _ONE_DAY
        return Deadline(d, self.is_provisional(d.year))

    def working_days_between(self, a: date, b: date, paused: Sequence[tuple[date, date]] = ()) -> int:
        """Working days after `a` up to and including `b`, not counting paused days; 0 if `b <= a`.

        Inverse of `add_working_days`: `working_days_between(s, add_working_days(s, n).date) == n`.
        """
        count, d = 0, a + _ONE_DAY
        while d <= b:
            if self.is_workday(d) and not _is_paused(d, paused):
                count += 1
            d += _ONE_DAY
        return count

    def working_day_before(self, deadline: date, n: int) -> date:
        """The working day `d` with `working_days_between(d, deadline) == n` (n >= 0).

        At the close of `d`, exactly `n` working days remain until the close of `deadline`: this is
        the day to send a "n working days left" reminder. For a working-day `deadline` and n == 0
        it is `deadline` itself.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        d, seen = deadline, 0
        while True:
            if self.is_workday(d):
                if seen == n:
                    return d
                seen += 1
            d -= _ONE_DAY


def working_days_left(cal: WorkCalendar, on: date, deadline: date) -> int:
    """Working days from `on` to the close of `deadline`; negative once it has passed, and at least
    one behind then, since a deadline that ran out before a weekend or holiday is overdue all through it."""
    if deadline >= on:
        return cal.working_days_between(on, deadline)
    return -max(cal.working_days_between(deadline, on), 1)


def _is_paused(d: date, paused: Sequence[tuple[date, date]]) -> bool:
    return any(first <= d <= last for first, last in paused)
