"""Issue 15, points 4 and 5, under the time-skipping server: a documentation deadline for every payment (5 working
days, across holidays and make-up days), a district officer's written exemption, and the 24-hour promise from
registration to the first payment (reminder at half-time, then the township, then the district)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from rules.emergency_actions import EmergencyAction
from schemas.emergency import CloseEvent, Escalation
from tests.support.actions import update_of
from tests.support.clock import SkippingEnvironment, beijing, minute, on_time
from tests.support.emergency import (
    DISTRICT,
    TOWNSHIP,
    VILLAGE,
    documents,
    exempt,
    fund,
    logged,
    pay,
    start_emergency,
    state,
)
from tests.support.factories import actor
from tests.support.workflows import eventually, refused


async def notes(pool: asyncpg.Pool, event_id: str, count: int) -> list[tuple[str, str, str]]:
    """The event's notifications (audience, kind, body), once there are `count` of them."""

    async def written() -> list | None:
        rows = await pool.fetch(
            "select audience, kind, body from notifications where idempotency_key like $1 order by id", f"{event_id}-%"
        )
        return [tuple(r) for r in rows] if len(rows) >= count else None

    return await eventually(written, f"{count} notifications of {event_id}")


def close(who: str) -> CloseEvent:
    return CloseEvent(actor=actor(who), summary="救助到位")


# Thursday 2026-09-24: 09-25 (中秋) is off, then the weekend; 10-01..07 (国庆) are off, Saturday 10-10 is worked.
@pytest.mark.start_at(beijing(2026, 9, 24, 10, 0))
async def test_each_payment_opens_its_own_documentation_deadline(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    await fund(pool, TOWNSHIP, "5000")
    h = await start_emergency(review_env, "EACH-1")
    await pay(h, "shipo_cun1", "village", "1000")
    # 5 working days after Thursday 09-24: 09-28, 09-29, 09-30, 10-08, 10-09; reminder with 2 left: 09-30
    s = await state(h)
    assert [(d.payment_key, d.due, d.remind_on) for d in s.documentation] == [
        ("EACH-1-pay-001", date(2026, 10, 9), date(2026, 9, 30))
    ]
    await h.execute_update(
        update_of(EmergencyAction.ESCALATE), Escalation(actor=actor("shipo_cun1"), reason="病情加重")
    )
    await review_env.skip_to(beijing(2026, 9, 28, 10, 0))
    await pay(h, "shipo_shenpi", "township", "1500")
    # Monday 09-28: 09-29, 09-30, 10-08, 10-09 and Saturday 10-10 (made up); reminder with 2 left: 10-08
    s = await state(h)
    assert [(d.payment_key, d.tier, d.amount, d.due, d.remind_on, d.status) for d in s.documentation] == [
        ("EACH-1-pay-001", "village", Decimal("1000.00"), date(2026, 10, 9), date(2026, 9, 30), "due"),
        ("EACH-1-pay-002", "township", Decimal("1500.00"), date(2026, 10, 10), date(2026, 10, 8), "due"),
    ]
    assert (s.documentation_due, s.documents_done) == (date(2026, 10, 9), False)
    rows = await pool.fetch(
        "select payment_key, documentation_due from aid_payments where event_id = 'EACH-1' order by id"
    )
    assert [tuple(r) for r in rows] == [("EACH-1-pay-001", date(2026, 10, 9)), ("EACH-1-pay-002", date(2026, 10, 10))]

    # The first payment's documents do not cover the second: the event cannot close.
    await documents(h, "shipo_jingban", "EACH-1-pay-001")
    assert (await refused(documents(h, "shipo_jingban", "EACH-1-pay-001"))).type == "documents_complete"
    assert (await refused(documents(h, "shipo_jingban", "EACH-1-pay-009"))).type == "unknown_payment"
    s = await state(h)
    assert [d.status for d in s.documentation] == ["documented", "due"]
    assert s.documentation[0].documented_by == "shipo_jingban"
    assert (s.documentation_due, s.documents_done) == (date(2026, 10, 10), False)
    err = await refused(h.execute_update(update_of(EmergencyAction.CLOSE), close("shipo_jingban")))
    assert err.type == "documents_missing"

    # No reminder for the documented payment (its would have gone at 08:30 on 09-30); the second's at 10-08 08:30.
    reminder = await on_time(
        review_env, beijing(2026, 10, 8, 8, 30), logged(h, "documentation_reminder"), "documentation reminder"
    )
    assert (minute(datetime.fromisoformat(reminder["at"])), reminder["payload"]) == (
        beijing(2026, 10, 8, 8, 30),
        {"due": "2026-10-10", "payment_key": "EACH-1-pay-002"},
    )
    # Overdue when Saturday 10-10 has closed: 00:00 on 10-11.
    overdue = await on_time(
        review_env, beijing(2026, 10, 11), logged(h, "documentation_overdue"), "documentation overdue"
    )
    assert overdue["payload"] == {"due": "2026-10-10", "payment_key": "EACH-1-pay-002"}
    s = await state(h)
    assert ([d.status for d in s.documentation], s.documentation_overdue) == (["documented", "overdue"], True)
    assert [e["kind"] for e in s.log if e["kind"].startswith("documentation_")] == [
        "documentation_reminder",
        "documentation_overdue",
    ]

    async def flagged() -> asyncpg.Record | None:
        row = await pool.fetchrow(
            "select documentation_due, documentation_overdue, documents_done from emergencies where event_id = 'EACH-1'"
        )
        return row if row["documentation_overdue"] else None

    assert tuple(await eventually(flagged, "the event row flagged overdue")) == (date(2026, 10, 10), True, False)
    second = "赵六（EACH-1）：第 2 笔发放（乡镇（街道）临时救助 1500.00 元）的先行救助材料"
    assert await notes(pool, "EACH-1", 2) == [
        (
            f"role:township_caseworker@{TOWNSHIP}",
            "emergency-documentation-reminder",
            f"{second}应于 2026-10-10 前补齐，请及时办理",
        ),
        (
            f"role:district_officer@{DISTRICT}",
            "emergency-documentation-overdue",
            f"{second}逾期未补齐（应于 2026-10-10 前），已上报区民政局",
        ),
    ]

    # Only a district officer's written decision waives them.
    for who in ("shipo_jingban", "shipo_shenpi", "qu_jiandu"):
        assert (await refused(exempt(h, who))).type == "wrong_role", who
    assert (await refused(exempt(h, "qu_minzheng", "EACH-1-pay-001"))).type == "documents_complete"
    ack = await exempt(h, "qu_minzheng")
    s = await state(h)
    waived = s.documentation[1]
    assert (waived.status, waived.exempted_by, waived.exemption_no) == ("exempted", "qu_minzheng", "裕民救〔2026〕12号")
    assert (s.documents_done, s.documentation_overdue) == (True, False)
    entry = next(e for e in s.log if e["log_key"] == ack.log_key)
    assert (entry["kind"], entry["payload"]) == (
        "documents_exempted",
        {"decision_no": "裕民救〔2026〕12号", "reason": "原始票据毁于火灾，无法补齐", "payments": ["EACH-1-pay-002"]},
    )
    assert (await refused(documents(h, "shipo_jingban"))).type == "documents_complete"
    await h.execute_update(update_of(EmergencyAction.CLOSE), close("shipo_jingban"))
    final = await h.result()
    assert (final.status, final.total, final.documents_done) == ("closed", Decimal("2500.00"), True)
    row = await pool.fetchrow("select documentation_overdue, documents_done from emergencies where event_id = 'EACH-1'")
    assert tuple(row) == (False, True)
    rows = await pool.fetch(
        "select documented_by, exempted_by, exemption_no, documentation_overdue from aid_payments "
        "where event_id = 'EACH-1' order by id"
    )
    assert [tuple(r) for r in rows] == [
        ("shipo_jingban", None, None, False),
        (None, "qu_minzheng", "裕民救〔2026〕12号", True),
    ]


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday
async def test_documents_supplied_once_do_not_cover_a_later_payment(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """The bug: the first payment's documents closed the file on every later payment."""
    await fund(pool, VILLAGE, "5000")
    h = await start_emergency(review_env, "LATER-1")
    await pay(h, "shipo_cun1", "village", "600")
    await documents(h, "shipo_cun1")  # every payment owing documents: the first
    assert (await state(h)).documents_done
    await review_env.skip_to(beijing(2026, 11, 26, 15, 0))
    await pay(h, "shipo_cun1", "village", "300")
    s = await state(h)
    # Tuesday 11-24: 25, 26, 27, 30 November, 1 December; Thursday 11-26: 27, 30, 1, 2, 3 December
    assert [(d.due, d.status) for d in s.documentation] == [
        (date(2026, 12, 1), "documented"),
        (date(2026, 12, 3), "due"),
    ]
    assert (s.documentation_due, s.documents_done) == (date(2026, 12, 3), False)
    err = await refused(h.execute_update(update_of(EmergencyAction.CLOSE), close("shipo_cun1")))
    assert err.type == "documents_missing"
    await documents(h, "shipo_cun1")
    await h.execute_update(update_of(EmergencyAction.CLOSE), close("shipo_cun1"))
    assert (await h.result()).status == "closed"


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_the_24_hour_promise_reminds_then_escalates_to_the_township_then_the_district(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    h = await start_emergency(review_env, "PROMISE-1")
    p = (await state(h)).payment_promise
    assert p is not None and minute(p.registered_at) == beijing(2026, 11, 24, 9, 30)
    registered = p.registered_at
    assert (p.remind_at - registered, p.due_at - registered, p.district_at - registered) == (
        timedelta(hours=12),
        timedelta(hours=24),
        timedelta(hours=48),
    )
    assert (minute(p.remind_at), minute(p.due_at), minute(p.district_at)) == (
        beijing(2026, 11, 24, 21, 30),
        beijing(2026, 11, 25, 9, 30),
        beijing(2026, 11, 26, 9, 30),
    )
    row = await pool.fetchrow("select payment_due, payment_overdue from emergencies where event_id = 'PROMISE-1'")
    assert (row["payment_due"], row["payment_overdue"]) == (p.due_at, False)

    reminder = await on_time(review_env, registered + timedelta(hours=12), logged(h, "payment_reminder"), "reminder")
    assert reminder["summary"] == "登记已过 12 小时尚未发放救助金，应于 2026-11-25 09:30 前发放"
    s = await state(h)
    assert (s.payment_promise.reminded, s.payment_promise.escalated_to) == (True, None)

    overdue = await on_time(review_env, registered + timedelta(hours=24), logged(h, "payment_overdue"), "overdue")
    assert overdue["summary"] == "登记已满 24 小时仍未发放救助金（应于 2026-11-25 09:30 前），已上报乡镇（街道）"
    s = await state(h)
    assert (s.payment_promise.escalated_to, s.payment_promise.overdue) == ("township", True)

    async def row_says(escalated: str) -> asyncpg.Record | None:
        r = await pool.fetchrow(
            "select payment_overdue, payment_escalated_to, first_paid_at from emergencies where event_id = 'PROMISE-1'"
        )
        return r if r["payment_escalated_to"] == escalated else None

    assert tuple(await eventually(lambda: row_says("township"), "escalated to the township")) == (
        True,
        "township",
        None,
    )
    escalated = await on_time(review_env, registered + timedelta(hours=48), logged(h, "payment_escalated"), "district")
    assert escalated["summary"] == "超过发放时限 24 小时仍未发放救助金（应于 2026-11-25 09:30 前），已上报区民政局"
    assert tuple(await eventually(lambda: row_says("district"), "escalated to the district")) == (
        True,
        "district",
        None,
    )
    assert await notes(pool, "PROMISE-1", 3) == [
        (
            f"role:village_cadre@{VILLAGE}",
            "emergency-payment-reminder",
            "赵六（PROMISE-1）：登记已过 12 小时尚未发放救助金，应于 2026-11-25 09:30 前发放",
        ),
        (
            f"role:township_approver@{TOWNSHIP}",
            "emergency-payment-overdue",
            "赵六（PROMISE-1）：登记已满 24 小时仍未发放救助金（应于 2026-11-25 09:30 前），已上报乡镇（街道）",
        ),
        (
            f"role:district_officer@{DISTRICT}",
            "emergency-payment-escalated",
            "赵六（PROMISE-1）：超过发放时限 24 小时仍未发放救助金（应于 2026-11-25 09:30 前），已上报区民政局",
        ),
    ]

    # Paid at last, on 11-26 at 10:00: the clock stops, the event is paid late and no longer overdue.
    await review_env.skip_to(beijing(2026, 11, 26, 10, 0))
    await pay(h, "shipo_cun1", "village", "800")
    s = await state(h)
    assert minute(s.payment_promise.first_paid_at) == beijing(2026, 11, 26, 10, 0)
    assert (s.payment_promise.overdue, s.payment_promise.paid_late) == (False, True)
    row = await pool.fetchrow(
        "select payment_overdue, payment_escalated_to, first_paid_at from emergencies where event_id = 'PROMISE-1'"
    )
    assert (row["payment_overdue"], row["payment_escalated_to"]) == (False, "district")
    assert row["first_paid_at"] == s.payment_promise.first_paid_at
    await h.terminate("test over")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_a_payment_within_24_hours_stops_the_clock(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    await fund(pool, VILLAGE, "5000")
    h = await start_emergency(review_env, "PROMPT-1")
    await review_env.skip_to(beijing(2026, 11, 24, 20, 0))  # before the reminder at 21:30
    await pay(h, "shipo_cun1", "village", "500")
    # past the township's (11-25 09:30) and the district's (11-26 09:30) instants, before the documents' reminder
    await review_env.skip_to(beijing(2026, 11, 27, 8, 0))
    s = await state(h)
    assert minute(s.payment_promise.first_paid_at) == beijing(2026, 11, 24, 20, 0)
    assert (s.payment_promise.reminded, s.payment_promise.escalated_to, s.payment_promise.paid_late) == (
        False,
        None,
        False,
    )
    assert [e["kind"] for e in s.log] == ["registered", "payment"]
    assert await pool.fetchval("select count(*) from notifications where idempotency_key like 'PROMPT-1-%'") == 0
    row = await pool.fetchrow(
        "select payment_overdue, payment_escalated_to from emergencies where event_id = 'PROMPT-1'"
    )
    assert tuple(row) == (False, None)
    await h.terminate("test over")


# Monday 2026-12-28: 5 working days run into 2027, a year whose holiday notice is not in the calendar yet.
@pytest.mark.start_at(beijing(2026, 12, 28, 10, 0))
async def test_a_documentation_deadline_in_a_year_without_notice_is_recounted_when_the_notice_comes(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    from db.calendar_repo import Notice, import_notice, load_calendar
    from infra.calendar_news import announce_calendar_change
    from tests.support.calendar import with_law_days

    await fund(pool, VILLAGE, "5000")
    h = await start_emergency(review_env, "NOTICE-1")
    await pay(h, "shipo_cun1", "village", "1000")
    # 12-29, 12-30, 12-31, then 01-01 (元旦, by the law alone) is off: 01-04, 01-05
    s = await state(h)
    assert [(d.due, d.provisional) for d in s.documentation] == [(date(2027, 1, 5), True)]
    notice = Notice(
        year=2027,
        source="测试：假定的 2027 年放假安排（1 月 1 日至 4 日放假）",
        holidays=with_law_days(2027, "2027-01-01", "2027-01-04"),
        workdays=[],
    )
    async with pool.acquire() as conn:
        await import_notice(conn, notice)
        assert (await load_calendar(conn)).add_working_days(date(2026, 12, 28), 5).date == date(2027, 1, 6)
    told, failed = await announce_calendar_change(review_env.client, pool)
    assert (told, failed) == (1, [])  # the one open event (no review case is open)

    async def recounted():
        s = await state(h)
        return s if s.documentation[0].due == date(2027, 1, 6) else None

    s = await eventually(recounted, "documentation deadline recounted")
    assert (s.documentation[0].provisional, s.documentation_due) == (False, date(2027, 1, 6))
    [entry] = [e for e in s.log if e["kind"] == "documentation_recomputed"]
    assert entry["summary"] == "工作日历已更新，第 1 笔发放的材料补齐期限重算为 2027-01-06（原为 2027-01-05，暂定）"
    row = await pool.fetchrow("select documentation_due from aid_payments where payment_key = 'NOTICE-1-pay-001'")
    assert row["documentation_due"] == date(2027, 1, 6)
    assert await pool.fetchval("select documentation_due from emergencies where event_id = 'NOTICE-1'") == date(
        2027, 1, 6
    )
