"""Beijing time: the zone every date of the system is in (pure: no I/O, no project imports).

A case accepted at 00:30 Beijing on 4 December was accepted on 4 December, whatever zone the machine is
in. China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact for every date
the system handles and needs no time-zone database (workflow code stays deterministic).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))

# Reminders go out at the start of office hours.
REMIND_AT = time(8, 30)


def beijing_date(at: datetime) -> date:
    """The Beijing calendar date of an aware instant."""
    return at.astimezone(BEIJING).date()


def at_time(day: date, at: time = time(0)) -> datetime:
    """`day` at `at` o'clock, Beijing time."""
    return datetime.combine(day, at, tzinfo=BEIJING)


def end_of(day: date) -> datetime:
    """The close of `day`: 00:00 Beijing of the next day, when a deadline on `day` has passed."""
    return at_time(day + timedelta(days=1))


def last_day(ends_at: datetime) -> date:
    """The last day, inclusive, of a period that ends at `ends_at` (a 公示 ending at 00:00 on 12-12 runs
    to 12-11 inclusive): every page and PDF states a period's end this way."""
    return beijing_date(ends_at - timedelta(microseconds=1))
