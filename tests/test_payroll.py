"""The monthly payroll (issue 18, points 3, 4 and 6) on the time-skipping server with a real worker and
database: who is paid which month and how much (exact amounts and dates), the roster checked and confirmed by
two people, immutable once confirmed, the fund declaration equal to the confirmed payroll, the bank's answer
turning failures into tasks and repeated failures into an escalation, and a supplementary run paying again."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db import accounts_repo, payroll_repo
from infra.config import TASK_QUEUE
from schemas.bank import AccountChange, PaymentAccount
from schemas.payroll import (
    BankReturn,
    PayrollCheck,
    PayrollConfirm,
    PayrollMonthResult,
    PayrollNames,
    PayrollState,
)
from schemas.supervision import DeclarationResult, SupervisionNames
from tests.support.clients import SHIPO, SHUNHE
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor
from tests.support.payroll import (
    CARDS,
    ENROLLED_IN_NOVEMBER,
    drafted,
    lines,
    seed_late_decisions,
    seed_recipient,
    start_payroll,
)

APPROVER, OFFICER = actor("shipo_shenpi"), actor("qu_minzheng")
JAN, FEB = date(2027, 1, 1), date(2027, 2, 1)


async def confirmed(h) -> PayrollState:
    await h.execute_update(PayrollNames.CHECK, PayrollCheck(actor=APPROVER))
    return await h.execute_update(PayrollNames.CONFIRM, PayrollConfirm(actor=OFFICER), result_type=PayrollState)


@pytest.mark.start_at(beijing(2027, 1, 10, 6, 0))
async def test_a_recipient_enrolled_on_2026_12_18_is_first_paid_in_january_2027_for_january(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_recipient(
        pool,
        "SP-2026-0101",
        name="李桂兰",
        accepted=beijing(2026, 11, 30, 10),
        decided=beijing(2026, 12, 18, 15),
        first_month=JAN,  # the month after the decision
    )
    with review_env.auto_time_skipping_disabled():  # the clock stays on 2027-01-10 while the runs finish
        december = await review_env.client.execute_workflow(
            PayrollNames.MONTH, "2026-12", id="pm-2026-12", task_queue=TASK_QUEUE, result_type=PayrollMonthResult
        )
        assert (december.townships, december.started) == ([], 0)
        # The Schedule's run takes the month of its day: 2027-01-10 in Beijing.
        january = await review_env.client.execute_workflow(
            PayrollNames.MONTH, id="pm-now", task_queue=TASK_QUEUE, result_type=PayrollMonthResult
        )
    assert (january.month, january.townships, january.started) == ("2027-01", [SHIPO], 1)
    h = review_env.client.get_workflow_handle(f"payroll-{SHIPO}-2027-01-0")
    s = await drafted(h)
    assert s.totals is not None and (s.status, s.totals.lines, s.totals.amount_fen) == ("draft", 1, 65000)
    assert await lines(pool, h.id) == [("SP-2026-0101", JAN, 65000, "2027年01月最低生活保障", "4111 **** 1111")]
    again = await review_env.client.execute_workflow(
        PayrollNames.MONTH, "2027-01", id="pm-again", task_queue=TASK_QUEUE, result_type=PayrollMonthResult
    )
    assert again.started == 0  # the township's payroll of the month exists: a retry never makes a second


async def test_a_late_december_decision_on_a_case_accepted_in_october_pays_november_and_december_in_january(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    # Accepted 2026-10-15, promised by 2026-11-12, decided 2026-12-10: late, so (policy payroll.arrears
    # "when_late") paid from the month after acceptance: January pays 2026-11, 2026-12 and 2027-01.
    await seed_recipient(
        pool,
        "SP-2026-0201",
        name="周德明",
        accepted=beijing(2026, 10, 15, 9),
        deadline=date(2026, 11, 12),
        decided=beijing(2026, 12, 10, 16),
        first_month=JAN,
        amount="650.00",
    )
    # Accepted 2026-11-20, decided within its limit: no arrears.
    await seed_recipient(
        pool,
        "SP-2026-0202",
        name="吴秀英",
        accepted=beijing(2026, 11, 20, 9),
        deadline=date(2026, 12, 18),
        decided=beijing(2026, 12, 10, 16),
        first_month=JAN,
        amount="480.50",
        card=CARDS[1],
    )
    assert await pool.fetchval("select arrears_months from recipients where case_id = 'SP-2026-0201'") == 2
    jan = await start_payroll(review_env.client, "2027-01")
    assert await lines(pool, jan.id) == [
        ("SP-2026-0201", JAN, 195000, "2027年01月最低生活保障（含补发2026年11月至2026年12月）", "4111 **** 1111"),
        ("SP-2026-0202", JAN, 48050, "2027年01月最低生活保障", "5500 **** 0004"),
    ]
    feb = await start_payroll(review_env.client, "2027-02")
    assert [(c, fen) for c, _, fen, *_ in await lines(pool, feb.id)] == [
        ("SP-2026-0201", 65000),
        ("SP-2026-0202", 48050),
    ]


async def test_a_stop_in_march_pays_march_and_not_april(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    for case_id, card in (("SP-2026-0301", CARDS[0]), ("SP-2026-0302", CARDS[1])):
        await seed_recipient(
            pool,
            case_id,
            name="郑大勇" if card == CARDS[0] else "钱小红",
            accepted=beijing(2026, 11, 2, 9),
            decided=beijing(2026, 11, 25, 10),
            first_month=date(2026, 12, 1),
            card=card,
        )
    await pool.execute(
        "update recipients set status = 'stopped', stopped_at = $1 where case_id = 'SP-2026-0301'",
        beijing(2027, 3, 1, 0, 30),  # 1 March, just after midnight in Beijing (still 28 Feb in UTC)
    )
    march = await start_payroll(review_env.client, "2027-03")
    april = await start_payroll(review_env.client, "2027-04")
    assert [c for c, *_ in await lines(pool, march.id)] == ["SP-2026-0301", "SP-2026-0302"]
    assert [c for c, *_ in await lines(pool, april.id)] == ["SP-2026-0302"]


async def test_the_confirmed_payroll_equals_the_months_fund_declaration_and_never_changes(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    cases = [
        ("SP-2026-0401", "陈一", SHIPO, "650.00", beijing(2026, 10, 15), date(2026, 11, 12)),  # late: 2 months
        ("SP-2026-0402", "陈二", SHIPO, "480.50", beijing(2026, 11, 20), date(2026, 12, 18)),
        ("SP-2026-0403", "陈三", SHIPO, "1184.00", beijing(2026, 11, 20), date(2026, 12, 18)),
        ("SH-2026-0404", "陈四", SHUNHE, "722.00", beijing(2026, 11, 20), date(2026, 12, 18)),
    ]
    for (case_id, name, town, amount, accepted, deadline), card in zip(cases, CARDS, strict=False):
        await seed_recipient(
            pool,
            case_id,
            name=name,
            township=town,
            amount=amount,
            accepted=accepted,
            deadline=deadline,
            decided=beijing(2026, 12, 10, 16),
            first_month=JAN,
            card=card,
        )
    declared = await review_env.client.execute_workflow(
        SupervisionNames.DECLARATION,
        "2027-01",
        id="decl-2027-01",
        task_queue=TASK_QUEUE,
        result_type=DeclarationResult,
    )
    rows = await pool.fetchval(
        "select data from fund_declarations where month = $1 and version = $2", "2027-01", declared.version
    )
    shipo = [r for r in rows if r["township_code"] == SHIPO]
    h = await start_payroll(review_env.client, "2027-01")
    s = await confirmed(h)
    assert s.status == "confirmed" and s.totals is not None
    payroll = await pool.fetchrow("select status, lines, amount_fen from payrolls where workflow_id = $1", h.id)
    assert tuple(payroll) == ("confirmed", 3, 195000 + 48050 + 118400)
    assert (payroll["lines"], payroll["amount_fen"]) == (
        sum(r["households"] for r in shipo),
        sum(r["amount_fen"] for r in shipo),
    )
    with pytest.raises(asyncpg.RaiseError, match="confirmed"):
        await pool.execute("update payroll_lines set amount_fen = 1 where payroll_id = $1", s.payroll_id)
    with pytest.raises(asyncpg.RaiseError, match="confirmed"):
        await pool.execute("update payrolls set amount_fen = 1 where id = $1", s.payroll_id)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(PayrollNames.CONFIRM, PayrollConfirm(actor=actor("qu_minzheng")))
    assert isinstance(err.value.cause, ApplicationError) and err.value.cause.type == "already_confirmed"


async def test_the_township_check_and_the_district_confirmation_are_two_people(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_recipient(
        pool,
        "SP-2026-0501",
        name="孙一",
        **ENROLLED_IN_NOVEMBER,
    )
    h = await start_payroll(review_env.client, "2026-12")
    refusals = []
    for update, who in (
        (PayrollNames.CONFIRM, PayrollConfirm(actor=OFFICER)),  # not checked yet
        (PayrollNames.CHECK, PayrollCheck(actor=actor("shipo_jingban"))),  # a caseworker does not check
        (
            PayrollNames.CHECK,
            PayrollCheck(actor=actor("shunhe_jingban").model_copy(update={"role": APPROVER.role})),
        ),  # another township's approver
    ):
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await h.execute_update(update, who)
        refusals.append(err.value.cause.type)  # type: ignore[union-attr]
    assert refusals == ["not_checked", "wrong_role", "out_of_jurisdiction"]
    await h.execute_update(PayrollNames.CHECK, PayrollCheck(actor=OFFICER))
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await h.execute_update(PayrollNames.CONFIRM, PayrollConfirm(actor=OFFICER))
    assert (err.value.cause.type, err.value.cause.message) == (  # type: ignore[union-attr]
        "same_person",
        "审核与确认须由两人分别办理：您已审核该花名册，不能再确认",
    )
    with pytest.raises(asyncpg.CheckViolationError, match="payroll_two_people"):
        await pool.execute(
            "update payrolls set status = 'confirmed', confirmed_by = checked_by where workflow_id = $1", h.id
        )


async def _return(pool: asyncpg.Pool, h, results: dict[str, str]) -> int:
    """A bank return stored for the payroll: each line of `results`' cases paid or failed with that reason."""
    rows = await pool.fetch(
        "select l.case_id, l.account_number, l.id_number, l.amount_fen from payroll_lines l "
        "join payrolls p on p.id = l.payroll_id where p.workflow_id = $1 order by l.id",
        h.id,
    )
    file_rows = [
        {
            "n": n,
            "account": r["account_number"],
            "id_number": r["id_number"],
            "amount_fen": r["amount_fen"],
            "result": "paid" if results[r["case_id"]] == "" else "failed",
            "reason": results[r["case_id"]],
        }
        for n, r in enumerate(rows, start=2)
        if r["case_id"] in results
    ]
    async with pool.acquire() as conn:
        payroll_id = await conn.fetchval("select id from payrolls where workflow_id = $1", h.id)
        return await payroll_repo.store_return(conn, payroll_id, "return.csv", file_rows, "qu_minzheng")


async def test_failed_lines_become_tasks_two_unpaid_months_escalate_and_a_supplementary_run_pays_again(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    names = {"SP-2026-0601": "冯一", "SP-2026-0602": "冯二", "SP-2026-0603": "冯三"}
    await seed_late_decisions(pool, names)
    nov = await start_payroll(review_env.client, "2026-11")
    await confirmed(nov)
    rid = await _return(pool, nov, {"SP-2026-0601": "", "SP-2026-0602": "账户已销户", "SP-2026-0603": "户名不符"})
    s = await nov.execute_update(
        PayrollNames.BANK_RETURN, BankReturn(actor=OFFICER, return_id=rid), result_type=PayrollState
    )
    assert s.status == "reconciled"
    assert s.returns[-1].model_dump(exclude={"return_id"}) == {
        "paid": 1,
        "failed": 2,
        "unmatched": 0,
        "tasks": 2,
        "escalated": 0,
        "outstanding": 0,
    }
    tasks = await pool.fetch("select case_id, kind, reason from payroll_tasks order by case_id")
    assert [tuple(t) for t in tasks] == [
        ("SP-2026-0602", "failed", "账户已销户"),
        ("SP-2026-0603", "failed", "户名不符"),
    ]
    # December: the closed account still fails; the name mismatch is paid. 0602: unpaid two months in a row.
    dec = await start_payroll(review_env.client, "2026-12")
    await confirmed(dec)
    rid = await _return(pool, dec, {"SP-2026-0601": "", "SP-2026-0602": "账户已销户", "SP-2026-0603": ""})
    s = await dec.execute_update(
        PayrollNames.BANK_RETURN, BankReturn(actor=OFFICER, return_id=rid), result_type=PayrollState
    )
    assert s.returns[-1].escalated == 1
    escalation = await pool.fetchrow("select case_id, escalation_key, kind, deadline, level from escalations")
    assert tuple(escalation) == (
        "SP-2026-0602",
        "payroll-unpaid-SP-2026-0602-2026-12",
        "payroll_unpaid",
        date(2027, 1, 1),
        "district",
    )
    notice = await pool.fetchrow("select audience, body from notifications where kind = 'payroll-unpaid'")
    assert tuple(notice) == (
        "role:district_officer@341503",
        "案件 SP-2026-0602 的保障金自2026年11月起连续 2 个月未发放成功，请督促乡镇（街道）核实处理",
    )
    # The township fixes 0602's account: its open tasks are resolved, and a supplementary run pays both months.
    async with pool.acquire() as conn:
        account = PaymentAccount(
            kind="bank_card", bank_name="中国建设银行", account_number=CARDS[4], holder_name="冯二"
        )
        await accounts_repo.set_account(
            conn, AccountChange(case_id="SP-2026-0602", account=account, changed_by="shipo_jingban", reason="原卡销户")
        )
        assert await payroll_repo.resolve_tasks(conn, "SP-2026-0602", "shipo_jingban") == 2
    sup = await start_payroll(review_env.client, "2026-12", seq=1)
    assert sup.id == f"payroll-{SHIPO}-2026-12-1"
    assert await lines(pool, sup.id) == [
        ("SP-2026-0602", date(2026, 11, 1), 65000, "补发2026年11月最低生活保障", "6222 **** 0128"),
        ("SP-2026-0602", date(2026, 12, 1), 65000, "补发2026年12月最低生活保障", "6222 **** 0128"),
    ]
    # 0603's November task is still open (its account was never changed): not paid again yet.
    empty = await start_payroll(review_env.client, "2026-12", seq=2)
    assert (await drafted(empty)).status == "empty"


async def test_the_payroll_schedule_runs_on_the_policys_day_in_beijing_time(dev_env, db_url: str) -> None:
    from temporalio.client import ScheduleRange

    from cli.system_cmd import _payroll_day
    from infra.schedules import PAYROLL_SCHEDULE, ensure_schedules

    assert await _payroll_day(db_url) == 10  # the default policy's payroll.payroll_day
    await ensure_schedules(dev_env.client, payroll_day=15)
    desc = await dev_env.client.get_schedule_handle(PAYROLL_SCHEDULE).describe()
    calendar = desc.schedule.spec.calendars[0]
    assert (desc.schedule.spec.time_zone_name, calendar.day_of_month, calendar.hour, calendar.comment) == (
        "Asia/Shanghai",
        (ScheduleRange(15),),
        (ScheduleRange(6),),
        "每月15日：各乡镇（街道）生成发放花名册",
    )
    assert desc.schedule.action.workflow == PayrollNames.MONTH  # type: ignore[union-attr]
    # A run missed while the server was down is made when it is back, until the 28th (15 + 13).
    assert desc.schedule.policy.catchup_window == timedelta(days=13)


@pytest.mark.parametrize(
    ("rule", "accepted", "decided", "deadline", "months"),
    [
        ("when_late", date(2026, 10, 15), date(2026, 12, 10), date(2026, 11, 12), 2),  # late: Nov and Dec
        ("when_late", date(2026, 11, 20), date(2026, 12, 10), date(2026, 12, 18), 0),  # in time
        ("always", date(2026, 11, 20), date(2026, 12, 10), date(2026, 12, 18), 1),  # December
        ("always", date(2026, 12, 1), date(2026, 12, 10), date(2026, 12, 29), 0),  # accepted in the decision's month
        ("none", date(2026, 10, 15), date(2026, 12, 10), date(2026, 11, 12), 0),
    ],
)
def test_the_arrears_rule(rule: str, accepted: date, decided: date, deadline: date, months: int) -> None:
    from rules.payroll import arrears_months, first_payment_month

    assert first_payment_month(decided) == JAN
    assert arrears_months(rule, accepted, decided, deadline, JAN) == months  # type: ignore[arg-type]


async def test_an_adjustment_decided_in_march_pays_the_old_amount_in_march_and_the_new_from_april(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_recipient(
        pool,
        "SP-2026-1201",
        name="许一",
        **ENROLLED_IN_NOVEMBER,
        amount="700.00",
    )
    await pool.execute(
        "insert into ongoing_reviews (review_key, case_id, due_on, outcome, old_amount_fen, new_amount_fen, reasons, "
        "findings, reviewed_by, reviewed_at) values ('SP-2026-1201-1', 'SP-2026-1201', '2027-03-10', 'adjust', "
        "65000, 70000, '子女外出务工收入减少', '入户核查', 'shipo_jingban', $1)",
        beijing(2027, 3, 15, 10),
    )  # the register holds the new amount (700) since 15 March
    for month, fen in (("2027-02", 65000), ("2027-03", 65000), ("2027-04", 70000)):
        h = await start_payroll(review_env.client, month)
        assert [(c, amount) for c, _, amount, *_ in await lines(pool, h.id)] == [("SP-2026-1201", fen)], month


async def test_a_recipient_without_an_account_is_held_then_paid_in_a_supplementary_run(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_recipient(
        pool,
        "SP-2026-1301",
        name="何一",
        **ENROLLED_IN_NOVEMBER,
        card=None,
    )
    h = await start_payroll(review_env.client, "2026-12")
    s = await confirmed(h)
    assert s.totals is not None and (s.status, s.totals.lines, s.totals.held_lines, s.totals.held_fen) == (
        "reconciled",
        1,
        1,
        65000,  # nothing went to the bank
    )
    task = await pool.fetchrow("select case_id, kind, reason, resolved_at from payroll_tasks")
    assert tuple(task) == ("SP-2026-1301", "no_account", "无发放账户，暂未发放", None)
    async with pool.acquire() as conn:
        account = PaymentAccount(
            kind="bank_card", bank_name="中国农业银行", account_number=CARDS[0], holder_name="何一"
        )
        change = AccountChange(case_id="SP-2026-1301", account=account, changed_by="shipo_jingban", reason="补登账户")
        await accounts_repo.set_account(conn, change)
        await payroll_repo.resolve_tasks(conn, "SP-2026-1301", "shipo_jingban")
    sup = await start_payroll(review_env.client, "2026-12", seq=1)
    assert await lines(pool, sup.id) == [
        ("SP-2026-1301", date(2026, 12, 1), 65000, "补发2026年12月最低生活保障", "4111 **** 1111")
    ]
