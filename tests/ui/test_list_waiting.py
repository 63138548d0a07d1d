"""The lists say whom each row waits on (issue 17, point 1): the emergency events list, the 12349 desk's lists and
the bureaus' referral inbox have a "等待" column, by the same rule as the rows' own pages (rules/waiting.py), read
from the rows and their logs, at stated Beijing instants."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import asyncpg
import httpx
import pytest

from tests.support.clients import csrf_token, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.emergency import VILLAGE, fund
from tests.support.factories import resident_id
from tests.support.frontdoor import apply_online, referrals_of, resident
from tests.support.workflows import eventually
from tests.test_emergency_api import household
from tests.test_emergency_clocks_web import page_as, text

pytestmark = pytest.mark.web(temporal="review_env")


def waiting_cell(html: str, attribute: str, key: str) -> list[str]:
    """The lines of the row's "等待" cell, as text."""
    found = re.search(rf'data-{attribute}="{re.escape(key)}">(.*?)</tr>', html, re.S)
    assert found, key
    cell = re.search(r'<td data-testid="waiting-on">(.*?)</td>', found[1], re.S)[1]
    return [text(line) for line in re.findall(r"<div>(.*?)</div>", cell, re.S)] or [text(cell)]


def wait_texts(html: str) -> list[str]:
    """The waiting sentences of a row's own page."""
    return re.findall(r'<span data-testid="wait-text">(.*?)</span>', html)


# Tuesday 2026-11-24, 09:30: the payment is promised within 24 hours (11-25); the documents of a payment made
# today are due in 5 working days (12-01).
@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_the_emergency_list_says_whom_each_open_event_waits_on(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    cadre = await login(web, "shipo_cun1", session=False)
    for event_id, born in (("WAIT-PAY", date(1980, 2, 2)), ("WAIT-DOCS", date(1981, 3, 3))):
        body = {"event_id": event_id, "kind": "fire", "description": "房屋失火", "household": household()}
        body["household"]["id_number"] = resident_id(born)
        assert (await web.post("/api/emergencies", headers=cadre, json=body)).status_code == 201
    paid = await web.post(
        "/api/emergencies/WAIT-DOCS/actions/approve", headers=cadre, json={"tier": "village", "amount": "500"}
    )
    assert paid.status_code == 200, paid.text
    await eventually(
        lambda: pool.fetchval("select transfer_ref is not null from aid_payments where event_id = 'WAIT-DOCS'"),
        "the payment transferred",
    )

    html = await page_as(web, "qu_jiandu", "/emergencies")
    assert waiting_cell(html, "event", "WAIT-PAY") == [
        "等待石婆店镇示范村一村（社区）干部审批发放（已等待 0 个工作日，应于 11-25 前办理，还剩 1 个工作日）"
        " 石婆店镇示范村一 村干部 刘芳"
    ]
    assert waiting_cell(html, "event", "WAIT-DOCS") == [
        "等待石婆店镇示范村一村（社区）干部补齐材料（已等待 0 个工作日，应于 12-01 前办理，还剩 5 个工作日）"
        " 石婆店镇示范村一 村干部 刘芳"
    ]
    assert wait_texts(await page_as(web, "qu_jiandu", "/emergencies/WAIT-DOCS")) == [
        "等待石婆店镇示范村一村（社区）干部补齐材料（已等待 0 个工作日，应于 12-01 前办理，还剩 5 个工作日）"
    ]  # as the event's own page says


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_the_emergency_list_reads_an_open_namesake_warning_from_the_log_as_the_page_does(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    cadre = await login(web, "shipo_cun1", session=False)
    body = {"event_id": "WAIT-NAME", "kind": "fire", "description": "房屋失火", "household": household()}
    body["declared_relatives"] = [{"staff_name": "王强", "relation": "子女"}]  # a namesake of shipo_diaocha
    assert (await web.post("/api/emergencies", headers=cadre, json=body)).status_code == 201

    html = await page_as(web, "qu_jiandu", "/emergencies")
    page = wait_texts(await page_as(web, "qu_jiandu", "/emergencies/WAIT-NAME"))
    assert page == [
        "等待石婆店镇经办人核实同名提示（已等待 0 个工作日）",
        "等待区民政局核实同名提示（已等待 0 个工作日）",
    ]
    assert [line[: line.rindex("）") + 1] for line in waiting_cell(html, "event", "WAIT-NAME")] == page

    officer = await login(web, "shipo_jingban", session=False)
    resolve = {"username": "shipo_diaocha", "same_person": False, "note": "同名不同人"}
    r = await web.post("/api/emergencies/WAIT-NAME/actions/resolve_namesake", headers=officer, json=resolve)
    assert r.status_code == 200, r.text
    html = await page_as(web, "qu_jiandu", "/emergencies")
    page = wait_texts(await page_as(web, "qu_jiandu", "/emergencies/WAIT-NAME"))
    assert page == [
        "等待石婆店镇示范村一村（社区）干部审批发放（已等待 0 个工作日，应于 11-25 前办理，还剩 1 个工作日）"
    ]  # the list without the people in charge says the same
    assert [line[: line.rindex("）") + 1] for line in waiting_cell(html, "event", "WAIT-NAME")] == page


# 00:30 on Wednesday 09-30 in Beijing, the eve of the National Day holiday (10-01..07, Saturday 10-10 worked):
# 5 working days to answer (10-13), 3 for a bureau to accept (10-10), 15 for its result (10-27).
@pytest.mark.start_at(datetime(2026, 9, 29, 16, 30, tzinfo=UTC))
async def test_the_desk_and_the_bureau_inbox_say_whom_each_request_and_referral_waits_on(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    number, _ = await apply_online(web, ["medical_costs", "low_income"])
    await eventually(
        lambda: pool.fetchval("select answer_due from frontdoor_requests where request_no = $1", number),
        "the answer date",
    )
    html = await page_as(web, "shipo_jingban", "/frontdoor")
    assert waiting_cell(html, "request", number) == [
        "等待石婆店镇经办人分办（已等待 0 个工作日，应于 10-13 前办理，还剩 5 个工作日）"
        " 石婆店镇经办人 王强、石婆店镇经办人 李娟",
        "等待石婆店镇审批人分办（已等待 0 个工作日，应于 10-13 前办理，还剩 5 个工作日） 石婆店镇审批人 张华",
    ]

    page = f"/frontdoor/requests/{number}"
    form = await web.get(page)
    data = {"needs": ["medical_costs", "low_income"], "note": "分办", "csrftoken": csrf_token(form.text)}
    assert (await web.post(f"{page}/triage", data=data)).status_code == 303
    referral = (await eventually(lambda: referrals_of(pool, number), "delivered"))["medical_costs"]

    html = await page_as(web, "shipo_jingban", "/frontdoor")
    linking = [
        "等待石婆店镇经办人关联案件（已等待 0 个工作日，应于 10-13 前办理，还剩 5 个工作日）",
        "等待石婆店镇审批人关联案件（已等待 0 个工作日，应于 10-13 前办理，还剩 5 个工作日）",
    ]
    assert waiting_cell(html, "request", number) == [
        linking[0] + " 石婆店镇经办人 王强、石婆店镇经办人 李娟",
        linking[1] + " 石婆店镇审批人 张华",
    ]
    assert wait_texts((await web.get(page)).text) == linking  # the request's own page says the same
    html = await page_as(web, "yiliao_bu", "/bureau")
    assert waiting_cell(html, "referral", referral) == [
        "等待区医保局接收转介（已等待 0 个工作日，应于 10-10 前办理，还剩 3 个工作日） 区医保局 工作人员"
    ]


# 00:30 on 2027-01-01 in Beijing: a complaint is accepted within 15 calendar days (01-16, a Saturday: the limit
# ends on Monday 01-18) and concluded within 60 (03-02).
@pytest.mark.start_at(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
async def test_the_complaints_list_says_whom_each_open_complaint_waits_on(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    hotline = await login(web, "qu_minzheng", session=False)
    body = resident(description="来电投诉：经办人李娟不给办理低保") | {"kind": "complaint", "about_person": "李娟"}
    assert (await web.post("/api/frontdoor/requests", json=body, headers=hotline)).status_code == 201
    complaint_no = await eventually(lambda: pool.fetchval("select complaint_no from complaints"), "complaint")

    html = await page_as(web, "shipo_shenpi", "/frontdoor/complaints")
    assert waiting_cell(html, "complaint", complaint_no) == [
        "等待石婆店镇经办人受理投诉（已等待 0 个工作日，应于 01-18 前办理，还剩 11 个工作日） 石婆店镇经办人 王强",
        "等待石婆店镇审批人受理投诉（已等待 0 个工作日，应于 01-18 前办理，还剩 11 个工作日） 石婆店镇审批人 张华",
    ]  # 李娟, whom it is about, is not named to handle it
