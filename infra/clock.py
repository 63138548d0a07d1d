"""Now and today in Beijing time, for everything that is not workflow code (a workflow reads
`workflow.now()`). Never `date.today()` or a naive `datetime.now()`: the machine may be in any zone, and
between 16:00 and 24:00 UTC its date is a day behind Beijing's."""

from __future__ import annotations

from datetime import date, datetime

from rules.clock import BEIJING

__all__ = ["BEIJING", "now", "today"]


def now() -> datetime:
    """The current instant, as an aware datetime in Beijing time."""
    return datetime.now(BEIJING)


def today() -> date:
    """Today's date in Beijing."""
    return now().date()
