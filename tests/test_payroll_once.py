"""Every month paid once (audit "money", findings 1, 2 and 4), on the time-skipping server with a real worker and
database: a bank return row settles one line at most (two lines of one recipient with the same account and
amount in a supplementary run), a month whose payroll was drafted before the recipient's enrolment is paid with
its arrears on the next payroll and never again, and a line whose account was fixed before its task existed is
paid again in the next supplementary run."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from db import accounts_repo, payroll_repo
from infra.config import TASK_QUEUE
from rules.payroll import SentLine, match_return
from schemas.bank import AccountChange, PaymentAccount
from schemas.payroll import BankReturn, PayrollCheck, PayrollConfirm, PayrollNames, PayrollState
from schemas.supervision import DeclarationResult, SupervisionNames
from tests.support.clients import SHIPO, SHUNHE
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor
from tests.support.payroll import (
    CARDS,
    ENROLLED_IN_NOVEMBER,
    LATE_FOR_FEBRUARY,
    drafted,
    lines,
    seed_recipient,
    start_payroll,
)
from webapp.payroll.bankfile import parse_return

APPROVER, OFFICER = actor("shipo_shenpi"), actor("qu_minzheng")
DEC, JAN, FEB, MAR = date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)
DIBAO = "最低生活保障"
# Decided in January 2027, so first paid for February: in time, without arrears (LATE_FOR_FEBRUARY: with them).
IN_TIME_FOR_FEBRUARY = dict(
    accepted=beijing(2027, 1, 4, 9), deadline=date(2027, 2, 1), decided=beijing(2027, 1, 20, 16), first_month=FEB
)


async def confirmed(h, approver=APPROVER) -> PayrollState:
    await h.execute_update(PayrollNames.CHECK, PayrollCheck(actor=approver))
    return await h.execute_update(PayrollNames.CONFIRM, PayrollConfirm(actor=OFFICER), result_type=PayrollState)


async def set_account(pool: asyncpg.Pool, case_id: str, name: str, card: str, reason: str) -> int:
    """What the account page does: the new account, then the recipient's open tasks resolved; how many."""
    account = PaymentAccount(kind="bank_card", bank_name="中国建设银行", account_number=card, holder_name=name)
    async with pool.acquire() as conn:
        change = AccountChange(case_id=case_id, account=account, changed_by="shipo_jingban", reason=reason)
        assert await accounts_repo.set_account(conn, change)
        return await payroll_repo.resolve_tasks(conn, case_id, "shipo_jingban")


async def bank_return(pool: asyncpg.Pool, h, rows: list[dict]) -> PayrollState:
    async with pool.acquire() as conn:
        payroll_id = await conn.fetchval("select id from payrolls where workflow_id = $1", h.id)
        rid = await payroll_repo.store_return(conn, payroll_id, "return.csv", rows, "qu_minzheng")
    return await h.execute_update(
        PayrollNames.BANK_RETURN, BankReturn(actor=OFFICER, return_id=rid), result_type=PayrollState
    )


async def two_equal_lines(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> tuple:
    """Held in January and February (no account), the account registered in March: one supplementary run, two
    equal lines (same account, same amount), confirmed. (its handle, the ID number, the two lines' 备注)"""
    id_number = await seed_recipient(
        pool,
        "SP-2026-2101",
        name="卫一",
        accepted=beijing(2026, 11, 30, 10),
        decided=beijing(2026, 12, 18, 15),
        first_month=JAN,
        card=None,
    )
    for month in ("2027-01", "2027-02"):
        s = await confirmed(await start_payroll(review_env.client, month))
        assert s.status == "reconciled"  # all held: nothing went to the bank
    assert await set_account(pool, "SP-2026-2101", "卫一", CARDS[0], "补登账户") == 2
    sup = await start_payroll(review_env.client, "2027-02", seq=1)
    jan_note, feb_note = f"补发2027年01月{DIBAO}", f"补发2027年02月{DIBAO}"
    assert await lines(pool, sup.id) == [
        ("SP-2026-2101", JAN, 65000, jan_note, "4111 **** 1111"),
        ("SP-2026-2101", FEB, 65000, feb_note, "4111 **** 1111"),
    ]
    await confirmed(sup)
    return sup, id_number, jan_note, feb_note


TASKS = (
    "select t.kind, l.for_month, t.reason, t.resolved_at from payroll_tasks t join payroll_lines l "
    "on l.id = t.line_id join payrolls p on p.id = l.payroll_id where p.workflow_id = $1"
)


async def failure_tasks(pool: asyncpg.Pool, workflow_id: str) -> list[tuple]:
    """(kind, month, reason, resolved at) of the payroll's tasks."""
    return [tuple(t) for t in await pool.fetch(TASKS, workflow_id)]


@pytest.mark.parametrize("with_notes", [False, True], ids=["rows-in-file-order", "rows-reordered-with-notes"])
async def test_one_return_row_settles_one_line_when_a_supplementary_run_pays_two_months_alike(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, with_notes: bool
) -> None:
    sup, id_number, jan_note, feb_note = await two_equal_lines(review_env, pool)
    row = {"account": CARDS[0], "id_number": id_number, "amount_fen": 65000}
    january = row | {"result": "failed", "reason": "账户冻结"}
    february = row | {"result": "paid", "reason": ""}
    if with_notes:  # the bank echoes 备注 and sorts its answer its own way: February first
        answer = [february | {"note": feb_note}, january | {"note": jan_note}, february | {"note": feb_note}]
    else:  # no 备注: the k-th row of an account and amount answers the k-th such line of the bank file
        answer = [january, february, february]
    s = await bank_return(pool, sup, [r | {"n": n} for n, r in enumerate(answer, start=2)])
    assert s.status == "reconciled"
    assert s.returns[-1].model_dump(exclude={"return_id"}) == {
        "paid": 1,
        "failed": 1,
        "unmatched": 1,  # the repeated February row settles nothing
        "tasks": 1,
        "escalated": 0,
        "outstanding": 0,
    }
    settled = await lines(pool, sup.id, "l.for_month, x.result, x.reason")
    assert settled == [(JAN, "failed", "账户冻结"), (FEB, "paid", None)]
    assert await failure_tasks(pool, sup.id) == [("failed", JAN, "账户冻结", None)]


async def test_a_second_return_file_answers_the_lines_the_first_left_and_a_return_applies_once(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    sup, id_number, _, _ = await two_equal_lines(review_env, pool)
    row = {"n": 2, "account": CARDS[0], "id_number": id_number, "amount_fen": 65000}
    paid, failed = row | {"result": "paid", "reason": ""}, row | {"result": "failed", "reason": "账户冻结"}
    summary = {"return_id"}
    # The bank answers in two files without 备注: one line paid first, the other failed later.
    s = await bank_return(pool, sup, [paid])
    assert (s.status, s.returns[-1].model_dump(exclude=summary)) == (
        "confirmed",
        {"paid": 1, "failed": 0, "unmatched": 0, "tasks": 0, "escalated": 0, "outstanding": 1},
    )
    first_return = s.returns[-1].return_id
    # The first file applied again (an activity retried): it settles nothing more, the February line still waits.
    async with pool.acquire() as conn:
        again = await payroll_repo.apply_return(conn, s.payroll_id, first_return)
    assert again.model_dump(exclude=summary) == s.returns[-1].model_dump(exclude=summary)
    assert await lines(pool, sup.id, "l.for_month, x.result") == [(JAN, "paid"), (FEB, None)]
    # The second file: the failure answers the outstanding February line; the success repeated finds no line.
    s = await bank_return(pool, sup, [failed, paid | {"n": 3}])
    assert (s.status, s.returns[-1].model_dump(exclude=summary)) == (
        "reconciled",
        {"paid": 0, "failed": 1, "unmatched": 1, "tasks": 1, "escalated": 0, "outstanding": 0},
    )
    async with pool.acquire() as conn:
        again = await payroll_repo.apply_return(conn, s.payroll_id, s.returns[-1].return_id)
    assert again.model_dump(exclude=summary) == {
        "paid": 0,
        "failed": 1,
        "unmatched": 1,
        "tasks": 0,  # opened the first time
        "escalated": 0,
        "outstanding": 0,
    }
    settled = await lines(pool, sup.id, "l.for_month, x.result, x.reason, x.return_id")
    assert settled == [(JAN, "paid", None, first_return), (FEB, "failed", "账户冻结", s.returns[-1].return_id)]
    assert await failure_tasks(pool, sup.id) == [("failed", FEB, "账户冻结", None)]


def test_return_rows_pair_with_lines_one_to_one_account_before_id_number() -> None:
    lines_sent = [
        SentLine(1, "6222", "ID-A", 65000, "2027年02月最低生活保障"),
        SentLine(2, "6222", "ID-A", 65000, "补发2027年01月最低生活保障"),
        SentLine(3, "4111", "ID-B", 48050, "2027年02月最低生活保障"),
    ]
    rows = [
        {"n": 2, "account": "", "id_number": "ID-B", "amount_fen": 48050},
        {"n": 3, "account": "4111", "id_number": "", "amount_fen": 48050},
        {"n": 4, "account": "6222", "id_number": "", "amount_fen": 65000},
        {"n": 5, "account": "6222", "id_number": "", "amount_fen": 65000},
        {"n": 6, "account": "6222", "id_number": "", "amount_fen": 65000},
        {"n": 7, "account": "9999", "id_number": "ID-A", "amount_fen": 100},
    ]
    assert [(line, r["n"]) for line, r in match_return(lines_sent, rows)] == [(1, 4), (2, 5), (3, 3)]


def test_the_return_file_keeps_the_banks_note() -> None:
    content = "账号,金额,结果,失败原因,备注\r\n6222,650.00,失败,账户冻结,补发2027年01月最低生活保障\r\n".encode()
    assert parse_return("r.csv", content) == [
        {
            "n": 2,
            "account": "6222",
            "id_number": "",
            "amount_fen": 65000,
            "result": "failed",
            "reason": "账户冻结",
            "note": "补发2027年01月最低生活保障",
        }
    ]


async def test_a_month_drafted_before_the_enrolment_is_paid_with_its_arrears_on_the_next_payroll_and_never_again(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_recipient(pool, "SP-2026-2201", name="褚一", **ENROLLED_IN_NOVEMBER)
    # 石婆店镇's February payroll is drafted early, on 3 February: only 褚一 (paid from December).
    feb = await start_payroll(review_env.client, "2027-02")
    assert await lines(pool, feb.id) == [("SP-2026-2201", FEB, 65000, f"2027年02月{DIBAO}", "4111 **** 1111")]
    # Then two recipients first paid for February are enrolled: 褚二 decided late (two months of arrears, December
    # and January), 褚三 in 顺河镇, which had no February payroll at all.
    await seed_recipient(pool, "SP-2027-2202", name="褚二", **LATE_FOR_FEBRUARY, card=CARDS[1])
    await seed_recipient(pool, "SH-2027-2203", name="褚三", **IN_TIME_FOR_FEBRUARY, township=SHUNHE, amount="480.50")
    assert await pool.fetchval("select arrears_months from recipients where case_id = 'SP-2027-2202'") == 2
    # 顺河镇's supplementary run for February pays its February at once.
    shunhe_feb = await start_payroll(review_env.client, "2027-02", SHUNHE, seq=1)
    assert await lines(pool, shunhe_feb.id) == [
        ("SH-2027-2203", FEB, 48050, f"补发2027年02月{DIBAO}", "4111 **** 1111")
    ]
    # March: 褚二's February with its arrears (3 × 650.00), then March; 顺河镇 pays 褚三 March only.
    mar = await start_payroll(review_env.client, "2027-03")
    assert await lines(pool, mar.id) == [
        ("SP-2026-2201", MAR, 65000, f"2027年03月{DIBAO}", "4111 **** 1111"),
        ("SP-2027-2202", FEB, 195000, f"补发2027年02月{DIBAO}（含补发2026年12月至2027年01月）", "5500 **** 0004"),
        ("SP-2027-2202", MAR, 65000, f"2027年03月{DIBAO}", "5500 **** 0004"),
    ]
    assert (
        await pool.fetchval(
            "select arrears_months from payroll_lines l join payrolls p on p.id = l.payroll_id "
            "where p.workflow_id = $1 and l.case_id = 'SP-2027-2202' and l.for_month = $2",
            mar.id,
            FEB,
        )
        == 2
    )
    shunhe_mar = await start_payroll(review_env.client, "2027-03", SHUNHE)
    assert [(c, m, fen) for c, m, fen, *_ in await lines(pool, shunhe_mar.id)] == [("SH-2027-2203", MAR, 48050)]
    # The March declaration asks for what March's payrolls pay, February's arrears included.
    declared = await review_env.client.execute_workflow(
        SupervisionNames.DECLARATION, "2027-03", id="decl-2027-03", task_queue=TASK_QUEUE, result_type=DeclarationResult
    )
    data = await pool.fetchval(
        "select data from fund_declarations where month = '2027-03' and version = $1", declared.version
    )
    assert sorted((r["township_code"], r["households"], r["amount_fen"]) for r in data) == [
        (SHUNHE, 1, 48050),
        (SHIPO, 2, 65000 + 195000 + 65000),
    ]
    # Never twice: a later supplementary run of February, and April, pay no February again.
    again = await start_payroll(review_env.client, "2027-02", seq=1)
    assert (await drafted(again)).status == "empty"
    apr = await start_payroll(review_env.client, "2027-04")
    assert [(c, m, fen) for c, m, fen, *_ in await lines(pool, apr.id)] == [
        ("SP-2026-2201", date(2027, 4, 1), 65000),
        ("SP-2027-2202", date(2027, 4, 1), 65000),
    ]
    counts = await pool.fetch(
        "select case_id, for_month, count(*) from payroll_lines group by 1, 2 having count(*) > 1"
    )
    assert counts == []


async def test_a_line_whose_account_was_fixed_before_its_task_existed_is_paid_in_the_next_supplementary_run(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_recipient(pool, "SP-2026-2301", name="蒋甲", **ENROLLED_IN_NOVEMBER, card=None)
    await seed_recipient(pool, "SP-2026-2302", name="蒋乙", **ENROLLED_IN_NOVEMBER, card=CARDS[1])
    z_id = await seed_recipient(pool, "SP-2026-2303", name="蒋丙", **ENROLLED_IN_NOVEMBER, card=CARDS[2])
    # 1. December's roster is drafted with 蒋甲's account missing.
    dec = await start_payroll(review_env.client, "2026-12")
    # 2. The caseworker registers 蒋甲's account before the district confirms: there is no task to resolve yet.
    assert await set_account(pool, "SP-2026-2301", "蒋甲", CARDS[0], "补登账户") == 0
    # 3. The confirmation opens 蒋甲's task, resolved at once by who registered the account.
    s = await confirmed(dec)
    assert s.status == "confirmed"
    task = await pool.fetchrow("select case_id, kind, resolved_by, resolved_at is not null from payroll_tasks")
    assert tuple(task) == ("SP-2026-2301", "no_account", "shipo_jingban", True)
    # 4. The bank phones: 蒋乙's card is closed; the township registers a new one before the return file comes.
    assert await set_account(pool, "SP-2026-2302", "蒋乙", CARDS[4], "原卡销户") == 0
    answer = [
        {"n": 2, "account": CARDS[1], "id_number": "", "amount_fen": 65000, "result": "failed", "reason": "账户已销户"},
        {"n": 3, "account": CARDS[2], "id_number": z_id, "amount_fen": 65000, "result": "failed", "reason": "户名不符"},
    ]
    s = await bank_return(pool, dec, answer)
    assert (s.status, s.returns[-1].failed, s.returns[-1].tasks) == ("reconciled", 2, 2)
    tasks = await pool.fetch(
        "select case_id, kind, reason, resolved_by, resolved_at is not null from payroll_tasks order by case_id"
    )
    assert [tuple(t) for t in tasks] == [
        ("SP-2026-2301", "no_account", "无发放账户，暂未发放", "shipo_jingban", True),
        ("SP-2026-2302", "failed", "账户已销户", "shipo_jingban", True),
        ("SP-2026-2303", "failed", "户名不符", None, False),  # its account unchanged: still the township's to fix
    ]
    # 5. The next supplementary run pays 蒋甲 and 蒋乙 into the accounts now on file.
    sup = await start_payroll(review_env.client, "2026-12", seq=1)
    assert await lines(pool, sup.id) == [
        ("SP-2026-2301", DEC, 65000, f"补发2026年12月{DIBAO}", "4111 **** 1111"),
        ("SP-2026-2302", DEC, 65000, f"补发2026年12月{DIBAO}", "6222 **** 0128"),
    ]
