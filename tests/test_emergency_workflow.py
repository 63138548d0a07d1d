"""Emergency aid under the time-skipping server: tiers and caps, racing approvals, funds, documentation."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from db import funds_repo
from db.calendar_repo import load_calendar
from rules.emergency_actions import EmergencyAction
from schemas.emergency import CloseEvent, DocumentsRecorded, Escalation
from tests.support.actions import update_of
from tests.support.clock import SkippingEnvironment, beijing, midnight_after, minute, on_day, on_time, reminder_instant
from tests.support.emergency import DISTRICT, TOWNSHIP, VILLAGE, fund, pay, start_emergency, state
from tests.support.factories import actor
from tests.support.workflows import eventually, refused


async def ledger_balances(pool: asyncpg.Pool, place: str) -> Decimal:
    """The fund's balance, checked against an independent sum of income minus payments."""
    async with pool.acquire() as conn:
        bal = await funds_repo.balance(conn, place)
        income = await conn.fetchval(
            "select coalesce(sum(amount_fen), 0) from fund_entries e join aid_funds f on f.id = e.fund_id "
            "where f.place_code = $1 and kind = 'income'",
            place,
        )
        paid = await conn.fetchval(
            "select coalesce(sum(p.amount_fen), 0) from aid_payments p join aid_funds f on f.id = p.fund_id "
            "where f.place_code = $1",
            place,
        )
    assert bal == Decimal(income - paid) / 100
    return bal


async def test_tiers_from_village_to_district(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    await fund(pool, VILLAGE, "5000")
    await fund(pool, TOWNSHIP, "10000")
    await fund(pool, DISTRICT, "100000")
    h = await start_emergency(review_env, "FIRE-1")

    ack = await pay(h, "shipo_cun1", "village", "800")  # the village pays the same day
    assert ack.total == Decimal("800.00") and ack.payment_key == "FIRE-1-pay-001"
    err = await refused(pay(h, "shipo_cun1", "village", "200.01"))
    assert err.type == "cap_exceeded" and "还可发放 200" in err.message and "乡镇" in err.message
    err = await refused(
        h.execute_update(update_of(EmergencyAction.ESCALATE), Escalation(actor=actor("shipo_cun1"), reason="病情加重"))
    )
    assert err.type == "cannot_escalate"
    await pay(h, "shipo_cun1", "village", "200")
    err = await refused(pay(h, "shipo_shenpi", "township", "500"))
    assert err.type == "wrong_tier"
    await h.execute_update(
        update_of(EmergencyAction.ESCALATE), Escalation(actor=actor("shipo_cun1"), reason="需乡镇救助")
    )

    err = await refused(pay(h, "shipo_cun1", "township", "100"))
    assert err.type == "wrong_role"
    err = await refused(pay(h, "shipo_shenpi", "township", "2000.01"))
    assert err.type == "cap_exceeded" and "区级" in err.message
    await pay(h, "shipo_shenpi", "township", "1500")
    await pay(h, "shipo_shenpi", "township", "500")
    err = await refused(pay(h, "shipo_shenpi", "township", "0.01"))
    assert err.type == "cap_exceeded"
    await h.execute_update(
        update_of(EmergencyAction.ESCALATE), Escalation(actor=actor("shipo_shenpi"), reason="重度烧伤")
    )
    ack = await pay(h, "qu_minzheng", "district", "8000")
    assert ack.tier == "district" and ack.total == Decimal("11000.00")

    s = await state(h)
    assert (s.village_total, s.township_total, s.district_total) == (Decimal("1000"), Decimal("2000"), Decimal("8000"))
    assert await ledger_balances(pool, VILLAGE) == Decimal("4000.00")
    assert await ledger_balances(pool, TOWNSHIP) == Decimal("8000.00")
    assert await ledger_balances(pool, DISTRICT) == Decimal("92000.00")
    rows = await pool.fetch("select approved_by, amount_fen, transfer_ref from aid_payments order by id")
    assert [tuple(r) for r in rows] == [  # the ledger rail's reference is the workflow's payment key
        ("shipo_cun1", 80000, "FIRE-1-pay-001"),
        ("shipo_cun1", 20000, "FIRE-1-pay-002"),
        ("shipo_shenpi", 150000, "FIRE-1-pay-003"),
        ("shipo_shenpi", 50000, "FIRE-1-pay-004"),
        ("qu_minzheng", 800000, "FIRE-1-pay-005"),
    ]
    assert await pool.fetchval("select count(*) from disbursements") == 5
    row = await pool.fetchrow("select tier, village_fen, township_fen, district_fen from emergencies")
    assert tuple(row) == ("district", 100000, 200000, 800000)
    await h.terminate("test over")


async def test_two_approvals_racing_past_the_cap(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    await fund(pool, VILLAGE, "5000")
    h = await start_emergency(review_env, "RACE-1")
    results = await asyncio.gather(
        pay(h, "shipo_cun1", "village", "600"), pay(h, "shipo_cun1", "village", "600"), return_exceptions=True
    )
    ok = [r for r in results if not isinstance(r, Exception)]
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(ok) == 1 and len(failed) == 1
    assert failed[0].cause.type == "cap_exceeded"
    assert (await state(h)).village_total == Decimal("600.00")
    assert await pool.fetchval("select sum(amount_fen) from aid_payments where event_id = 'RACE-1'") == 60000
    assert await ledger_balances(pool, VILLAGE) == Decimal("4400.00")
    await h.terminate("test over")


async def test_a_fund_is_never_overdrawn(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    await fund(pool, VILLAGE, "500")
    h = await start_emergency(review_env, "POOR-1")
    err = await refused(pay(h, "shipo_cun1", "village", "800"))
    assert err.type == "fund_insufficient" and "500.00" in err.message
    s = await state(h)
    assert s.village_total == 0 and s.payments == []
    assert await pool.fetchval("select count(*) from aid_payments") == 0
    await pay(h, "shipo_cun1", "village", "500")
    assert await ledger_balances(pool, VILLAGE) == Decimal("0.00")
    await h.terminate("test over")


@pytest.mark.start_at(beijing(2026, 2, 12, 10, 0))  # a Thursday: Spring Festival 02-15..23 off, Saturday 02-14 worked
async def test_documentation_is_chased_then_the_event_closes(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "2000")
    h = await start_emergency(review_env, "DOCS-1")
    err = await refused(
        h.execute_update(
            update_of(EmergencyAction.DOCUMENTS), DocumentsRecorded(actor=actor("shipo_cun1"), items=["病历"])
        )
    )
    assert err.type == "nothing_paid"
    await pay(h, "shipo_cun1", "village", "900")
    s = await state(h)
    assert on_day(s.payments[0].approved_at) == date(2026, 2, 12)
    # Papers within 5 working days of the payment: 02-13, Saturday 02-14 (made up), then 02-24, 02-25, 02-26.
    async with pool.acquire() as conn:
        cal = await load_calendar(conn)
    due = cal.add_working_days(date(2026, 2, 12), 5).date
    assert due == date(2026, 2, 26)
    assert s.documentation_due == due
    assert await pool.fetchval("select documentation_due from emergencies where event_id = 'DOCS-1'") == due
    err = await refused(
        h.execute_update(update_of(EmergencyAction.CLOSE), CloseEvent(actor=actor("shipo_cun1"), summary="结束"))
    )
    assert err.type == "documents_missing"

    def logged(kind: str):
        async def entry() -> dict | None:
            return next((e for e in (await state(h)).log if e["kind"] == kind), None)

        return entry

    # Reminder at 08:30 on the working day after whose close 2 working days remain (02-25, 02-26): 02-24.
    reminder_at = reminder_instant(cal, due, 2)
    assert reminder_at == beijing(2026, 2, 24, 8, 30)
    reminder = await on_time(review_env, reminder_at, logged("documentation_reminder"), "documentation reminder")
    paid = {"due": "2026-02-26", "payment_key": "DOCS-1-pay-001"}
    assert (minute(datetime.fromisoformat(reminder["at"])), reminder["payload"]) == (reminder_at, paid)
    assert not (await state(h)).documentation_overdue
    # Overdue when 02-26 has closed: 00:00 Beijing on 02-27, not a minute earlier.
    overdue_at = midnight_after(due)
    assert overdue_at == beijing(2026, 2, 27)
    overdue = await on_time(review_env, overdue_at, logged("documentation_overdue"), "documentation overdue")
    assert (minute(datetime.fromisoformat(overdue["at"])), overdue["payload"]) == (overdue_at, paid)
    s = await state(h)
    assert (s.documentation_overdue, s.documents_done, s.status) == (True, False, "open")

    async def both_notes() -> list | None:
        rows = await pool.fetch(
            "select audience, kind, body from notifications where kind like 'emergency-documentation-%' order by id"
        )
        return rows if len(rows) == 2 else None

    notes = await eventually(both_notes, "both notifications written")
    assert [(r["audience"], r["kind"]) for r in notes] == [
        (f"role:township_caseworker@{TOWNSHIP}", "emergency-documentation-reminder"),
        (f"role:district_officer@{DISTRICT}", "emergency-documentation-overdue"),
    ]
    first = "赵六（DOCS-1）：第 1 笔发放（村（社区）救急难互助社 900.00 元）的先行救助材料"
    assert [r["body"] for r in notes] == [
        f"{first}应于 2026-02-26 前补齐，请及时办理",
        f"{first}逾期未补齐（应于 2026-02-26 前），已上报区民政局",
    ]
    await h.execute_update(
        update_of(EmergencyAction.DOCUMENTS),
        DocumentsRecorded(actor=actor("shipo_jingban"), items=["病历", "火灾证明"]),
    )
    await h.execute_update(
        update_of(EmergencyAction.CLOSE), CloseEvent(actor=actor("shipo_jingban"), summary="救助到位")
    )
    final = await h.result()
    assert (final.status, final.total, final.documents_done) == ("closed", Decimal("900.00"), True)
    closed = next(e for e in final.log if e["kind"] == "closed")
    row = await pool.fetchrow("select status, documents_done, closed_at from emergencies where event_id = 'DOCS-1'")
    assert (row["status"], row["documents_done"]) == ("closed", True)
    assert row["closed_at"] == datetime.fromisoformat(closed["at"]) and on_day(row["closed_at"]) == date(2026, 2, 27)
