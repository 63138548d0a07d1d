"""The payroll pages (issue 18): the township approver checks the 发放花名册 on its page, a district officer
confirms it there and finds the bank file and the return form; the roster shows accounts and ID numbers masked;
the payment account page sets an account with a reason; the pages' Chinese is complete."""

from __future__ import annotations

import base64

import asyncpg
import httpx
import pytest

from tests.support.clients import csrf_token, log_in
from tests.support.clock import SkippingEnvironment
from tests.support.i18n import msgids, templates, untranslated
from tests.support.payroll import CARDS, ENROLLED_IN_OCTOBER, seed_recipient, start_payroll


def test_every_message_of_the_payroll_pages_is_translated_into_chinese() -> None:
    messages = msgids(templates("payroll"))
    assert len(messages) > 40
    assert untranslated(messages | {"Payroll"}, "zh_CN") == []


@pytest.mark.web(temporal="review_env", user="shipo_shenpi")
async def test_the_township_checks_and_the_district_confirms_on_the_roster_page(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    id_number = await seed_recipient(
        pool,
        "SP-2026-0901",
        name="杨柳",
        **ENROLLED_IN_OCTOBER,
        card=CARDS[2],
    )
    await start_payroll(review_env.client, "2026-11")
    pid = await pool.fetchval("select id from payrolls")
    listing = await web.get("/payroll")
    assert f'href="/payroll/{pid}"' in listing.text and "待乡镇审核" in listing.text
    page = await web.get(f"/payroll/{pid}")
    assert page.status_code == 200
    assert "6011 **** 0004" in page.text and CARDS[2] not in page.text
    assert id_number[:6] + "********" + id_number[-4:] in page.text and id_number not in page.text
    assert 'data-testid="check-form"' in page.text and 'data-testid="confirm-form"' not in page.text
    r = await web.post(
        f"/payroll/{pid}/check", data={"note": "", "csrftoken": csrf_token(page.text), "idempotency_key": "chk-1"}
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/payroll/{pid}?done=check")

    web.cookies.clear()
    assert (await log_in(web, "qu_minzheng")).status_code == 303
    page = await web.get(f"/payroll/{pid}")
    assert 'data-testid="confirm-form"' in page.text
    r = await web.post(f"/payroll/{pid}/confirm", data={"csrftoken": csrf_token(page.text), "idempotency_key": "c-1"})
    assert (r.status_code, r.headers["location"]) == (303, f"/payroll/{pid}?done=confirm")
    page = await web.get(f"/payroll/{pid}?done=confirm")
    assert "发放已确认，可下载银行发放文件" in page.text
    assert f"/api/payrolls/{pid}/bank-file.xlsx" in page.text and 'data-testid="return-form"' in page.text
    answer = f"账号,金额,结果,失败原因\r\n{CARDS[2]},650.00,失败,账户已冻结\r\n".encode()
    r = await web.post(
        f"/payroll/{pid}/bank-return",
        data={
            "file_name": "回盘.csv",
            "content_base64": base64.b64encode(answer).decode(),
            "csrftoken": csrf_token(page.text),
            "idempotency_key": "ret-1",
        },
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/payroll/{pid}?done=return")
    listing = await web.get("/payroll")
    assert "银行发放失败：账户已冻结" in listing.text


@pytest.mark.web(temporal="review_env", user="shipo_jingban")
async def test_the_payment_account_page_sets_an_account_with_a_reason(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_recipient(
        pool,
        "SP-2026-0902",
        name="杨树",
        **ENROLLED_IN_OCTOBER,
        card=None,
    )
    page = await web.get("/cases/SP-2026-0902/payment-account")
    assert "尚未登记发放账户，发放暂缓。" in page.text
    form = {
        "kind": "bank_card",
        "bank_name": "中国银行",
        "account_number": "4111 1111 1111 1112",
        "holder_name": "杨树",
        "holder_relation": "self",
        "reason": "纳入后登记",
        "csrftoken": csrf_token(page.text),
    }
    r = await web.post("/cases/SP-2026-0902/payment-account", data=form | {"idempotency_key": "acc-1"})
    assert r.status_code == 422 and "账号：卡号校验位错误，请核对卡号" in r.text
    assert "4111 1111 1111 1112" not in r.text  # the number typed is not echoed back
    r = await web.post(
        "/cases/SP-2026-0902/payment-account", data=form | {"account_number": CARDS[0], "idempotency_key": "acc-2"}
    )
    assert (r.status_code, r.headers["location"]) == (303, "/cases/SP-2026-0902/payment-account?done=account")
    page = await web.get("/cases/SP-2026-0902/payment-account")
    assert "4111 **** 1111" in page.text and CARDS[0] not in page.text and "纳入后登记" in page.text
