"""Every recipient-month declared once (资金申报), on the time-skipping server with a real worker and database: a
month whose payroll was drafted before the recipient's enrolment is paid late on the next payroll, and is declared
with that payroll's month only, never also in its own month's declaration, whenever either is drafted."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest
from temporalio.client import Client

from infra.config import TASK_QUEUE
from schemas.supervision import DeclarationResult, SupervisionNames
from tests.support.clients import SHIPO
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.payroll import CARDS, ENROLLED_IN_NOVEMBER, LATE_FOR_FEBRUARY, lines, seed_recipient, start_payroll

FEB, MAR = date(2027, 2, 1), date(2027, 3, 1)
DIBAO = "最低生活保障"


async def declared(client: Client, pool: asyncpg.Pool, month: str, run: int) -> tuple[dict, list[tuple]]:
    """Draft (or refresh) the month's declaration as the Schedule's workflow does; its totals and its rows as
    (township, kind, households, people, amount in fen)."""
    result = await client.execute_workflow(
        SupervisionNames.DECLARATION,
        month,
        id=f"decl-{month}-{run}",
        task_queue=TASK_QUEUE,
        result_type=DeclarationResult,
    )
    row = await pool.fetchrow(
        "select data, totals from fund_declarations where month = $1 and version = $2", month, result.version
    )
    rows = sorted((r["township_code"], r["kind"], r["households"], r["people"], r["amount_fen"]) for r in row["data"])
    return row["totals"], rows


async def paid_for(pool: asyncpg.Pool, month: date) -> int:
    """What the payrolls of `month` pay, in fen (first payments only; none is paid again here)."""
    return await pool.fetchval(
        "select coalesce(sum(l.amount_fen), 0) from payroll_lines l join payrolls p on p.id = l.payroll_id "
        "where p.month = $1 and l.retry_of is null",
        month,
    )


@pytest.mark.start_at(beijing(2027, 2, 20, 10, 0))
async def test_a_month_paid_late_on_the_next_payroll_is_declared_with_that_payroll_only(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    client = review_env.client
    await seed_recipient(pool, "SP-2026-3101", name="韩一", **ENROLLED_IN_NOVEMBER)
    # 石婆店镇's February payroll is drafted on its day (10 February): only 韩一 (paid from December).
    feb = await start_payroll(client, "2027-02")
    assert await lines(pool, feb.id) == [("SP-2026-3101", FEB, 65000, f"2027年02月{DIBAO}", "4111 **** 1111")]
    # Then 韩二 is enrolled: decided late on 2027-01-28 (promised by 2026-12-18), first paid for February with
    # December and January as arrears. Its February is not on February's payroll: it is paid on March's.
    await seed_recipient(pool, "SP-2027-3102", name="韩二", **LATE_FOR_FEBRUARY, card=CARDS[1])
    # February's declaration, drafted now (after the enrolment), declares what February's payroll pays: 韩一's
    # 650.00 only. (The old SQL added 韩二's February with its arrears, 1950.00, declared again in March.)
    totals, rows = await declared(client, pool, "2027-02", 1)
    assert rows == [(SHIPO, "dibao", 1, 1, 65000)]
    assert totals == {"households": 1, "people": 1, "amount_fen": 65000}
    assert await paid_for(pool, FEB) == 65000
    # March's payroll pays 韩二's February late with its arrears (3 × 650.00), then each one's March.
    mar = await start_payroll(client, "2027-03")
    assert [(c, m, fen) for c, m, fen, *_ in await lines(pool, mar.id)] == [
        ("SP-2026-3101", MAR, 65000),
        ("SP-2027-3102", FEB, 195000),
        ("SP-2027-3102", MAR, 65000),
    ]
    # March's declaration asks for exactly that: 650.00 + 1950.00 + 650.00 = 3250.00 yuan.
    totals, rows = await declared(client, pool, "2027-03", 1)
    assert rows == [(SHIPO, "dibao", 2, 2, 325000)]
    assert totals == {"households": 2, "people": 2, "amount_fen": 325000}
    assert await paid_for(pool, MAR) == 325000
    # February's declaration refreshed after March's payroll still leaves out the February March pays.
    totals, rows = await declared(client, pool, "2027-02", 2)
    assert rows == [(SHIPO, "dibao", 1, 1, 65000)]
    assert totals == {"households": 1, "people": 1, "amount_fen": 65000}
    # Declared over the two months: 650.00 + 3250.00 = 3900.00 yuan, what was paid (not 5850.00).
    assert 65000 + 325000 == await paid_for(pool, FEB) + await paid_for(pool, MAR) == 390000


@pytest.mark.start_at(beijing(2027, 2, 2, 6, 0))
async def test_a_declaration_drafted_before_its_months_payroll_declares_every_month_that_payroll_will_pay(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    client = review_env.client
    await seed_recipient(pool, "SP-2026-3201", name="杨一", **ENROLLED_IN_NOVEMBER)
    # January's payroll was drafted; 杨二 was enrolled after it, first paid for January.
    jan = await start_payroll(client, "2027-01")
    assert [c for c, *_ in await lines(pool, jan.id)] == ["SP-2026-3201"]
    await seed_recipient(
        pool,
        "SP-2027-3202",
        name="杨二",
        accepted=beijing(2026, 11, 30, 9),
        decided=beijing(2026, 12, 28, 16),
        first_month=date(2027, 1, 1),
        amount="480.50",
        people=2,
        card=CARDS[1],
    )
    # On 2 February, before February's payroll: 杨一's February, 杨二's January (late) and February.
    totals, rows = await declared(client, pool, "2027-02", 1)
    assert rows == [(SHIPO, "dibao", 2, 3, 65000 + 48050 + 48050)]
    assert totals == {"households": 2, "people": 3, "amount_fen": 161100}  # 650.00 + 2 × 480.50 yuan
    # February's payroll pays exactly that; January's declaration (refreshed) leaves 杨二 to February's.
    feb = await start_payroll(client, "2027-02")
    assert await paid_for(pool, FEB) == 161100
    assert [(c, m, fen) for c, m, fen, *_ in await lines(pool, feb.id)] == [
        ("SP-2026-3201", FEB, 65000),
        ("SP-2027-3202", date(2027, 1, 1), 48050),
        ("SP-2027-3202", FEB, 48050),
    ]
    totals, rows = await declared(client, pool, "2027-01", 1)
    assert rows == [(SHIPO, "dibao", 1, 1, 65000)]
    assert totals == {"households": 1, "people": 1, "amount_fen": 65000}
