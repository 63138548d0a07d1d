"""A fund's ledger lists its entries in the order they took effect (audit "money", finding 7): every entry is
booked under the fund row's lock and stamped when it is booked, so the running balance never shows a value the
fund did not have."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from db import emergency_repo, funds_repo
from schemas.emergency import FundSource, OpenEmergencyIn, PaymentIn
from tests.support.emergency import VILLAGE, emergency_start
from tests.support.factories import resident_id

REGISTERED = datetime.fromisoformat("2026-11-24T09:30:00+08:00")


async def an_event(pool: asyncpg.Pool, event_id: str) -> None:
    start = emergency_start(event_id)
    req = OpenEmergencyIn(start=start, registered_at=REGISTERED, registered_on=REGISTERED.date())
    async with pool.acquire() as conn, conn.transaction():
        await emergency_repo.insert_event(conn, req, f"emergency-{event_id}", 1)


def payment(event_id: str, amount: str) -> PaymentIn:
    return PaymentIn(
        payment_key=f"{event_id}-pay-001",
        event_id=event_id,
        tier="village",
        fund_place=VILLAGE,
        amount=Decimal(amount),
        approved_by="shipo_cun1",
        approved_at=REGISTERED,
        payee_name="赵六",
        payee_id_number=resident_id(date(1975, 6, 1)),
    )


async def test_a_payment_whose_transaction_began_before_an_income_it_spends_is_listed_after_it(
    pool: asyncpg.Pool,
) -> None:
    await an_event(pool, "LEDGER-1")
    async with pool.acquire() as paying, pool.acquire() as receiving:
        tx = paying.transaction()
        await tx.start()  # the payment's transaction begins (its now()) before the income is booked
        await paying.execute("select now()")
        await funds_repo.add_income(receiving, VILLAGE, Decimal("500"), FundSource.GOVERNMENT, "admin")
        await emergency_repo.book_payment(paying, payment("LEDGER-1", "300"))  # spends the income
        await tx.commit()
        rows = await funds_repo.ledger(paying, VILLAGE)
    assert [(r.kind, r.amount_fen, r.balance_fen) for r in rows] == [
        ("payment", 30000, 20000),
        ("income", 50000, 50000),
    ]
    assert rows[0].recorded_at > rows[1].recorded_at  # stamped when booked, not when its transaction began


async def test_an_income_booked_while_a_payment_holds_the_fund_comes_after_it(pool: asyncpg.Pool) -> None:
    await an_event(pool, "LEDGER-2")
    async with pool.acquire() as paying, pool.acquire() as receiving:
        await funds_repo.add_income(receiving, VILLAGE, Decimal("500"), FundSource.GOVERNMENT, "admin")
        tx = paying.transaction()
        await tx.start()
        await paying.execute("select 1 from aid_funds where place_code = $1 for update", VILLAGE)  # booking begins
        pid = receiving.get_server_pid()
        income = asyncio.create_task(
            funds_repo.add_income(receiving, VILLAGE, Decimal("100"), FundSource.DONATION, "admin", donor="爱心企业")
        )
        for _ in range(200):  # until the income's session waits on the fund's lock
            waiting = await paying.fetchval("select wait_event_type from pg_stat_activity where pid = $1", pid)
            if waiting == "Lock":
                break
            await asyncio.sleep(0.02)
        assert waiting == "Lock" and not income.done()
        await emergency_repo.book_payment(paying, payment("LEDGER-2", "500"))  # the whole balance it saw
        await tx.commit()
        await income
        rows = await funds_repo.ledger(paying, VILLAGE)
    assert [(r.kind, r.amount_fen, r.balance_fen) for r in rows] == [
        ("income", 10000, 10000),
        ("payment", 50000, 0),
        ("income", 50000, 50000),
    ]
    assert rows[0].id > rows[1].id and rows[0].recorded_at > rows[1].recorded_at
