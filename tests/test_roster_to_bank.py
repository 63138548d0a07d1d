"""Issue 18's "Done when", end to end through the administrator's page and the HTTP API with a real worker: a
generated roster with 3 deliberate errors is refused whole (3 errors, nothing imported), the fixed file imports,
the month's payroll (the Schedule's workflow) pays 石婆店镇's imported households their exact amounts, the
township's approver checks and a district officer confirms it (two people), the bank file downloads with its
control row, and a bank return with two failures makes exactly two tasks."""

from __future__ import annotations

import base64
import re
import uuid
from decimal import Decimal

import asyncpg
import httpx
import pytest

from infra.config import TASK_QUEUE
from infra.roster_file import write_rows
from infra.roster_sample import sample
from schemas.payroll import PayrollMonthResult, PayrollNames
from schemas.roster import COLUMNS
from tests.support.clients import SHIPO, SHUNHE, csrf_token, log_in, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.payroll import drafted

pytestmark = [pytest.mark.web(temporal="review_env"), pytest.mark.start_at(beijing(2026, 12, 10, 6, 0))]
GULOU = "341503001"
TABLES = ("households", "household_members", "cases", "recipients", "payment_accounts", "roster_imports")


async def submit(web: httpx.AsyncClient, data: bytes, mode: str) -> httpx.Response:
    page = await web.get("/admin/roster")
    assert page.status_code == 200
    form = {
        "csrftoken": csrf_token(page.text),
        "idempotency_key": uuid.uuid4().hex,
        "filename": "花名册.xlsx",
        "content": base64.b64encode(data).decode(),
        "mode": mode,
    }
    return await web.post("/admin/roster", data=form)


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {t: await pool.fetchval(f"select count(*) from {t}") for t in TABLES}


async def test_a_sample_roster_from_refusal_to_import_payroll_bank_file_and_a_return_with_two_failures(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    assert (await log_in(web, "admin")).status_code == 303
    empty = await counts(pool)

    # 1. Three deliberate errors: refused whole, as a dry run and as an import alike.
    headers, rows, faults = sample(60, 3)
    broken = write_rows(headers, rows, "xlsx")
    for mode in ("dry_run", "import"):
        r = await submit(web, broken, mode)
        assert r.status_code == 422
        assert "3 行有错误，未导入任何数据。" in r.text
        listed = [int(n) for n in re.findall(r"<tr><td>(\d+)</td><td>[^<]+</td></tr>", r.text)]
        assert listed == [f.row for f in faults] == [27, 77, 129]
        assert await counts(pool) == empty

    # 2. The fixed file imports: 60 households, 153 people.
    headers, rows, _ = sample(60)
    r = await submit(web, write_rows(headers, rows, "xlsx"), "import")
    assert (r.status_code, r.headers["location"]) == (303, "/admin/roster")
    assert "已导入 60 户、153 人；跳过此前已导入的 0 户。" in (await web.get("/admin/roster")).text
    assert await counts(pool) == {
        "households": 60,
        "household_members": 153,
        "cases": 60,
        "recipients": 60,
        "payment_accounts": 60,
        "roster_imports": 1,
    }

    # 3. The month's payroll as the Schedule runs it: one payroll per township, 石婆店镇's drafted.
    result = await review_env.client.execute_workflow(
        PayrollNames.MONTH, "2026-12", id="pm-2026-12", task_queue=TASK_QUEUE, result_type=PayrollMonthResult
    )
    assert (result.townships, result.started) == ([GULOU, SHUNHE, SHIPO], 3)
    state = await drafted(review_env.client.get_workflow_handle(f"payroll-{SHIPO}-2026-12-0"))
    assert state.totals is not None and (state.status, state.totals.lines) == ("draft", 20)

    approver = await login(web, "shipo_shenpi", session=False)
    officer = await login(web, "qu_minzheng", session=False)
    listed = (await web.get("/api/payrolls?month=2026-12", headers=approver)).json()
    assert [(p["township_code"], p["status"], p["lines"], p["amount_fen"]) for p in listed] == [
        (SHIPO, "draft", 20, 3_204_200)
    ]
    pid = listed[0]["id"]
    detail = (await web.get(f"/api/payrolls/{pid}", headers=approver)).json()
    # Each imported household of the township, once, for December, with the monthly amount of its row in the file.
    col = {c.field: i for i, c in enumerate(COLUMNS)}
    expected = [
        (f"IMP-{int(r[col['household_no']][1:]):07d}", Decimal(r[col["monthly_amount"]]))
        for r in rows
        if r[col["relation"]] == "本人" and r[col["township"]] == "石婆店镇"
    ]
    got = [(x["case_id"], Decimal(x["amount_fen"]) / 100, x["for_month"]) for x in detail["lines_detail"]]
    assert sorted(got) == [(case, amount, "2026-12-01") for case, amount in expected]
    assert expected[:3] == [("IMP-0000001", Decimal("938.00")), ("IMP-0000002", Decimal("1920.00")),
                            ("IMP-0000007", Decimal("1920.00"))]  # fmt: skip
    assert sum(a for _, a in expected) == Decimal("32042.00")

    # 4. Checked by the township's approver, confirmed by a district officer: two people.
    r = await web.post(f"/api/payrolls/{pid}/check", headers=approver | {"Idempotency-Key": "e2e-check"}, json={})
    assert (r.status_code, r.json()["status"]) == (200, "checked")
    r = await web.post(f"/api/payrolls/{pid}/confirm", headers=officer | {"Idempotency-Key": "e2e-ok"}, json={})
    assert (r.status_code, r.json()["status"]) == (200, "confirmed")
    who = await pool.fetchrow("select checked_by, confirmed_by from payrolls where id = $1", pid)
    assert tuple(who) == ("shipo_shenpi", "qu_minzheng")

    # 5. The bank file: a header, 20 lines, the control row with the count and the total.
    bank = await web.get(f"/api/payrolls/{pid}/bank-file.csv", headers=officer)
    assert bank.status_code == 200
    lines = bank.content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "姓名,身份证号,账号,金额,备注"
    assert len([x for x in lines[1:] if x and not x.startswith("合计")]) == 20
    assert lines[21] == "合计,,20,32042.00,石婆店镇 2026年12月 正常发放；笔数 20，金额合计 32042.00 元"
    body = [x.split(",") for x in lines[1:21]]
    assert lines[1] == "王秀英,341503194001010002,6228480000000000000,938.00,2026年12月特困人员供养"
    assert body[5][1:] == ["341503194001011507", "6228480000000000307", "1950.00", "2026年12月最低生活保障"]
    assert sum(Decimal(x[3]) for x in body) == Decimal("32042.00")

    # 6. The bank's answer: two failures, eighteen paid: exactly two tasks for the township.
    failed = {body[0][2]: "账户已销户", body[5][2]: "户名不符"}
    answer = "账号,身份证号,金额,结果,失败原因\r\n" + "".join(
        f"{x[2]},,{x[3]},{'失败' if x[2] in failed else '成功'},{failed.get(x[2], '')}\r\n" for x in body
    )
    payload = {"file_name": "回盘.csv", "content_base64": base64.b64encode(answer.encode("gb18030")).decode()}
    r = await web.post(f"/api/payrolls/{pid}/bank-return", headers=officer | {"Idempotency-Key": "e2e-r"}, json=payload)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "reconciled"
    applied = r.json()["returns"][0]
    assert tuple(applied[k] for k in ("paid", "failed", "unmatched", "tasks")) == (18, 2, 0, 2)
    tasks = await pool.fetch("select case_id, township_code, kind, reason from payroll_tasks order by case_id")
    assert [tuple(t) for t in tasks] == [
        ("IMP-0000001", SHIPO, "failed", "账户已销户"),
        ("IMP-0000031", SHIPO, "failed", "户名不符"),
    ]
    # The township's caseworker finds the two on the payroll page, to put right.
    assert (await log_in(web, "shipo_jingban")).status_code == 303
    page = await web.get("/payroll")
    assert page.status_code == 200
    assert re.findall(r'<tr data-case="([^"]+)">', page.text) == ["IMP-0000001", "IMP-0000031"]
