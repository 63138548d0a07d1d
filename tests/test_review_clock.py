"""The 20-working-day clock under time skipping: holidays, make-up days, pauses, reminders, escalation.

Each test starts at a stated Beijing instant (tests/clock.py). The domain's example runs on its real dates:
accepted Friday 2026-09-18, deadline 2026-10-22 across National Day with the 09-20 and 10-10 make-up days,
and every timer is skipped to a minute before and a minute after: nothing fires early, it fires on time.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
import pytest

from db.calendar_repo import Notice, import_notice, load_calendar
from rules.stages import Action
from schemas.review import CaseState, MaterialsSupplied, MissingMaterials, ReviewNames, TakeOver
from tests.support.calendar import with_law_days
from tests.support.clock import SkippingEnvironment, at_0830, beijing, midnight_after, minute, on_time
from tests.support.factories import actor
from tests.support.review import act, eventually_state, home_visit, refused, start, state, until_stage, verification


async def fires_on_time(env: SkippingEnvironment, h, at: datetime, fired, what: str) -> CaseState:
    """The case's state once `fired(state)` holds, which it must not a minute before `at` and must a minute after."""

    async def probe() -> CaseState | None:
        s = await state(h)
        return s if fired(s) else None

    return await on_time(env, at, probe, what)


@pytest.mark.start_at(beijing(2026, 9, 18, 10, 0))  # a Friday; National Day 10-01..07, make-up 09-20 and 10-10
async def test_deadline_across_national_day_reminds_and_escalates_on_the_right_day(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start(review_env, "NATIONAL-DAY")
    s = await until_stage(h, "investigation")
    assert s.clock.accepted_on == date(2026, 9, 18)
    assert (s.clock.deadline, s.clock.provisional) == (date(2026, 10, 22), False)
    row = await pool.fetchrow("select deadline, deadline_provisional from cases where case_id = 'NATIONAL-DAY'")
    assert (row["deadline"], row["deadline_provisional"]) == (date(2026, 10, 22), False)

    # The data check is due 10 working days after acceptance: 10-09 (09-20 worked, 09-25 and 10-01..07 off);
    # it escalates when that day closes.
    s = await fires_on_time(
        review_env, h, beijing(2026, 10, 10), lambda s: bool(s.escalations), "verification escalated"
    )
    [esc] = s.escalations
    assert (esc.kind, esc.deadline, minute(esc.at)) == (
        "verification_overdue",
        date(2026, 10, 9),
        beijing(2026, 10, 10),
    )

    # Reminders at 08:30: 5 working days left on 10-15 (16, 19, 20, 21, 22 remain), 2 left on 10-20.
    s = await fires_on_time(
        review_env, h, beijing(2026, 10, 15, 8, 30), lambda s: s.clock.reminders_sent == [5], "5 days left"
    )
    s = await fires_on_time(
        review_env, h, beijing(2026, 10, 20, 8, 30), lambda s: s.clock.reminders_sent == [5, 2], "2 days left"
    )
    reminders = [e for e in s.timeline if e.kind == "reminder"]
    assert [minute(e.at) for e in reminders] == [beijing(2026, 10, 15, 8, 30), beijing(2026, 10, 20, 8, 30)]
    assert [e.payload["days_left"] for e in reminders] == [5, 2]
    audiences = await pool.fetch("select audience from notifications where kind like 'reminder-%' order by id")
    assert [r["audience"] for r in audiences] == ["role:township_approver@341503106", "role:district_officer@341503"]

    # The 20th working day closes at midnight: escalation then, not a minute earlier.
    s = await fires_on_time(review_env, h, beijing(2026, 10, 23), lambda s: s.clock.overdue, "overdue")
    (esc,) = [e for e in s.escalations if e.kind == "overdue"]
    assert (esc.deadline, minute(esc.at)) == (date(2026, 10, 22), beijing(2026, 10, 23))
    row = await pool.fetchrow("select * from escalations where case_id = 'NATIONAL-DAY' and kind = 'overdue'")
    assert row["deadline"] == date(2026, 10, 22)
    assert await pool.fetchval("select overdue from cases where case_id = 'NATIONAL-DAY'") is True
    assert await pool.fetchval("select count(*) from notifications where kind = 'escalation-overdue'") == 1

    # The district may now take the case over; a supervisor may not.
    err = await refused(h, Action.TAKE_OVER, TakeOver(actor=actor("qu_jiandu"), reason="监督抽查"))
    assert err.type == "wrong_role"
    await act(h, Action.TAKE_OVER, TakeOver(actor=actor("qu_minzheng"), reason="超期未办结，区级接管"))
    assert (await state(h)).handled_by == "district"
    taken = await pool.fetch("select taken_over_by from escalations where case_id = 'NATIONAL-DAY'")
    assert [r["taken_over_by"] for r in taken] == ["qu_minzheng", "qu_minzheng"]
    await h.terminate("test over")


@pytest.mark.start_at(beijing(2026, 12, 10, 10, 0))  # the deadline falls in 2027, a year without a notice yet
async def test_a_deadline_in_a_year_without_notice_is_provisional_until_the_notice_is_imported(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start(review_env, "NEXT-YEAR")
    s = await until_stage(h, "investigation")
    async with pool.acquire() as conn:
        before = (await load_calendar(conn)).add_working_days(date(2026, 12, 10), 20)
    assert before.provisional is True and before.date.year == 2027
    assert (s.clock.accepted_on, s.clock.deadline, s.clock.provisional) == (date(2026, 12, 10), before.date, True)

    notice = Notice(
        year=2027,
        source="测试：假定的 2027 年放假安排（元旦 1 月 1 日至 3 日，1 月 4 日、5 日放假，1 月 9 日调休上班）",
        holidays=with_law_days(2027, "2027-01-01", "2027-01-04", "2027-01-05"),
        workdays=["2027-01-09"],
    )
    async with pool.acquire() as conn:
        await import_notice(conn, notice)
        after = (await load_calendar(conn)).add_working_days(date(2026, 12, 10), 20)
    assert after.provisional is False and after.date != before.date
    await h.signal(ReviewNames.CALENDAR_CHANGED)
    s = await eventually_state(h, lambda s: s.clock.deadline == after.date, "deadline recomputed")
    assert s.clock.provisional is False
    # the timeline says so, and the case row the lists read has the new deadline, no longer provisional
    [entry] = [e for e in s.timeline if e.kind == "deadline_recomputed"]
    assert entry.summary == (
        f"工作日历已更新，办结时限重算为 {after.date}，法定办理时限为 {s.clock.statutory_deadline}"
        f"（原为 {before.date}，暂定）"
    )
    row = await pool.fetchrow("select deadline, deadline_provisional from cases where case_id = 'NEXT-YEAR'")
    assert (row["deadline"], row["deadline_provisional"]) == (after.date, False)
    # a calendar change that moves nothing says nothing
    await h.signal(ReviewNames.CALENDAR_CHANGED)
    await act(h, Action.VERIFICATION_RESULT, verification())
    assert [e.kind for e in (await state(h)).timeline].count("deadline_recomputed") == 1
    await h.terminate("test over")


@pytest.mark.start_at(beijing(2026, 3, 2, 9, 0))  # a Monday; March 2026 has no holiday
async def test_pause_for_missing_materials_moves_the_deadline(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start(review_env, "PAUSE-1")
    s = await until_stage(h, "investigation")
    assert (s.clock.accepted_on, s.clock.deadline) == (date(2026, 3, 2), date(2026, 3, 30))
    await act(
        h,
        Action.MISSING_MATERIALS,
        MissingMaterials(actor=actor("shipo_jingban"), items=["户口簿复印件", "残疾证"]),
    )
    s = await state(h)
    assert s.clock.paused and s.clock.paused_since == date(2026, 3, 2)
    err = await refused(h, Action.HOME_VISIT, home_visit(date(2026, 3, 2)))
    assert err.type == "paused"
    note = await pool.fetchrow("select body from notifications where case_id = 'PAUSE-1' and kind like 'missing-%'")
    assert "户口簿复印件" in note["body"] and "残疾证" in note["body"]

    await review_env.skip_to(beijing(2026, 3, 12, 15, 0))  # Thursday of the next week
    ack = await act(h, Action.MATERIALS_SUPPLIED, MaterialsSupplied(actor=actor("shipo_jingban")))
    assert not ack.paused
    s = await state(h)
    assert s.clock.paused_periods == [(date(2026, 3, 3), date(2026, 3, 12))]
    assert s.clock.paused_working_days == 8  # 3-6 March and 9-12 March
    assert s.clock.deadline == ack.deadline == date(2026, 4, 10)  # 28 working days after 03-02 (Qingming 04-06)
    async with pool.acquire() as conn:
        cal = await load_calendar(conn)
    assert cal.add_working_days(date(2026, 3, 2), 28).date == date(2026, 4, 10)
    assert await pool.fetchval("select paused_days from cases where case_id = 'PAUSE-1'") == 8

    # The first reminder now comes 5 working days before 04-10, at 08:30 on 04-02, and not before.
    s = await fires_on_time(
        review_env, h, at_0830(date(2026, 4, 2)), lambda s: s.clock.reminders_sent == [5], "reminder"
    )
    assert midnight_after(s.clock.deadline) == beijing(2026, 4, 11)
    await h.terminate("test over")
