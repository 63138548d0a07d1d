"""The payroll over HTTP with a real worker (issue 18, points 2-4): the township checks and the district confirms
through the API, a double-clicked confirmation (one Idempotency-Key) confirms once, the bank file (CSV and
Excel) with its control row, a return file with two failures makes exactly two tasks, a payment account set with
a reason (masked everywhere but the bank file), and jurisdiction and role refusals as {"code","message"}."""

from __future__ import annotations

import base64
import io

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook

from tests.support.clients import SHIPO, SHUNHE, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.payroll import (
    CARDS,
    ENROLLED_IN_OCTOBER,
    drafted,
    seed_late_decisions,
    seed_recipient,
    start_payroll,
)

pytestmark = pytest.mark.web(temporal="review_env")
NAMES = {"SP-2026-0701": "蒋一", "SP-2026-0702": "蒋二", "SP-2026-0703": "蒋三", "SP-2026-0704": "=蒋四"}


async def _payroll(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> int:
    await seed_late_decisions(pool, NAMES)
    h = await start_payroll(review_env.client, "2026-11")
    return await pool.fetchval("select id from payrolls where workflow_id = $1", h.id)


async def test_check_confirm_once_bank_file_and_a_return_with_two_failures(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    pid = await _payroll(review_env, pool)
    approver, officer = await login(web, "shipo_shenpi", session=False), await login(web, "qu_minzheng", session=False)
    other = await login(web, "shunhe_jingban", session=False)

    r = await web.get(f"/api/payrolls/{pid}", headers=other)
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    r = await web.get(f"/api/payrolls/{pid}", headers=approver)
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["lines"], body["amount_fen"]) == ("draft", 4, 260000)
    first = body["lines_detail"][0]
    assert (first["account_masked"], first["id_number_masked"][6:14]) == ("4111 **** 1111", "********")
    assert CARDS[0] not in r.text

    r = await web.post(f"/api/payrolls/{pid}/confirm", headers=officer | {"Idempotency-Key": "c-0"}, json={})
    assert (r.status_code, r.json()["code"]) == (409, "not_checked")
    r = await web.post(
        f"/api/payrolls/{pid}/check", headers=approver | {"Idempotency-Key": "k-1"}, json={"note": "已核"}
    )
    assert (r.status_code, r.json()["status"]) == (200, "checked")
    r = await web.post(f"/api/payrolls/{pid}/confirm", headers=approver | {"Idempotency-Key": "c-1"}, json={})
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    r = await web.get(f"/api/payrolls/{pid}/bank-file.csv", headers=officer)
    assert (r.status_code, r.json()["code"]) == (409, "not_confirmed")

    # A double click: the same key twice is one confirmation, answered alike.
    once = officer | {"Idempotency-Key": "confirm-2026-11-dbl"}
    a = await web.post(f"/api/payrolls/{pid}/confirm", headers=once, json={"note": ""})
    b = await web.post(f"/api/payrolls/{pid}/confirm", headers=once, json={"note": ""})
    assert (a.status_code, b.status_code, a.json(), b.json()["status"]) == (200, 200, b.json(), "confirmed")
    r = await web.post(f"/api/payrolls/{pid}/confirm", headers=officer | {"Idempotency-Key": "c-3"}, json={})
    assert (r.status_code, r.json()["code"]) == (409, "already_confirmed")
    confirmed = await pool.fetchrow("select status, checked_by, confirmed_by from payrolls where id = $1", pid)
    assert tuple(confirmed) == ("confirmed", "shipo_shenpi", "qu_minzheng")

    r = await web.get(f"/api/payrolls/{pid}/bank-file.csv", headers=approver)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    csv_file = await web.get(f"/api/payrolls/{pid}/bank-file.csv", headers=officer)
    assert csv_file.status_code == 200
    rows = csv_file.content.decode("utf-8-sig").split("\r\n")
    ids = [x[0] for x in await pool.fetch("select id_number from payroll_lines where payroll_id = $1 order by id", pid)]
    assert rows[0] == "姓名,身份证号,账号,金额,备注"
    assert rows[1] == f"蒋一,{ids[0]},{CARDS[0]},650.00,2026年11月最低生活保障"
    assert rows[4] == f"'=蒋四,{ids[3]},{CARDS[3]},650.00,2026年11月最低生活保障"  # formula-safe
    assert rows[5] == "合计,,4,2600.00,石婆店镇 2026年11月 正常发放；笔数 4，金额合计 2600.00 元"
    xlsx = await web.get(f"/api/payrolls/{pid}/bank-file.xlsx", headers=officer)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[2]] == ["蒋一", ids[0], CARDS[0], 650, "2026年11月最低生活保障"]
    assert [c.value for c in sheet[6]][:4] == ["合计", None, 4, 2600]

    # The bank's answer: two failures (one matched by ID number), two paid.
    answer = (
        "账号,身份证号,金额,结果,失败原因\r\n"
        f"{CARDS[0]},,650.00,成功,\r\n"
        f"{CARDS[1]},,650.00,失败,账户已销户\r\n"
        f",{ids[2]},650.00,失败,户名不符\r\n"
        f"{CARDS[3]},,650.00,成功,\r\n"
        "合计,,2600.00,,\r\n"
    ).encode("gb18030")
    payload = {"file_name": "回盘.csv", "content_base64": base64.b64encode(answer).decode()}
    r = await web.post(f"/api/payrolls/{pid}/bank-return", headers=officer | {"Idempotency-Key": "ret-1"}, json=payload)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "reconciled"
    assert {k: r.json()["returns"][0][k] for k in ("paid", "failed", "unmatched", "tasks")} == {
        "paid": 2,
        "failed": 2,
        "unmatched": 0,
        "tasks": 2,
    }
    tasks = await pool.fetch("select case_id, township_code, kind, reason from payroll_tasks order by case_id")
    assert [tuple(t) for t in tasks] == [
        ("SP-2026-0702", SHIPO, "failed", "账户已销户"),
        ("SP-2026-0703", SHIPO, "failed", "户名不符"),
    ]
    bad = {"file_name": "x.csv", "content_base64": base64.b64encode("账号,金额\r\n1,2\r\n".encode()).decode()}
    r = await web.post(f"/api/payrolls/{pid}/bank-return", headers=officer | {"Idempotency-Key": "ret-2"}, json=bad)
    assert r.json() == {"code": "invalid", "message": "回盘文件：回盘文件缺少列：结果"}


async def test_a_payment_account_is_set_with_a_reason_masked_and_resolves_the_tasks(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_recipient(
        pool,
        "SP-2026-0801",
        name="韩梅",
        **ENROLLED_IN_OCTOBER,
        card=None,
    )
    caseworker = await login(web, "shipo_jingban", session=False)
    url = "/api/cases/SP-2026-0801/payment-account"
    account = {
        "kind": "bank_card",
        "bank_name": "中国工商银行",
        "account_number": "6222 0212 3456 7890 123",
        "holder_name": "韩梅",
        "reason": "纳入后登记",
    }
    r = await web.post(url, headers=caseworker | {"Idempotency-Key": "a-1"}, json=account)
    assert r.json() == {"code": "invalid", "message": "账号：卡号校验位错误，请核对卡号"}
    r = await web.post(
        url,
        headers=caseworker | {"Idempotency-Key": "a-2"},
        json=account | {"account_number": CARDS[4], "holder_name": "李雷"},
    )
    assert r.json() == {"code": "holder_mismatch", "message": "账户户名（李雷）与救助对象姓名（韩梅）不一致"}
    r = await web.post(
        url, headers=caseworker | {"Idempotency-Key": "a-3"}, json=account | {"account_number": CARDS[4]}
    )
    assert r.status_code == 200 and r.json()["account_masked"] == "6222 **** 0128"
    history = await web.get(url, headers=caseworker)
    assert [(a["account_masked"], a["reason"], a["changed_by"]) for a in history.json()] == [
        ("6222 **** 0128", "纳入后登记", "shipo_jingban")
    ]
    assert CARDS[4] not in history.text
    event = await pool.fetchrow("select kind, payload from case_events where case_id = 'SP-2026-0801'")
    assert (event["kind"], event["payload"]["summary"]) == (
        "payment_account_set",
        "登记发放账户：中国工商银行 6222 **** 0128（纳入后登记）",
    )
    other = await login(web, "shunhe_jingban", session=False)
    r = await web.post(url, headers=other | {"Idempotency-Key": "a-4"}, json=account | {"account_number": CARDS[4]})
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")


@pytest.mark.start_at(beijing(2026, 12, 3, 9, 0))  # before the payroll day (the 10th)
async def test_a_district_officer_drafts_the_months_roster_at_once_and_never_a_second(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_recipient(
        pool,
        "SP-2026-1001",
        name="秦一",
        **ENROLLED_IN_OCTOBER,
    )
    officer = await login(web, "qu_minzheng", session=False)
    body = {"township_code": SHIPO, "month": "2026-12"}
    first = await web.post("/api/payrolls", headers=officer | {"Idempotency-Key": "run-1"}, json=body)
    again = await web.post("/api/payrolls", headers=officer | {"Idempotency-Key": "run-2"}, json=body)
    assert first.status_code == again.status_code == 200
    assert (first.json()["status"], first.json()["totals"]["lines"], first.json()["totals"]["amount_fen"]) == (
        "draft",
        1,
        65000,
    )
    assert again.json()["payroll_id"] == first.json()["payroll_id"]
    assert await pool.fetchval("select count(*) from payrolls") == 1
    # A later month cannot be drafted yet: its roster would be frozen from today's register.
    for key, month in (("run-5", "2027-01"), ("run-6", "2027-12")):
        r = await web.post(
            "/api/payrolls", headers=officer | {"Idempotency-Key": key}, json={"township_code": SHIPO, "month": month}
        )
        assert (r.status_code, r.json()) == (
            422,
            {
                "code": "future_month",
                "message": f"不能生成{month[:4]}年{month[5:]}月的发放花名册：该月尚未到来（当前为2026年12月）",
            },
        )
    r = await web.post(
        "/api/payrolls/supplementary",
        headers=officer | {"Idempotency-Key": "run-7"},
        json={"township_code": SHIPO, "month": "2027-01"},
    )
    assert (r.status_code, r.json()["code"]) == (422, "future_month")
    assert await pool.fetchval("select count(*) from payrolls") == 1
    r = await web.post(
        "/api/payrolls",
        headers=officer | {"Idempotency-Key": "run-3"},
        json={"township_code": "341503999", "month": "2026-12"},
    )
    assert r.json() == {"code": "not_found", "message": "该乡镇（街道）不存在"}
    approver = await login(web, "shipo_shenpi", session=False)
    r = await web.post("/api/payrolls", headers=approver | {"Idempotency-Key": "run-4"}, json=body)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")


@pytest.mark.start_at(beijing(2027, 1, 4, 9, 0))  # before the payroll day (the 10th)
async def test_no_payroll_of_a_month_before_the_systems_first_one(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    # Enrolled at the review (no paid_from), first paid for November 2026: the old system paid November and
    # December; Jiuzhu's first payroll is January 2027's.
    await seed_recipient(pool, "SP-2026-1101", name="秦二", **ENROLLED_IN_OCTOBER)
    officer = await login(web, "qu_minzheng", session=False)
    january = {"township_code": SHIPO, "month": "2027-01"}
    r = await web.post("/api/payrolls", headers=officer | {"Idempotency-Key": "first"}, json=january)
    assert (r.status_code, r.json()["status"], r.json()["totals"]["lines"]) == (200, "draft", 1)
    assert await pool.fetchval("select count(*) from payrolls") == 1
    # A backdated payroll, regular or supplementary, of any township: it would move the system's start back.
    for key, path, township, month in (
        ("b-1", "/api/payrolls", SHIPO, "2026-11"),
        ("b-2", "/api/payrolls", SHUNHE, "2026-12"),
        ("b-3", "/api/payrolls/supplementary", SHIPO, "2026-12"),
    ):
        r = await web.post(
            path, headers=officer | {"Idempotency-Key": key}, json={"township_code": township, "month": month}
        )
        assert (r.status_code, r.json()) == (
            422,
            {
                "code": "before_first_payroll",
                "message": f"不能生成{month[:4]}年{month[5:]}月的发放花名册：本系统自2027年01月起发放，"
                "此前的保障金已在原系统发放",
            },
        )
    # The workflow's own draft (a Schedule's run started by hand with a month) writes nothing either.
    assert (await drafted(await start_payroll(review_env.client, "2026-12"))).status == "empty"
    assert await pool.fetchval("select count(*) from payrolls") == 1
    assert await pool.fetchval("select count(*) from payroll_lines") == 1
