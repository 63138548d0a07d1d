"""The holiday notice the calendar-recount tests import: 2027's, a year the built-in data does not cover (counted with
the statutory holidays alone, 元旦 Friday 2027-01-01 off, until a notice is imported), here with Monday 2027-01-04 off
too (a bridge, as 2007's notice made one), and the other statutory holidays of the law (春节, 清明, ...: a notice that
leaves one out is refused)."""

from __future__ import annotations

from datetime import date

import asyncpg

from db.calendar_repo import Notice, import_notice
from rules.holidays import statutory_days_left_out


def law_days(year: int, *listed: str) -> list[str]:
    """The statutory weekdays of `year` (rules.holidays) not among `listed`: what a notice must list besides them
    to be imported."""
    return [d.isoformat() for d, _ in statutory_days_left_out(year, map(date.fromisoformat, listed), [])]


def with_law_days(year: int, *holidays: str) -> list[str]:
    """`holidays` and the statutory weekdays of `year` not among them, in date order: a notice's holidays."""
    return sorted([*holidays, *law_days(year, *holidays)])


NOTICE_2027 = Notice(
    year=2027,
    source="测试：假定的 2027 年放假安排（元旦 1 月 1 日至 4 日放假）",
    holidays=with_law_days(2027, "2027-01-01", "2027-01-04"),
    workdays=[],
)


async def import_2027(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await import_notice(conn, NOTICE_2027)
