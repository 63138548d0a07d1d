"""A calendar import reaches every open workflow with a working-day deadline, not only review cases in review and
emergency events: a 12349 request not answered, a referral, a complaint, a discovery task and a refused case whose
refusal notice is still to be delivered are told (`infra.calendar_news`), count their open deadlines again from the
same day, record the new dates where they record their other events (the front door's log and rows, the task's row,
the case timeline), and their timers fire on the new date, not the old one.

Each test starts in late December 2026 so that its deadline runs into 2027, a year whose holiday notice is not in
the calendar yet: counted with the statutory holidays alone (元旦, Friday 2027-01-01, off) and provisional (暂定).
The notice then imported makes Monday 2027-01-04 a holiday too (a bridge, as 2007's notice did).
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
import pytest

from db.calendar_repo import load_calendar
from infra.calendar_news import announce_calendar_change
from rules.stages import Action
from schemas.discovery import DiscoveryNames, DiscoveryState
from schemas.frontdoor import (
    ComplaintNames,
    ComplaintState,
    IntakeNames,
    IntakeState,
    ReferralNames,
    ReferralState,
    RequestKind,
)
from schemas.review import Decision
from tests.support.calendar import import_2027
from tests.support.clients import insert_case
from tests.support.clock import SkippingEnvironment, beijing, minute, on_time
from tests.support.discovery import task_for
from tests.support.factories import actor
from tests.support.frontdoor import filed, referred, submit
from tests.support.review import act, eventually_state, investigate, start, state
from tests.support.workflows import end_if_running, eventually, query_until


async def count(pool: asyncpg.Pool, start: date, days: int) -> tuple[date, bool]:
    """What the calendar as it is now says of `days` working days after `start` (a check of the dates stated)."""
    async with pool.acquire() as conn:
        d = (await load_calendar(conn)).add_working_days(start, days)
    return d.date, d.provisional


async def log_entries(pool: asyncpg.Pool, subject_type: str, subject_id: str, kind: str) -> list[dict]:
    rows = await pool.fetch(
        "select payload from frontdoor_log where subject_type = $1 and subject_id = $2 and kind = $3 order by id",
        subject_type,
        subject_id,
        kind,
    )
    return [r["payload"] for r in rows]


async def recounted(env: SkippingEnvironment, h, query: str, result_type, limits: dict, summary: str):
    """The state of a referral or complaint once its limits are counted again: `limits` as they are now (the clock
    held while they are read), and the entry `summary` in its log."""
    first = next(iter(limits))
    with env.auto_time_skipping_disabled():
        s = await query_until(h, query, result_type, lambda s: getattr(s, first) == limits[first])
        assert {k: getattr(s, k) for k in limits} == limits
        [entry] = [e for e in s.log if e["kind"] == "limits_recomputed"]
        assert entry["summary"] == summary
    return s


async def row_with(pool: asyncpg.Pool, table: str, key: str, value: str, limits: dict) -> asyncpg.Record:
    """The subject's row once it has the first of `limits` (written after the state changed)."""
    first = next(iter(limits))

    async def row():
        r = await pool.fetchrow(f"select * from {table} where {key} = $1", value)
        return r if r[first] == limits[first] else None

    return await eventually(row, f"{table} {value} has its new limits")


@pytest.mark.start_at(beijing(2026, 12, 28, 10, 0))  # a Monday
async def test_a_discovery_visit_reported_late_is_no_longer_provisional(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    task_id, h, s = await task_for(review_env, pool, 1, "341503106", date(2026, 12, 28))
    assert (s.visit_due, s.provisional) == (date(2027, 1, 12), True)  # 2027's notice not in the calendar

    async def escalated() -> DiscoveryState | None:
        s = await h.query(DiscoveryNames.STATE, result_type=DiscoveryState)
        return s if s.status == "escalated" else None

    # no calendar import: the day closes as counted, the district is told, and the date stands (暂定 no more)
    s = await on_time(review_env, beijing(2027, 1, 13), escalated, "discovery task escalated")
    assert (s.visit_due, s.provisional) == (date(2027, 1, 12), False)
    row = await pool.fetchrow(
        "select status, visit_due, visit_provisional from discovery_tasks where task_id = $1", task_id
    )
    assert tuple(row) == ("escalated", date(2027, 1, 12), False)
    await end_if_running(h)


@pytest.mark.start_at(beijing(2026, 12, 30, 10, 0))  # a Wednesday
async def test_a_referral_counts_its_limits_again_and_escalates_on_the_new_day(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    request, h, s = await referred(review_env, "12349-20261230-CAL001")
    referral_id = s.referral_id
    # 3 working days after 12-30: 12-31, then 01-04 and 01-05 (01-01 off by the law alone); 15: ... 01-21
    assert (s.accept_due, s.accept_provisional) == (date(2027, 1, 5), True)
    assert (s.result_due, s.result_provisional) == (date(2027, 1, 21), True)
    assert await count(pool, date(2026, 12, 30), 3) == (date(2027, 1, 5), True)

    await import_2027(pool)
    # 01-04 off too: 12-31, 01-05, 01-06; and 15 working days end on 01-22; neither provisional any more
    assert await count(pool, date(2026, 12, 30), 3) == (date(2027, 1, 6), False)
    assert await count(pool, date(2026, 12, 30), 15) == (date(2027, 1, 22), False)
    # the referral and the request it came from, still waiting for it (no case is open)
    assert await announce_calendar_change(review_env.client, pool) == (2, [])

    limits = {"accept_due": date(2027, 1, 6), "accept_provisional": False}
    limits |= {"result_due": date(2027, 1, 22), "result_provisional": False}
    summary = (
        "工作日历已更新，签收期限重算为 2027-01-06（原为 2027-01-05，暂定）；"
        "反馈结果期限重算为 2027-01-22（原为 2027-01-21，暂定）"
    )
    await recounted(review_env, h, ReferralNames.STATE, ReferralState, limits, summary)
    # the row the bureau's inbox and the desk read
    row = await row_with(pool, "referrals", "referral_id", referral_id, limits)
    assert (row["accept_due"], row["result_due"]) == (date(2027, 1, 6), date(2027, 1, 22))
    [payload] = await log_entries(pool, "referral", referral_id, "limits_recomputed")
    assert (payload["accept_due"], payload["result_due"]) == ("2027-01-06", "2027-01-22")

    # the old day's close passes quietly; the new one's escalates, not a minute before
    await review_env.skip_to(beijing(2027, 1, 6, 0, 1))
    with review_env.auto_time_skipping_disabled():
        assert (await h.query(ReferralNames.STATE, result_type=ReferralState)).escalations == []
        assert await pool.fetchval("select escalated from referrals where referral_id = $1", referral_id) is False

    async def escalated() -> ReferralState | None:
        s = await h.query(ReferralNames.STATE, result_type=ReferralState)
        return s if s.escalations else None

    s = await on_time(review_env, beijing(2027, 1, 7), escalated, "acceptance escalated")
    assert s.escalations == ["accept"]
    [late] = [e for e in s.log if e["kind"] == "escalated_accept"]
    assert (late["payload"]["due"], minute(datetime.fromisoformat(late["at"]))) == ("2027-01-06", beijing(2027, 1, 7))
    await end_if_running(h)
    await end_if_running(request)


@pytest.mark.start_at(beijing(2026, 12, 30, 10, 0))  # a Wednesday
async def test_a_request_counts_its_answer_date_again_and_escalates_on_the_new_day(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    number = "12349-20261230-CAL005"
    h = await submit(review_env, number, RequestKind.HELP, ["medical_costs"])  # not triaged: waits for the desk
    # 5 working days after 12-30: 12-31, then 01-04..07 (01-01 off by the law alone)
    s = await query_until(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    assert (s.answer_due, s.answer_provisional) == (date(2027, 1, 7), True)
    assert await count(pool, date(2026, 12, 30), 5) == (date(2027, 1, 7), True)
    row = await pool.fetchrow("select * from frontdoor_requests where request_no = $1", number)
    assert (row["answer_due"], row["answer_provisional"]) == (date(2027, 1, 7), True)

    await import_2027(pool)
    # 01-04 off too: 12-31, 01-05..08; no longer provisional
    assert await count(pool, date(2026, 12, 30), 5) == (date(2027, 1, 8), False)
    assert await announce_calendar_change(review_env.client, pool) == (1, [])  # the request (nothing else is open)
    with review_env.auto_time_skipping_disabled():
        s = await query_until(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due == date(2027, 1, 8))
        assert (s.status, s.answer_due, s.answer_provisional) == ("received", date(2027, 1, 8), False)
        [entry] = [e for e in s.log if e["kind"] == "limits_recomputed"]
        assert entry["summary"] == "工作日历已更新，答复期限重算为 2027-01-08（原为 2027-01-07，暂定）"
    # the row the desk's lists read, written by the log entry
    limits = {"answer_due": date(2027, 1, 8), "answer_provisional": False}
    row = await row_with(pool, "frontdoor_requests", "request_no", number, limits)
    assert (row["answer_due"], row["answer_provisional"], row["status"]) == (date(2027, 1, 8), False, "received")
    [payload] = await log_entries(pool, "request", number, "limits_recomputed")
    assert (payload["answer_due"], payload["answer_provisional"]) == ("2027-01-08", False)

    # the old day's close passes quietly; the new one's escalates, not a minute before
    await review_env.skip_to(beijing(2027, 1, 8, 0, 1))
    with review_env.auto_time_skipping_disabled():
        s = await h.query(IntakeNames.STATE, result_type=IntakeState)
        assert [e["kind"] for e in s.log if e["kind"].startswith("escalated")] == []

    async def escalated() -> dict | None:
        s = await h.query(IntakeNames.STATE, result_type=IntakeState)
        return next((e for e in s.log if e["kind"] == "escalated_answer"), None)

    late = await on_time(review_env, beijing(2027, 1, 9), escalated, "request escalated")
    assert (late["payload"]["due"], minute(datetime.fromisoformat(late["at"]))) == ("2027-01-08", beijing(2027, 1, 9))
    told = await eventually(
        lambda: pool.fetchval("select body from notifications where kind = 'request-escalated_answer'"),
        "the district told",
    )
    assert told == f"12349 诉求 {number} 未在 2027-01-08 前答复完毕"
    await end_if_running(h)


@pytest.mark.start_at(beijing(2026, 12, 20, 10, 0))  # a Sunday: the portal takes complaints any day
async def test_a_complaint_whose_last_day_becomes_a_holiday_runs_to_the_next_working_day(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    number = "TS-20261220-CAL002"
    h, s = await filed(review_env, number, "村里低保评议不公开")
    # 15 calendar days after 12-20: Monday 2027-01-04, a working day by the law alone; 60: Thursday 2027-02-18
    assert (s.accept_due, s.accept_provisional, s.conclude_due, s.conclude_provisional) == (
        date(2027, 1, 4),
        True,
        date(2027, 2, 18),
        True,
    )

    await import_2027(pool)
    # 01-04 is now a holiday: the limit runs to Tuesday 01-05 (Civil Code art. 203); 02-18 stays, and is settled
    assert await announce_calendar_change(review_env.client, pool) == (1, [])
    limits = {"accept_due": date(2027, 1, 5), "accept_provisional": False}
    limits |= {"conclude_due": date(2027, 2, 18), "conclude_provisional": False}
    summary = (
        "工作日历已更新，受理期限重算为 2027-01-05（原为 2027-01-04，暂定）；"
        "办结期限重算为 2027-02-18（原为 2027-02-18，暂定）"
    )
    await recounted(review_env, h, ComplaintNames.STATE, ComplaintState, limits, summary)
    row = await row_with(pool, "complaints", "complaint_no", number, limits)
    assert (row["accept_due"], row["conclude_due"]) == (date(2027, 1, 5), date(2027, 2, 18))

    await review_env.skip_to(beijing(2027, 1, 5, 0, 1))  # the old last day has closed
    with review_env.auto_time_skipping_disabled():
        assert (await h.query(ComplaintNames.STATE, result_type=ComplaintState)).escalations == []
        assert await pool.fetchval("select escalated from complaints where complaint_no = $1", number) is False

    async def escalated() -> ComplaintState | None:
        s = await h.query(ComplaintNames.STATE, result_type=ComplaintState)
        return s if s.escalations else None

    s = await on_time(review_env, beijing(2027, 1, 6), escalated, "complaint escalated")
    assert s.escalations == ["accept"]
    note = await eventually(
        lambda: pool.fetchval("select body from notifications where kind = 'complaint-escalated_accept'"),
        "the district told",
    )
    assert note == "投诉未在 2027-01-05 前受理，已上报区民政局"
    await end_if_running(h)


@pytest.mark.start_at(beijing(2026, 12, 28, 10, 0))  # a Monday
async def test_a_discovery_task_counts_its_visit_again(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    on = date(2026, 12, 28)
    task_id, h, s = await task_for(review_env, pool, 1, "341503106", on)
    # 10 working days after 12-28: 12-29, 12-30, 12-31, 01-04..08 (01-01 off), 01-11, 01-12
    assert (s.visit_due, s.provisional) == (date(2027, 1, 12), True)

    await import_2027(pool)
    assert await count(pool, on, 10) == (date(2027, 1, 13), False)
    assert await announce_calendar_change(review_env.client, pool) == (1, [])
    with review_env.auto_time_skipping_disabled():
        s = await query_until(h, DiscoveryNames.STATE, DiscoveryState, lambda s: s.visit_due == date(2027, 1, 13))
        assert (s.status, s.visit_due, s.provisional) == ("open", date(2027, 1, 13), False)
    await eventually(
        lambda: pool.fetchval("select 1 from discovery_tasks where task_id = $1 and visit_due = '2027-01-13'", task_id),
        "the task's row has the new deadline",
    )

    await review_env.skip_to(beijing(2027, 1, 13, 0, 1))  # the old day has closed: not reported
    with review_env.auto_time_skipping_disabled():
        assert (await h.query(DiscoveryNames.STATE, result_type=DiscoveryState)).status == "open"

    async def escalated() -> DiscoveryState | None:
        s = await h.query(DiscoveryNames.STATE, result_type=DiscoveryState)
        return s if s.status == "escalated" else None

    s = await on_time(review_env, beijing(2027, 1, 14), escalated, "discovery task escalated")
    assert minute(s.escalated_at) == beijing(2027, 1, 14)
    told = await eventually(
        lambda: pool.fetchval("select body from notifications where kind = 'discovery-overdue'"), "the district told"
    )
    assert told == f"主动发现任务 {task_id}（大额医疗支出）应于 2027-01-13 前入户核实，已超期，请督办"
    await end_if_running(h)


@pytest.mark.start_at(beijing(2026, 12, 30, 10, 0))  # a Wednesday
async def test_a_refusal_notice_not_yet_delivered_counts_its_day_again(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    # a case refused before its workflow waited for the delivery: nothing left to tell, and no failure
    await insert_case(pool, "OLD-REFUSED", stage="refused", status="refused")
    h = await start(review_env, "CAL-REFUSED")
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=False, reasons="家庭人均收入高于标准"))
    # 3 working days after 12-30: 12-31, 01-04, 01-05 (01-01 off by the law alone)
    s = await eventually_state(h, lambda s: s.refusal_deliver_by is not None, "refusal notice due")
    assert (s.stage, s.refusal_deliver_by, s.refusal_provisional) == ("refused", date(2027, 1, 5), True)

    await import_2027(pool)
    assert await count(pool, date(2026, 12, 30), 3) == (date(2027, 1, 6), False)
    assert await announce_calendar_change(review_env.client, pool) == (1, [])  # the refused case, not the old one
    with review_env.auto_time_skipping_disabled():
        s = await eventually_state(h, lambda s: s.refusal_deliver_by == date(2027, 1, 6), "delivery day recounted")
        assert (s.refusal_deliver_by, s.refusal_provisional) == (date(2027, 1, 6), False)
        [entry] = [e for e in s.timeline if e.kind == "refusal_deliver_by_recomputed"]
        assert entry.summary == "工作日历已更新，不予批准通知书送达期限重算为 2027-01-06（原为 2027-01-05，暂定）"
        # the limit of the review itself is not counted again once the case is decided
        assert [e.kind for e in s.timeline].count("deadline_recomputed") == 0
    logged = await eventually(
        lambda: pool.fetchval(
            "select payload from case_events where case_id = 'CAL-REFUSED' and kind = 'refusal_deliver_by_recomputed'"
        ),
        "the timeline's entry written",
    )
    assert (logged["deliver_by"], logged["previous_deliver_by"]) == ("2027-01-06", "2027-01-05")

    await review_env.skip_to(beijing(2027, 1, 6, 0, 1))  # the old day has closed: no reminder yet
    with review_env.auto_time_skipping_disabled():
        assert "refusal_delivery_overdue" not in [e.kind for e in (await state(h)).timeline]

    async def overdue():
        s = await state(h)
        return s if "refusal_delivery_overdue" in [e.kind for e in s.timeline] else None

    s = await on_time(review_env, beijing(2027, 1, 7), overdue, "refusal delivery overdue")
    [late] = [e for e in s.timeline if e.kind == "refusal_delivery_overdue"]
    assert (late.payload["deliver_by"], minute(late.at)) == ("2027-01-06", beijing(2027, 1, 7))
    await end_if_running(h)
