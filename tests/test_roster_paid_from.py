"""Imported households are paid from the first month Jiuzhu pays them (audit of the roster import, H1), on the
time-skipping server with a real worker and database: never for the months before, which the national system paid,
however long ago their start month (保障起始年月) and whatever payrolls other townships ran before, and the fund
declaration asks for what the payroll pays."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from infra import roster_import
from infra.roster_file import RosterFileError, write_rows
from infra.roster_sample import sample
from rules.payroll import imported_paid_from
from schemas.policy import Policy
from schemas.roster import COLUMNS
from tests.support.clients import SHIPO, SHUNHE
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.payroll import ENROLLED_IN_NOVEMBER, lines, seed_recipient, start_payroll
from tests.test_declaration_once import declared, paid_for

COL = {c.field: i for i, c in enumerate(COLUMNS)}
MAR, APR = date(2027, 3, 1), date(2027, 4, 1)
DIBAO = "最低生活保障"


def household_of(township: str, amount: str, since: str, *, skip: int = 0) -> bytes:
    """A roster of one household of the sample in `township` (the `skip`-th one there), paid `amount` a month
    since `since`."""
    headers, rows, _ = sample(12)
    keys = list(dict.fromkeys(r[COL["household_no"]] for r in rows if r[COL["township"]] == township))
    key = keys[skip]
    chosen = [r for r in rows if r[COL["household_no"]] == key]
    chosen[0][COL["monthly_amount"]] = amount
    chosen[0][COL["start_month"]] = since
    return write_rows(headers, chosen, "csv")


async def imported(pool: asyncpg.Pool, data: bytes, name: str, today: date) -> tuple[str, date]:
    async with pool.acquire() as conn:
        out = await roster_import.run(conn, data, name, by="admin", today=today, dry_run=False)
    assert out.checked is not None and out.checked.errors == [] and out.result is not None
    row = await pool.fetchrow(
        "select r.case_id, r.paid_from from recipients r join roster_households h using (case_id) "
        "where h.import_id = $1",
        out.result.log.id,
    )
    return row["case_id"], row["paid_from"]


@pytest.mark.start_at(beijing(2027, 3, 5, 10, 0))
async def test_a_township_imported_later_is_paid_its_first_month_only_and_declared_so(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """石婆店镇 has been paid by Jiuzhu since December 2026; 顺河镇's roster comes on 2027-03-05, before March's
    payroll day (the 10th): its household of 600.00 a month, on the national system since 2019-05, is paid March
    only, 600.00 (the old SQL paid December, January and February again: 2,400.00)."""
    client = review_env.client
    await seed_recipient(pool, "SP-2026-4101", name="石一", **ENROLLED_IN_NOVEMBER)
    for month in ("2026-12", "2027-01", "2027-02"):
        await start_payroll(client, month)
    data = household_of("顺河镇", "600.00", "2019-05")
    case_id, paid_from = await imported(pool, data, "顺河镇.csv", date(2027, 3, 5))
    assert paid_from == MAR
    shunhe = await start_payroll(client, "2027-03", SHUNHE)
    masked = await pool.fetchval("select account_masked from payment_accounts where case_id = $1", case_id)
    assert await lines(pool, shunhe.id) == [(case_id, MAR, 60000, f"2027年03月{DIBAO}", masked)]
    shipo = await start_payroll(client, "2027-03", SHIPO)
    assert [(c, m, fen) for c, m, fen, *_ in await lines(pool, shipo.id)] == [("SP-2026-4101", MAR, 65000)]
    # March's declaration asks for exactly what March's payrolls pay: 顺河镇 600.00 (two people), 石婆店镇 650.00.
    totals, rows = await declared(client, pool, "2027-03", 1)
    assert rows == [(SHUNHE, "dibao", 1, 2, 60000), (SHIPO, "dibao", 1, 1, 65000)]
    assert totals == {"households": 2, "people": 3, "amount_fen": 125000}
    assert await paid_for(pool, MAR) == 125000


@pytest.mark.start_at(beijing(2027, 3, 20, 10, 0))
async def test_a_second_roster_after_the_payroll_day_is_paid_from_the_next_month(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """A second file for 石婆店镇, already on payroll, imported on 2027-03-20, after March's payroll day: the
    national system paid its March, so Jiuzhu pays from April, and April's payroll pays April only (720.00)."""
    client = review_env.client
    await seed_recipient(pool, "SP-2026-4201", name="石二", **ENROLLED_IN_NOVEMBER)
    for month in ("2026-12", "2027-01", "2027-02", "2027-03"):
        await start_payroll(client, month)
    data = household_of("石婆店镇", "720.00", "2021-08", skip=1)
    case_id, paid_from = await imported(pool, data, "石婆店镇-补充.csv", date(2027, 3, 20))
    assert paid_from == APR
    april = await start_payroll(client, "2027-04")
    assert [(c, m, fen) for c, m, fen, *_ in await lines(pool, april.id)] == [
        (case_id, APR, 72000),
        ("SP-2026-4201", APR, 65000),
    ]
    totals, _ = await declared(client, pool, "2027-04", 1)
    assert totals["amount_fen"] == await paid_for(pool, APR) == 137000


async def test_the_cut_over_month_the_administrator_gives(pool: asyncpg.Pool) -> None:
    """A cut-over month typed by the administrator wins, from the import month up to 12 months after it; the
    household's case log says from when Jiuzhu pays."""
    data = household_of("顺河镇", "600.00", "2019-05")
    with pytest.raises(RosterFileError) as e:
        async with pool.acquire() as conn:
            await roster_import.run(
                conn, data, "r.csv", by="admin", today=date(2027, 3, 5), dry_run=False, cut_over=date(2027, 2, 1)
            )
    assert str(e.value) == "本系统首次发放月份不能早于导入当月（2027年03月）：此前各月已由全国系统发放"
    with pytest.raises(RosterFileError) as e:
        roster_import.cut_over_month("2027-13")
    assert str(e.value) == "本系统首次发放月份格式不正确：2027-13（应为YYYY-MM）"
    async with pool.acquire() as conn:
        out = await roster_import.run(
            conn, data, "r.csv", by="admin", today=date(2027, 3, 5), dry_run=False, cut_over=date(2027, 6, 1)
        )
    assert out.result is not None
    row = await pool.fetchrow(
        "select r.paid_from, e.payload->>'summary' as summary from recipients r "
        "join case_events e on e.case_id = r.case_id and e.kind = 'imported'"
    )
    assert row["paid_from"] == date(2027, 6, 1)
    assert "每月600.00元，自2019-05起保障，本系统自2027-06起发放；" in row["summary"]


def test_the_first_month_jiuzhu_pays_follows_the_payroll_day() -> None:
    assert imported_paid_from(date(2027, 3, 1), 10) == MAR
    assert imported_paid_from(date(2027, 3, 10), 10) == MAR  # on the day: its payroll is still Jiuzhu's
    assert imported_paid_from(date(2027, 3, 11), 10) == APR
    assert imported_paid_from(date(2027, 12, 28), 10) == date(2028, 1, 1)
    assert roster_import.first_month_paid(date(2027, 3, 11), Policy(), None) == APR
    assert roster_import.first_month_paid(date(2027, 3, 11), Policy(), date(2028, 3, 1)) == date(2028, 3, 1)
    with pytest.raises(RosterFileError) as e:
        roster_import.first_month_paid(date(2027, 3, 11), Policy(), date(2028, 4, 1))
    assert str(e.value) == "本系统首次发放月份不能晚于导入当月之后12个月，请核对"
