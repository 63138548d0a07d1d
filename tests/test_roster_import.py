"""Roster import (issue 18, point 1): every row checked with Chinese messages, a dry run imports nothing, a real run
is all-or-nothing and idempotent (the same file again, or the same households in another file, add nothing), and
the imported households' ongoing reviews are spread over the months and picked up by the district's morning."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from db import recipients_repo, roster_repo
from infra import roster_import
from infra.config import TASK_QUEUE
from infra.roster_file import Table, read_table, write_rows
from infra.roster_sample import person_id, sample
from rules.roster import ReviewDue, amount_problem, next_reviews
from schemas.supervision import OngoingState, SupervisionNames, ongoing_workflow_id
from tests.support.clients import insert_case
from tests.support.clock import beijing
from tests.support.workflows import query_until

TODAY = beijing(2026, 12, 4).date()
TABLES = ("households", "household_members", "cases", "recipients", "payment_accounts", "case_events",
          "roster_imports", "roster_households")  # fmt: skip
THREE_ERRORS = [
    (428, "成员身份证号：身份证号码校验位错误：应为2，实际为0"),
    (1276, "村（社区）：未知的村（社区）“不存在村”（石婆店镇下没有此村/社区）"),
    (2130, "月保障金（元）：月保障金7370.00元超过政策标准上限2733.00元（低保标准911.00元×3人）"),
]


def roster(households: int, errors: int = 0, kind: str = "xlsx") -> bytes:
    headers, rows, _ = sample(households, errors)
    return write_rows(headers, rows, kind)


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {t: await pool.fetchval(f"select count(*) from {t}") for t in TABLES}


async def run(pool: asyncpg.Pool, data: bytes, name: str = "花名册.xlsx", *, dry_run: bool = False):
    async with pool.acquire() as conn:
        return await roster_import.run(conn, data, name, by="admin", today=TODAY, dry_run=dry_run)


async def test_a_dry_run_reports_exactly_the_three_bad_rows_in_chinese_and_imports_nothing(pool) -> None:
    before = await counts(pool)
    headers, rows, _ = sample(1000, 3)
    out = await run(pool, write_rows(headers, rows, "xlsx"), dry_run=True)
    assert [(e.row, e.message) for e in out.checked.errors] == THREE_ERRORS
    assert out.result is None
    assert await counts(pool) == before
    sheet = read_table(out.checked.error_sheet(), "errors.xlsx")
    assert (sheet.headers[0], sheet.headers[1], sheet.headers[-1]) == ("原行号", "家庭编号", "错误说明")
    assert [(int(r[0]), r[-1]) for r in sheet.rows] == THREE_ERRORS
    assert [[v or "" for v in r[1:-1]] for r in sheet.rows] == [rows[n - 2] for n, _ in THREE_ERRORS]  # as they were
    assert sheet.rows[0][1] == "H000167"


async def test_a_broken_file_imports_nothing_even_when_not_a_dry_run(pool) -> None:
    before = await counts(pool)
    out = await run(pool, roster(1000, 3), dry_run=False)
    assert (len(out.checked.errors), out.result) == (3, None)
    assert await counts(pool) == before


async def test_every_kind_of_error_is_named_in_chinese(pool) -> None:
    out = await run(pool, roster(1000, 5, "csv"), "花名册.csv", dry_run=True)
    assert [(e.row, e.message.split("：")[0]) for e in out.checked.errors] == [
        (257, "成员身份证号"),
        (768, "村（社区）"),
        (1280, "月保障金（元）"),
        (1791, "银行账号"),
        (2303, "成员身份证号"),
    ]
    assert out.checked.errors[3].message == "银行账号：卡号校验位错误，请核对卡号"
    assert out.checked.errors[4].message == "成员身份证号：与第2302行重复（同一人在文件中出现两次）"


async def test_the_fixed_file_imports_once_and_again_adds_nothing(pool) -> None:
    headers, rows, _ = sample(1000)
    data = write_rows(headers, rows, "xlsx")
    start = await counts(pool)
    out = await run(pool, data)
    assert out.checked.errors == [] and out.result is not None and not out.result.already
    log = out.result.log
    assert (log.households, log.members, log.skipped, len(rows)) == (1000, 2554, 0, 2554)
    added = {t: n - start[t] for t, n in (await counts(pool)).items()}
    assert added == {
        "households": 1000,
        "household_members": 2554,
        "cases": 1000,
        "recipients": 1000,
        "payment_accounts": 1000,
        "case_events": 1000 + 666,  # each household marked imported; 666 have a last review (1 in 3 has none)
        "roster_imports": 1,
        "roster_households": 1000,
    }
    after = await counts(pool)
    again = await run(pool, data)
    assert again.result is not None and again.result.already and again.result.log.id == log.id
    assert await counts(pool) == after
    # The same households in another file (other bytes): skipped one by one, nothing else written but the log.
    other = await run(pool, write_rows(headers, rows, "csv"), "花名册.csv")
    assert other.result is not None and (other.result.log.households, other.result.log.skipped) == (0, 1000)
    assert await counts(pool) == after | {"roster_imports": after["roster_imports"] + 1}
    row = await pool.fetchrow(
        "select c.channel, c.stage, c.status, c.workflow_id, r.monthly_amount_fen, r.people, r.first_payment_month, "
        "r.category, r.review_cadence_months, r.last_review_on, r.review_pending, p.account_masked, p.holder_relation "
        "from cases c join recipients r using (case_id) join payment_accounts p using (case_id) "
        "where c.case_id = 'IMP-0000002'"
    )
    assert dict(row) == {
        "channel": "imported",
        "stage": "enrolled",
        "status": "closed",
        "workflow_id": "imported-IMP-0000002",
        "monthly_amount_fen": 192000,  # 640.00 × 3
        "people": 3,
        "first_payment_month": date(2016, 2, 1),
        "category": "B",
        "review_cadence_months": 6,
        "last_review_on": date(2026, 1, 7),
        "review_pending": True,
        "account_masked": "6228 **** 0018",
        "holder_relation": "self",
    }


async def test_a_failure_while_writing_leaves_nothing_behind(pool) -> None:
    """All or nothing: case 500 of the file cannot be written (its number is taken), so none is."""
    await insert_case(pool, "IMP-0000500", stage="enrolled", status="closed")
    before = await counts(pool)
    with pytest.raises(asyncpg.UniqueViolationError):
        await run(pool, roster(1000))
    assert await counts(pool) == before
    assert await pool.fetchval("select count(*) from cases where channel = 'imported'") == 0


async def test_a_person_already_receiving_help_in_another_household_is_refused(pool) -> None:
    await insert_case(pool, "SP-2026-0001", stage="enrolled", status="closed")
    hh = await pool.fetchval(
        "insert into households (township_code, address, hukou_type) values ('341503106', '石婆店镇', 'rural') "
        "returning id"
    )
    await pool.execute(
        "insert into household_members (household_id, name, id_number, relation, is_applicant) "
        "values ($1, '王大山', $2, 'self', true)",
        hh,
        person_id(4),  # the applicant of the file's third household (row 6)
    )
    await pool.execute("update cases set household_id = $1 where case_id = 'SP-2026-0001'", hh)
    await pool.execute(
        "insert into recipients (case_id, household_id, assistance_type, township_code, monthly_amount_fen, people, "
        "first_payment_month, decided_at) values ('SP-2026-0001', $1, 'dibao', '341503106', 72200, 1, "
        "'2026-10-01', now())",
        hh,
    )
    out = await run(pool, roster(20), dry_run=True)
    assert [(e.row, e.message) for e in out.checked.errors] == [
        (6, "成员身份证号：此人已是本区另一户正在享受救助的家庭成员（请与区民政局核实）")  # no case named
    ]


@pytest.mark.parametrize(
    ("kind", "amount", "people", "problem"),
    [
        ("dibao", "2166.00", 3, None),  # 722 × 3: the most a rural household of three gets
        ("dibao", "2166.01", 3, "月保障金2166.01元超过政策标准上限2166.00元（低保标准722.00元×3人）"),
        ("tekun", "1538.00", 1, None),  # 938 + the full-care standard 600
        (
            "tekun",
            "1538.01",
            1,
            "月保障金1538.01元超过政策标准上限1538.00元（特困人员基本生活标准938.00元+照料护理标准600.00元×1人）",
        ),
        ("tekun", "937.99", 2, "月保障金937.99元低于特困人员基本生活标准938.00元（至少一人）"),
    ],
)
def test_the_amount_must_lie_within_the_policys_standard(kind: str, amount: str, people: int, problem) -> None:
    standard = Decimal("722.00") if kind == "dibao" else Decimal("938.00")
    found = amount_problem(
        kind, Decimal(amount), standard, people, care_max=Decimal("600.00"), override_ratio=Decimal("1")
    )
    assert found == problem


def test_unknown_reviews_are_spread_evenly_over_the_cadence_months() -> None:
    due = next_reviews([ReviewDue(f"34150319{n:010d}|dibao", 12, None) for n in range(1200)], TODAY)
    by_month = Counter(d.strftime("%Y-%m") for d in due.values())
    assert by_month == {f"2027-{m:02d}": 100 for m in range(1, 13)}
    by_day = Counter(due.values())
    assert (min(by_day.values()), max(by_day.values()), len(by_day)) == (3, 4, 12 * 28)  # 100 over 28 days


def test_a_known_last_review_sets_the_next_one_and_an_overdue_one_is_spread() -> None:
    due = next_reviews(
        [
            ReviewDue("a", 12, date(2026, 3, 10)),  # next on 2027-03-10
            ReviewDue("b", 6, date(2026, 8, 31)),  # next on 2027-02-28 (clipped to the month's end)
            ReviewDue("c", 6, date(2026, 5, 4)),  # 2026-11-04 is past: spread like an unknown one
        ],
        TODAY,
    )
    assert due == {"a": date(2027, 3, 10), "b": date(2027, 2, 28), "c": date(2027, 1, 1)}


async def test_the_mornings_start_the_imported_reviews_as_their_dates_come_near(pool) -> None:
    out = await run(pool, roster(300))
    assert out.result is not None
    by_month = await roster_repo.reviews_by_month(pool, out.result.log.id)
    assert sum(by_month.values()) == 300 and (min(by_month), max(by_month)) == ("2026-12", "2027-12")
    near = await pool.fetchval("select count(*) from recipients where next_review_on <= '2027-01-18'")
    async with pool.acquire() as conn:
        first = await recipients_repo.assign_review_cycles(conn, TODAY)
        second = await recipients_repo.assign_review_cycles(conn, TODAY)
    assert len(first) == near > 0 and second == []
    assert all(r.due_on <= date(2027, 1, 18) for r in first)
    assert await pool.fetchval("select count(*) from recipients where review_pending") == 300 - near


async def test_the_daily_workflow_starts_the_reviews_of_imported_households_as_they_come_due(
    review_env, pool: asyncpg.Pool
) -> None:
    """The district's morning (DEFAULT_START, 2026-11-24) starts the ongoing-review workflow of each imported
    household whose review falls within 45 days (by 2027-01-08), each due on its imported date."""
    async with pool.acquire() as conn:
        await roster_import.run(conn, roster(60), "r.xlsx", by="admin", today=date(2026, 11, 24), dry_run=False)
    near = await pool.fetch(
        "select case_id, next_review_on from recipients where next_review_on <= '2027-01-08' order by case_id"
    )
    # The clock stays on the morning while the children are read: waiting for the daily workflow's result would
    # otherwise let the server skip to the first child's due day (2026-11-28) on a busy machine.
    with review_env.auto_time_skipping_disabled():
        result = await review_env.client.execute_workflow(
            SupervisionNames.DAILY, id=f"daily-{uuid.uuid4()}", task_queue=TASK_QUEUE
        )
        assert result["reviews_started"] == len(near) > 0
        for r in near:  # children start late on a busy machine
            handle = review_env.client.get_workflow_handle(ongoing_workflow_id(r["case_id"]))
            state = await query_until(handle, SupervisionNames.STATE, OngoingState, lambda s: True)
            assert (state.case_id, state.due_on, state.status) == (r["case_id"], r["next_review_on"], "waiting")
    assert await pool.fetchval("select count(*) from recipients where review_pending") == 60 - len(near)


async def test_the_applicants_own_row_says_self_and_a_missing_address_is_the_village(pool) -> None:
    headers, rows, _ = sample(3)
    relation, address = headers.index("与户主关系"), headers.index("家庭住址")
    rows[0][relation] = "配偶"
    rows[1][address] = ""
    out = await run(pool, write_rows(headers, rows, "csv"), "r.csv", dry_run=True)
    assert [(e.row, e.message) for e in out.checked.errors] == [(2, "与户主关系：户主本人一行应填“本人”或“户主”")]
    rows[0][relation] = "户主"
    out = await run(pool, write_rows(headers, rows, "csv"), "r.csv")
    assert out.checked.errors == []
    assert await pool.fetchval("select address from households h join cases c on c.household_id = h.id "
                               "where c.case_id = 'IMP-0000002'") == "石婆店镇石婆店镇示范村二"  # fmt: skip


def test_a_cell_typed_as_a_formula_comes_back_as_text_in_the_error_sheet() -> None:
    headers, rows, _ = sample(1)
    rows[0][headers.index("家庭住址")] = '=HYPERLINK("http://x", "点击")'
    table = Table(headers, rows)
    checked = roster_import.Checked("r.csv", "", table, [], [roster_import.RowError(2, rows[0], ["x"])], 0, None)
    sheet = read_table(checked.error_sheet(), "e.xlsx")
    assert sheet.rows[0][1 + headers.index("家庭住址")] == '\'=HYPERLINK("http://x", "点击")'


async def test_an_error_sheet_is_for_the_administrator_who_ran_the_check_only(pool) -> None:
    await roster_repo.keep_error_sheet(pool, "check-0123456789abcdef", "admin", "r.xlsx", 3, b"sheet")
    assert await roster_repo.error_sheet(pool, "check-0123456789abcdef", "admin") == ("r.xlsx", b"sheet")
    assert await roster_repo.error_sheet(pool, "check-0123456789abcdef", "admin2") is None
    await pool.execute("update roster_checks set created_at = now() - interval '25 hours'")
    assert await roster_repo.error_sheet(pool, "check-0123456789abcdef", "admin") is None  # kept a day


async def dry_run_of(pool: asyncpg.Pool, headers: list[str], rows: list[list[str]]) -> list[tuple[int, str]]:
    out = await run(pool, write_rows(headers, rows, "csv"), "r.csv", dry_run=True)
    return [(e.row, e.message) for e in out.checked.errors]


async def test_two_households_sharing_a_household_number_are_refused_not_merged(pool) -> None:
    """A 家庭编号 that restarts per village: 甲's household (石婆店镇, 1920.00, B, rows 2-4) and 乙's (顺河镇,
    1260.00, C, its own account, rows 5-6) under the same number "1". Every row of 乙's says it is another
    household's, 乙's own row also that the household has its 本人 already and every household column that differs;
    nothing is taken (the old code made one household of 甲 in 石婆店镇 at 1920.00 with 乙's people, and dropped the
    rest)."""
    headers, rows, _ = sample(3)
    rows = rows[1:]  # 甲 = H000002 (3 people), 乙 = H000003 (2 people)
    for r in rows:
        r[headers.index("家庭编号")] = "1"
    not_theirs = [
        "户主身份证号：家庭编号与户主身份证号不一致（与第2行的户主不是同一人）",
        "户主姓名：家庭编号与户主姓名不一致（与第2行不同）",
    ]
    differs = ["乡镇（街道）", "村（社区）", "家庭住址", "保障类别", "月保障金（元）", "保障起始年月", "账户类型",
               "开户银行", "银行账号", "账户户名", "上次复核日期"]  # fmt: skip
    second_self = "与户主关系：本户已有户主本人一行（第2行），不能再有一行“本人”"
    assert await dry_run_of(pool, headers, rows) == [
        (5, "；".join([*not_theirs, second_self] + [f"{c}：与户主本人一行（第2行）不一致" for c in differs])),
        (6, "；".join(not_theirs)),
    ]
    # The same without 乙's household columns on its own row: still another household's, and a second 本人.
    for c in (*differs, "城乡类别", "救助类型"):
        rows[3][headers.index(c)] = ""
    assert await dry_run_of(pool, headers, rows) == [
        (5, "；".join([*not_theirs, second_self])),
        (6, "；".join(not_theirs)),
    ]
    # With their own numbers (as the sample has them), both pass.
    _, fixed, _ = sample(3)
    out = await run(pool, write_rows(headers, fixed[1:], "csv"), "r.csv", dry_run=True)
    assert (out.checked.errors, len(out.checked.households)) == ([], 2)


async def test_a_second_self_row_of_one_applicant_is_refused(pool) -> None:
    headers, rows, _ = sample(2)
    rows[2][headers.index("与户主关系")] = "户主"  # 张秀英, the spouse, says 户主 too
    assert await dry_run_of(pool, headers, rows) == [
        (4, "与户主关系：本户已有户主本人一行（第3行），不能再有一行“本人”")
    ]


async def test_a_member_row_that_says_another_township_or_amount_is_refused_not_dropped(pool) -> None:
    """A household column on a member's row may be left blank or repeat the applicant's, in any spelling (a code for
    the name, 1920 for 1920.00, B类 for B); saying something else is an error on that row (it was dropped)."""
    headers, rows, _ = sample(2)  # H000002: rows 3 (李秀英, 本人), 4, 5
    col = headers.index
    rows[2][col("乡镇（街道）")], rows[2][col("月保障金（元）")], rows[2][col("保障类别")] = "341503106", "1920", "B类"
    rows[2][col("村（社区）")], rows[2][col("救助类型")] = "石婆店镇示范村二", "最低生活保障"
    assert await dry_run_of(pool, headers, rows) == []
    rows[2][col("乡镇（街道）")], rows[2][col("村（社区）")] = "顺河镇", "顺河镇示范村一"
    rows[3][col("月保障金（元）")], rows[3][col("保障起始年月")] = "1900.00", "2016-03"
    assert await dry_run_of(pool, headers, rows) == [
        (4, "乡镇（街道）：与户主本人一行（第3行）不一致；村（社区）：与户主本人一行（第3行）不一致"),
        (5, "月保障金（元）：与户主本人一行（第3行）不一致；保障起始年月：与户主本人一行（第3行）不一致"),
    ]
    rows[2][col("乡镇（街道）")], rows[2][col("村（社区）")] = "", ""
    rows[3][col("月保障金（元）")], rows[3][col("保障起始年月")] = "一千", ""
    assert await dry_run_of(pool, headers, rows) == [(5, "月保障金（元）：金额格式不正确：一千")]


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("保障起始年月", "2026-02-30", "保障起始年月：日期不存在：2026-02-30"),
        ("保障起始年月", "2026-13", "保障起始年月：日期不存在：2026-13"),
        ("保障起始年月", "2027-02", "保障起始年月：不能晚于2027-01（尚未开始保障的家庭不能导入）"),
        ("保障起始年月", "2027-01", None),  # decided in December, paid from January (从作出决定次月起)
        ("上次复核日期", "2026-02-29", "上次复核日期：日期不存在：2026-02-29"),
        ("上次复核日期", "2024-02-29", None),
    ],
    ids=["feb-30", "month-13", "future", "next-month", "feb-29-2026", "feb-29-2024"],
)
async def test_impossible_and_future_dates_are_refused(pool, column: str, value: str, problem: str | None) -> None:
    """On 2026-12-04 (TODAY)."""
    headers, rows, _ = sample(1)
    rows[0][headers.index(column)] = value
    assert await dry_run_of(pool, headers, rows) == ([(2, problem)] if problem else [])


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("NaN", "金额格式不正确：NaN"),
        ("nan", "金额格式不正确：nan"),
        ("sNaN", "金额格式不正确：sNaN"),
        ("Infinity", "金额格式不正确：Infinity"),
        ("1e30", "金额超出范围：1e30"),
    ],
    ids=["NaN", "nan", "sNaN", "Infinity", "1e30"],
)
async def test_an_amount_decimal_reads_but_no_amount_is_gives_a_row_error(pool, cell: str, problem: str) -> None:
    """On the applicant's row (the household's amount) and on a member's (checked against it): a row error, not a
    decimal.InvalidOperation out of the check (a 500 on the page, a traceback from the command)."""
    headers, rows, _ = sample(2)  # row 2: 王秀英 (tekun, alone); rows 3-5: 李秀英's household
    rows[0][headers.index("月保障金（元）")] = cell
    rows[2][headers.index("月保障金（元）")] = cell
    assert await dry_run_of(pool, headers, rows) == [
        (2, f"月保障金（元）：{problem}"),
        (4, f"月保障金（元）：{problem}"),
    ]
