"""Issue 15, points 4 and 5, through the web app: the event page shows the 24-hour payment deadline and each
payment's documentation deadline and status, a district officer waives documents by the API or the page's form,
and the district's overdue list shows an event unpaid past its 24 hours or with documents past their deadline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.support.clients import csrf_token, login
from tests.support.clock import SkippingEnvironment, beijing, minute
from tests.support.emergency import VILLAGE, fund
from tests.support.workflows import eventually
from tests.test_emergency_api import household

ACT = "/api/emergencies/{}/actions/{}"
WHERE = "孙七 石婆店镇 石婆店镇示范村一 村（社区）救急难互助社"  # the household, its township and village, the tier


async def page_as(c: httpx.AsyncClient, username: str, path: str) -> str:
    c.cookies.clear()
    await login(c, username)
    r = await c.get(path)
    assert r.status_code == 200, r.text
    return r.text


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def row(html: str, event_id: str) -> str | None:
    """The overdue list's line of the event, as text; None if it is not listed."""
    found = re.search(rf'<tr class="overdue" data-event="{event_id}">(.*?)</tr>', html, re.S)
    return text(found.group(1)) if found else None


def cells(html: str, column: str) -> list[str]:
    return [text(c) for c in re.findall(rf'<td[^>]*data-col="{column}"[^>]*>(.*?)</td>', html, re.S)]


def payment_due(html: str) -> str:
    return text(re.search(r'<dd data-testid="payment-due">(.*?)</dd>', html, re.S).group(1))


async def flagged(pool: asyncpg.Pool, event_id: str, column: str, value: object = True) -> None:
    async def seen() -> bool:
        return await pool.fetchval(f"select {column} from emergencies where event_id = $1", event_id) == value

    await eventually(seen, f"{event_id}: {column} = {value}")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday
@pytest.mark.web(temporal="review_env")
async def test_event_page_and_overdue_list_show_both_clocks(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    cadre = await login(web, "shipo_cun1", session=False)
    officer = await login(web, "qu_minzheng", session=False)
    for event_id in ("LATE-PAY", "LATE-DOCS"):
        body = {"event_id": event_id, "kind": "fire", "description": "房屋失火", "household": household()}
        assert (await web.post("/api/emergencies", headers=cadre, json=body)).status_code == 201
    r = await web.post(ACT.format("LATE-DOCS", "approve"), headers=cadre, json={"tier": "village", "amount": "500"})
    assert r.status_code == 200

    detail = (await web.get("/api/emergencies/LATE-PAY", headers=cadre)).json()
    promise = detail["state"]["payment_promise"]
    registered, due = (datetime.fromisoformat(promise[k]) for k in ("registered_at", "due_at"))
    assert (minute(registered), due - registered) == (beijing(2026, 11, 24, 9, 30), timedelta(hours=24))
    assert datetime.fromisoformat(detail["event"]["payment_due"]) == due
    assert datetime.fromisoformat(promise["remind_at"]) - registered == timedelta(hours=12)
    html = await page_as(web, "qu_jiandu", "/emergencies/LATE-PAY")
    assert payment_due(html) == "2026-11-25 09:30 2026-11-24 21:30 提醒"
    html = await page_as(web, "qu_jiandu", "/overdue")
    assert 'data-testid="no-overdue-emergencies"' in html

    # 24 hours on, LATE-PAY is still unpaid: escalated to the township, listed for the district.
    await review_env.skip_to(beijing(2026, 11, 25, 9, 31))
    await flagged(pool, "LATE-PAY", "payment_overdue")
    html = await page_as(web, "qu_jiandu", "/overdue")
    assert row(html, "LATE-PAY") == f"LATE-PAY {WHERE} 2026-11-25 09:30 未发放，已上报乡镇（街道） —"
    assert row(html, "LATE-DOCS") is None
    html = await page_as(web, "qu_jiandu", "/emergencies/LATE-PAY")
    assert payment_due(html) == "2026-11-25 09:30 已超时，已上报乡镇（街道）"

    # LATE-DOCS's documents were due on Tuesday 12-01 (5 working days after 11-24); LATE-PAY went to the district.
    await review_env.skip_to(beijing(2026, 12, 2, 0, 1))
    await flagged(pool, "LATE-DOCS", "documentation_overdue")
    await flagged(pool, "LATE-PAY", "payment_escalated_to", "district")
    html = await page_as(web, "qu_jiandu", "/overdue")
    assert row(html, "LATE-PAY") == f"LATE-PAY {WHERE} 2026-11-25 09:30 未发放，已上报区民政局 —"
    assert row(html, "LATE-DOCS") == f"LATE-DOCS {WHERE} — 2026-12-01 材料逾期未补齐"
    assert html.index('data-event="LATE-PAY"') < html.index('data-event="LATE-DOCS"')  # the earliest deadline first
    html = await page_as(web, "qu_jiandu", "/emergencies/LATE-DOCS")
    assert (cells(html, "documentation-due"), cells(html, "documentation")) == (["2026-12-01"], ["已逾期"])
    assert payment_due(html).startswith("2026-11-25 09:30 已于 2026-11-24 09:3")

    # Paid on Wednesday 12-02 (late): off the list; its documents are due on 12-09. (A week on: log in again.)
    cadre = await login(web, "shipo_cun1", session=False)
    officer = await login(web, "qu_minzheng", session=False)
    r = await web.post(ACT.format("LATE-PAY", "approve"), headers=cadre, json={"tier": "village", "amount": "800"})
    assert r.status_code == 200
    await flagged(pool, "LATE-PAY", "payment_overdue", False)
    html = await page_as(web, "qu_jiandu", "/emergencies/LATE-PAY")
    assert payment_due(html) == "2026-11-25 09:30 逾期发放（2026-12-02 00:01）"
    assert (cells(html, "documentation-due"), cells(html, "documentation")) == (["2026-12-09"], ["待补齐"])

    # Only a district officer waives documents, by a written decision.
    exemption = {"decision_no": "裕民救〔2026〕3号", "reason": "原始票据毁于火灾"}
    r = await web.post(ACT.format("LATE-PAY", "exempt"), headers=cadre, json=exemption)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    r = await web.post(ACT.format("LATE-PAY", "exempt"), headers=officer, json={"reason": "无"})
    assert r.status_code == 422
    r = await web.post(ACT.format("LATE-PAY", "exempt"), headers=officer, json={**exemption, "payment_key": "X-1"})
    assert (r.status_code, r.json()["code"]) == (409, "unknown_payment")
    r = await web.post(ACT.format("LATE-PAY", "close"), headers=cadre, json={"summary": "救助到位"})
    assert (r.status_code, r.json()["code"]) == (409, "documents_missing")

    # The officer's page form, for LATE-DOCS: it leaves the overdue list.
    html = await page_as(web, "qu_minzheng", "/emergencies/LATE-DOCS")
    form = re.search(r'<form[^>]*action="/emergencies/LATE-DOCS/exempt".*?</form>', html, re.S).group(0)
    assert '<option value="LATE-DOCS-pay-001">' in form
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', form).group(1)
    data = {"csrftoken": csrf_token(html), "idempotency_key": key, "payment_key": "", **exemption}
    # a form refused is shown again on the whole event's page: logged as a read, as the page is
    viewed = "select count(*) from access_log where kind = 'emergency.view' and record = 'LATE-DOCS'"
    before = await pool.fetchval(viewed)
    r = await web.post("/emergencies/LATE-DOCS/exempt", data=data | {"decision_no": ""})
    assert r.status_code == 422 and await pool.fetchval(viewed) == before + 1
    r = await web.post("/emergencies/LATE-DOCS/exempt", data=data)
    assert (r.status_code, r.headers["location"]) == (303, "/emergencies/LATE-DOCS?done=exempt")
    await flagged(pool, "LATE-DOCS", "documentation_overdue", False)
    html = (await web.get("/emergencies/LATE-DOCS")).text
    assert cells(html, "documentation") == ["已书面免于补齐（裕民救〔2026〕3号）"]
    assert 'action="/emergencies/LATE-DOCS/exempt"' not in html
    html = await page_as(web, "qu_jiandu", "/overdue")
    assert 'data-testid="no-overdue-emergencies"' in html
    detail = (await web.get("/api/emergencies/LATE-DOCS", headers=officer)).json()
    assert [(p["documentation_due"], p["documentation"], p["exempted_by"]) for p in detail["payments"]] == [
        ("2026-12-01", "exempted", "qu_minzheng")
    ]
    r = await web.post(ACT.format("LATE-DOCS", "close"), headers=cadre, json={"summary": "救助到位"})
    assert r.status_code == 200
