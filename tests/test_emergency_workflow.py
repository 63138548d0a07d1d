"""Emergency aid under the time-skipping server: tiers and caps, racing approvals, funds, documentation."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import asyncpg
from temporalio.testing import WorkflowEnvironment

from db import funds_repo
from schemas.emergency import CloseEvent, DocumentsRecorded, EmergencyNames, Escalation
from tests.emergency_support import DISTRICT, TOWNSHIP, VILLAGE, fund, pay, refused, start_emergency, state
from tests.factories import actor


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
        h.execute_update(EmergencyNames.ESCALATE, Escalation(actor=actor("shipo_cun1"), reason="病情加重"))
    )
    assert err.type == "cannot_escalate"
    await pay(h, "shipo_cun1", "village", "200")
    err = await refused(pay(h, "shipo_shenpi", "township", "500"))
    assert err.type == "wrong_tier"
    await h.execute_update(EmergencyNames.ESCALATE, Escalation(actor=actor("shipo_cun1"), reason="需乡镇救助"))

    err = await refused(pay(h, "shipo_cun1", "township", "100"))
    assert err.type == "wrong_role"
    err = await refused(pay(h, "shipo_shenpi", "township", "2000.01"))
    assert err.type == "cap_exceeded" and "区级" in err.message
    await pay(h, "shipo_shenpi", "township", "1500")
    await pay(h, "shipo_shenpi", "township", "500")
    err = await refused(pay(h, "shipo_shenpi", "township", "0.01"))
    assert err.type == "cap_exceeded"
    await h.execute_update(EmergencyNames.ESCALATE, Escalation(actor=actor("shipo_shenpi"), reason="重度烧伤"))
    ack = await pay(h, "qu_minzheng", "district", "8000")
    assert ack.tier == "district" and ack.total == Decimal("11000.00")

    s = await state(h)
    assert (s.village_total, s.township_total, s.district_total) == (Decimal("1000"), Decimal("2000"), Decimal("8000"))
    assert await ledger_balances(pool, VILLAGE) == Decimal("4000.00")
    assert await ledger_balances(pool, TOWNSHIP) == Decimal("8000.00")
    assert await ledger_balances(pool, DISTRICT) == Decimal("92000.00")
    rows = await pool.fetch("select approved_by, amount_fen, transfer_ref from aid_payments order by id")
    assert [(r["approved_by"], r["amount_fen"]) for r in rows] == [
        ("shipo_cun1", 80000),
        ("shipo_cun1", 20000),
        ("shipo_shenpi", 150000),
        ("shipo_shenpi", 50000),
        ("qu_minzheng", 800000),
    ]
    assert all(r["transfer_ref"] for r in rows)
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


async def test_documentation_is_chased_then_the_event_closes(
    review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "2000")
    h = await start_emergency(review_env, "DOCS-1")
    err = await refused(
        h.execute_update(EmergencyNames.DOCUMENTS, DocumentsRecorded(actor=actor("shipo_cun1"), items=["病历"]))
    )
    assert err.type == "nothing_paid"
    await pay(h, "shipo_cun1", "village", "900")
    s = await state(h)
    assert s.documentation_due is not None
    err = await refused(h.execute_update(EmergencyNames.CLOSE, CloseEvent(actor=actor("shipo_cun1"), summary="结束")))
    assert err.type == "documents_missing"
    await review_env.sleep(timedelta(days=12))
    for _ in range(100):
        s = await state(h)
        if s.documentation_overdue:
            break
        await asyncio.sleep(0.05)
    assert s.documentation_overdue
    kinds = [e["kind"] for e in s.log]
    assert kinds.index("documentation_reminder") < kinds.index("documentation_overdue")
    audiences = await pool.fetch("select audience, kind from notifications order by id")
    assert [(r["audience"], r["kind"]) for r in audiences] == [
        (f"role:township_caseworker@{TOWNSHIP}", "emergency-documentation-reminder"),
        (f"role:district_officer@{DISTRICT}", "emergency-documentation-overdue"),
    ]
    await h.execute_update(
        EmergencyNames.DOCUMENTS, DocumentsRecorded(actor=actor("shipo_jingban"), items=["病历", "火灾证明"])
    )
    await h.execute_update(EmergencyNames.CLOSE, CloseEvent(actor=actor("shipo_jingban"), summary="救助到位"))
    final = await h.result()
    assert final.status == "closed" and final.total == Decimal("900.00")
    row = await pool.fetchrow("select status, documents_done, closed_at from emergencies where event_id = 'DOCS-1'")
    assert row["status"] == "closed" and row["documents_done"] and row["closed_at"] is not None
