"""Calendar-month arithmetic for review cadences and payment months (pure)."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clipped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_bounds(month: str) -> tuple[date, date]:
    """First day of 'YYYY-MM' and first day of the next month."""
    first = date.fromisoformat(month + "-01")
    return first, add_months(first, 1)
