"""The 20-working-day clock under time skipping: holidays, make-up days, pauses, reminders, escalation.

The time-skipping server starts at today's real time and can only move forward, so the holiday case
runs in 2037, a year whose weekdays fall exactly as in 2026: we import 2026's State Council notice
(same month-days) as the 2037 notice and replay the domain example "accepted Friday 09-18, deadline
10-22" across National Day, with the 09-20 and 10-10 make-up days.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import asyncpg
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from db.calendar_repo import Notice, import_notice, load_calendar
from schemas.review import MaterialsSupplied, MissingMaterials, ReviewNames, TakeOver
from tests.factories import actor
from tests.review_support import act, home_visit, refused, start, state, until_stage
from workflows.review import CST

HOLIDAYS_2026 = [
    "01-01",
    "01-02",
    "02-16",
    "02-17",
    "02-18",
    "02-19",
    "02-20",
    "02-23",
    "04-06",
    "05-01",
    "05-04",
    "05-05",
    "06-19",
    "09-25",
    "10-01",
    "10-02",
    "10-05",
    "10-06",
    "10-07",
]
MAKEUP_2026 = ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"]


def notice_like_2026(year: int) -> Notice:
    return Notice(
        year=year,
        source=f"测试：按 2026 年通知的日期复用于 {year} 年",
        holidays=[f"{year}-{d}" for d in HOLIDAYS_2026],
        workdays=[f"{year}-{d}" for d in MAKEUP_2026],
    )


def minute(at: datetime) -> datetime:
    """Timers fire a few milliseconds after their time; compare to the minute, in Beijing time."""
    return at.astimezone(CST).replace(second=0, microsecond=0)


async def skip_to(env: WorkflowEnvironment, when: datetime) -> None:
    now = await env.get_current_time()
    assert when > now, f"the test server is already past {when}"
    await env.sleep(when - now)


async def eventually(h: WorkflowHandle, predicate, what: str):
    for _ in range(200):
        s = await state(h)
        if predicate(s):
            return s
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}; state: {s.clock}")


async def test_deadline_across_national_day_reminds_and_escalates_on_the_right_day(
    review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    assert date(2037, 9, 18).weekday() == date(2026, 9, 18).weekday() == 4  # both Fridays
    await skip_to(review_env, datetime(2037, 9, 18, 10, 0, tzinfo=CST))
    h = await start(review_env, "NATIONAL-DAY")
    s = await until_stage(h, "investigation")
    assert s.clock.accepted_on == date(2037, 9, 18)
    # No notice for 2037 yet: weekends only, flagged provisional.
    assert (s.clock.deadline, s.clock.provisional) == (date(2037, 10, 16), True)

    async with pool.acquire() as conn:
        await import_notice(conn, notice_like_2026(2037))
    await h.signal(ReviewNames.CALENDAR_CHANGED)
    s = await eventually(h, lambda s: s.clock.deadline == date(2037, 10, 22), "deadline recomputed")
    assert s.clock.provisional is False
    row = await pool.fetchrow("select deadline, deadline_provisional from cases where case_id = 'NATIONAL-DAY'")
    assert (row["deadline"], row["deadline_provisional"]) == (date(2037, 10, 16), True)  # written with next event

    # Reminders: 5 working days left at 10-15 (16, 19, 20, 21, 22 remain), 2 left at 10-20.
    await skip_to(review_env, datetime(2037, 10, 22, 23, 0, tzinfo=CST))
    s = await eventually(h, lambda s: s.clock.reminders_sent == [5, 2], "both reminders")
    assert not s.clock.overdue and [e.kind for e in s.escalations] == ["verification_overdue"]
    # the data check was due 10 working days after acceptance: 10-09 with the notice (09-20 worked, 09-25 and
    # 10-01..07 off), escalated when that day closed
    assert s.escalations[0].deadline == date(2037, 10, 9)
    assert minute(s.escalations[0].at) == datetime(2037, 10, 10, 0, 0, tzinfo=CST)
    reminders = [e for e in s.timeline if e.kind == "reminder"]
    assert [minute(e.at) for e in reminders] == [
        datetime(2037, 10, 15, 8, 30, tzinfo=CST),
        datetime(2037, 10, 20, 8, 30, tzinfo=CST),
    ]
    audiences = await pool.fetch("select audience from notifications where kind like 'reminder-%' order by id")
    assert [r["audience"] for r in audiences] == ["role:township_approver@341503106", "role:district_officer@341503"]

    # The 20th working day closes at midnight: escalation then, not a minute earlier.
    await skip_to(review_env, datetime(2037, 10, 23, 1, 0, tzinfo=CST))
    s = await eventually(h, lambda s: s.clock.overdue, "escalation")
    (esc,) = [e for e in s.escalations if e.kind == "overdue"]
    assert minute(esc.at) == datetime(2037, 10, 23, 0, 0, tzinfo=CST)
    assert esc.deadline == date(2037, 10, 22)
    row = await pool.fetchrow("select * from escalations where case_id = 'NATIONAL-DAY' and kind = 'overdue'")
    assert row["deadline"] == date(2037, 10, 22)
    assert await pool.fetchval("select overdue from cases where case_id = 'NATIONAL-DAY'") is True
    assert await pool.fetchval("select count(*) from notifications where kind = 'escalation-overdue'") == 1

    # The district may now take the case over; a supervisor may not.
    err = await refused(h, ReviewNames.TAKE_OVER, TakeOver(actor=actor("qu_jiandu"), reason="监督抽查"))
    assert err.type == "wrong_role"
    await act(h, ReviewNames.TAKE_OVER, TakeOver(actor=actor("qu_minzheng"), reason="超期未办结，区级接管"))
    assert (await state(h)).handled_by == "district"
    taken = await pool.fetch("select taken_over_by from escalations where case_id = 'NATIONAL-DAY'")
    assert [r["taken_over_by"] for r in taken] == ["qu_minzheng", "qu_minzheng"]
    await h.terminate("test over")


async def test_pause_for_missing_materials_moves_the_deadline(
    review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    await skip_to(review_env, datetime(2037, 3, 2, 9, 0, tzinfo=CST))  # a Monday
    async with pool.acquire() as conn:
        await import_notice(conn, notice_like_2026(2037))
    h = await start(review_env, "PAUSE-1")
    s = await until_stage(h, "investigation")
    before = s.clock.deadline
    await act(
        h,
        ReviewNames.MISSING_MATERIALS,
        MissingMaterials(actor=actor("shipo_jingban"), items=["户口簿复印件", "残疾证"]),
    )
    s = await state(h)
    assert s.clock.paused and s.clock.paused_since == date(2037, 3, 2)
    err = await refused(h, ReviewNames.HOME_VISIT, home_visit(date(2037, 3, 2)))
    assert err.type == "paused"
    note = await pool.fetchrow("select body from notifications where case_id = 'PAUSE-1' and kind like 'missing-%'")
    assert "户口簿复印件" in note["body"] and "残疾证" in note["body"]

    await skip_to(review_env, datetime(2037, 3, 12, 15, 0, tzinfo=CST))  # Thursday of the next week
    ack = await act(h, ReviewNames.MATERIALS_SUPPLIED, MaterialsSupplied(actor=actor("shipo_jingban")))
    assert not ack.paused
    s = await state(h)
    assert s.clock.paused_periods == [(date(2037, 3, 3), date(2037, 3, 12))]
    assert s.clock.paused_working_days == 8  # 3-6 March and 9-12 March
    async with pool.acquire() as conn:
        cal = await load_calendar(conn)
    assert before == cal.add_working_days(date(2037, 3, 2), 20).date
    assert s.clock.deadline == cal.add_working_days(date(2037, 3, 2), 28).date == ack.deadline
    assert await pool.fetchval("select paused_days from cases where case_id = 'PAUSE-1'") == 8
    await h.terminate("test over")
