"""The holiday notice the calendar-recount tests import: 2027's, a year the built-in data does not cover (counted with
the statutory holidays alone, 元旦 Friday 2027-01-01 off, until a notice is imported), here with Monday 2027-01-04 off
too (a bridge, as 2007's notice made one)."""

from __future__ import annotations

import asyncpg

from db.calendar_repo import Notice, import_notice

NOTICE_2027 = Notice(
    year=2027,
    source="测试：假定的 2027 年放假安排（元旦 1 月 1 日至 4 日放假）",
    holidays=["2027-01-01", "2027-01-04"],
    workdays=[],
)


async def import_2027(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await import_notice(conn, NOTICE_2027)
