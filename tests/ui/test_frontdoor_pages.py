"""The front door's staff pages over HTTP: who reaches which page, what each role sees of a resident's
ID number, the desk's forms working without a browser, the district's view, and English on request."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support.clients import csrf_token, login
from tests.support.frontdoor import PERSON, apply_online, referrals_of, resident
from tests.support.workflows import eventually
from webapp.i18n import COOKIE


async def page_as(c: httpx.AsyncClient, username: str, path: str) -> httpx.Response:
    c.cookies.clear()
    await login(c, username)
    return await c.get(path, follow_redirects=True)


async def household_as(c: httpx.AsyncClient, username: str, id_number: str) -> httpx.Response:
    """The household form posted as a user would: the ID number in the body, never in the URL."""
    c.cookies.clear()
    await login(c, username)
    form = await c.get("/households")
    return await c.post("/households", data={"id_number": id_number, "csrftoken": csrf_token(form.text)})


async def post_form(c: httpx.AsyncClient, page: str, action: str, data: dict) -> httpx.Response:
    form = await c.get(page)
    return await c.post(action, data={**data, "csrftoken": csrf_token(form.text)})


def fact(html: str, label: str) -> str:
    """The value of a `<dt>label</dt><dd>value</dd>` pair, tags and spacing removed."""
    found = re.search(rf"<dt>{label}</dt>\s*<dd[^>]*>(.*?)</dd>", html, re.S)
    assert found, label
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


# 00:30 on Wednesday 09-30 in Beijing (still 09-29 in UTC), the eve of the National Day holiday (10-01..07,
# Saturday 10-10 worked). Counted from 09-30: 5 working days to answer (10-08, 10-09, 10-10, 10-12, 10-13),
# 3 for a bureau to accept (10-10), 15 for its result (10-27).
@pytest.mark.start_at(datetime(2026, 9, 29, 16, 30, tzinfo=UTC))
@pytest.mark.web(temporal="review_env")
async def test_desk_triage_inbox_district_and_household_pages(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    number, _ = await apply_online(web, ["medical_costs", "low_income"])
    assert number.startswith("12349-20260930-")  # numbered by the Beijing day

    desk = await page_as(web, "shipo_jingban", "/frontdoor")
    assert desk.status_code == 200 and number in desk.text and "12349 受理" in desk.text
    row = re.search(rf'<tr class="" data-request="{number}">(.*?)</tr>', desk.text, re.S)[1]
    assert "2026-10-13" in row  # answer by, not overdue
    assert number not in (await page_as(web, "shunhe_jingban", "/frontdoor")).text
    assert (await page_as(web, "yiliao_bu", "/frontdoor")).status_code == 403

    await login(web, "shipo_jingban")
    page = f"/frontdoor/requests/{number}"
    viewed = "select count(*) from access_log where kind = 'request.view' and record = $1 "
    viewed += " and username = 'shipo_jingban'"
    before = await pool.fetchval(viewed, number)
    r = await post_form(web, page, f"{page}/triage", {"needs": [], "emergency_kind": "other"})
    assert r.status_code == 422 and "请至少选择一项求助事项" in r.text  # nothing chosen
    # post_form loads the page, then the refused form shows the whole request again: two reads, both logged
    assert await pool.fetchval(viewed, number) == before + 2
    r = await post_form(web, page, f"{page}/triage", {"needs": ["medical_costs", "low_income"], "note": "分办"})
    assert r.status_code == 303 and r.headers["location"].endswith("?done=triage")
    shown = await web.get(r.headers["location"])
    assert "分办：已办理" in shown.text and 'data-testid="link-low_income"' in shown.text
    assert fact(shown.text, "答复期限") == "2026-10-13" and fact(shown.text, "收到时间") == "2026-09-30 00:30"
    r = await post_form(web, page, f"{page}/link-case", {"need": "low_income", "case_id": "NO-SUCH-CASE"})
    assert r.status_code == 422 and "审核案件不存在" in r.text
    referral = (await eventually(lambda: referrals_of(pool, number), "delivered"))["medical_costs"]
    dues = await pool.fetchrow("select accept_due, result_due from referrals where referral_id = $1", referral)
    assert tuple(dues) == (date(2026, 10, 10), date(2026, 10, 27))

    inbox = await page_as(web, "yiliao_bu", "/")
    assert str(inbox.url).endswith("/bureau") and referral in inbox.text and "转介收件箱" in inbox.text
    assert PERSON not in inbox.text  # bureaus see the masked ID
    detail = await web.get(f"/bureau/referrals/{referral}")
    assert 'action="/bureau/referrals/' + referral + '/accept"' in detail.text
    assert (fact(detail.text, "签收期限"), fact(detail.text, "答复期限")) == ("2026-10-10", "2026-10-27")
    assert "supply-info" not in detail.text
    r = await post_form(
        web,
        f"/bureau/referrals/{referral}",
        f"/bureau/referrals/{referral}/result",
        {"outcome": "helped", "help_given": "先报告"},
    )
    assert r.status_code == 409 and "请先签收" in r.text

    district = await page_as(web, "qu_jiandu", "/frontdoor/district")
    assert district.status_code == 200 and "区医保局" in district.text and "石婆店镇" in district.text
    assert (await page_as(web, "shipo_jingban", "/frontdoor/district")).status_code == 403

    assert "/households?" not in (await page_as(web, "shipo_jingban", f"/frontdoor/requests/{number}")).text
    # filed online in PERSON's name: the desk confirms it is theirs before the household view lists it
    request_page = f"/frontdoor/requests/{number}"
    r = await post_form(web, request_page, f"{request_page}/verify-identity", {"note": "已电话回访本人确认"})
    assert (r.status_code, r.headers["location"]) == (303, f"{request_page}?done=verify-identity")
    township_view = await household_as(web, "shipo_jingban", PERSON)
    head = township_view.text.split('data-testid="household-head"')[1].split("</h1>")[0]
    assert PERSON in head and number in township_view.text and referral in township_view.text
    supervisor_view = await household_as(web, "qu_jiandu", PERSON)
    head = supervisor_view.text.split('data-testid="household-head"')[1].split("</h1>")[0]
    assert PERSON not in head and PERSON[:6] + "********" + PERSON[-4:] in head
    assert (await page_as(web, "yiliao_bu", "/households")).status_code == 403
    assert (await household_as(web, "yiliao_bu", PERSON)).status_code == 403
    bad = await household_as(web, "shipo_jingban", PERSON[:-1])
    assert bad.status_code == 422 and "18位" in bad.text

    web.cookies.clear()
    await login(web, "yiliao_bu")
    web.cookies.set(COOKIE, "en")
    english = await web.get("/bureau")
    assert "Referral inbox" in english.text and "Medical bills are too heavy" in english.text
    portal = await web.get("/portal/apply")
    assert "Ask for help" in portal.text and "Lost my job, looking for work" in portal.text


# 00:30 on 2027-01-01 in Beijing (still 2026 in UTC): a complaint is accepted within 15 calendar days
# (01-16, a Saturday, so the limit ends on Monday 01-18: Civil Code art. 203) and concluded within 60 (03-02,
# a Tuesday); both 暂定, 2027's holiday notice not being in the calendar.
@pytest.mark.start_at(datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
@pytest.mark.web(temporal="review_env")
async def test_hotline_registers_a_complaint_that_the_township_concludes_in_its_pages(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    await login(web, "qu_minzheng")
    data = resident(description="来电投诉：经办人李娟不给办理低保") | {
        "kind": "complaint",
        "about_person": "李娟",
        "township_code": "",
    }
    r = await post_form(web, "/frontdoor/new", "/frontdoor/new", data | {"id_number": PERSON[:-1]})
    assert r.status_code == 422 and "18位" in r.text and "来电投诉" in r.text  # kept
    r = await post_form(web, "/frontdoor/new", "/frontdoor/new", data)
    assert r.status_code == 303, r.text
    shown = await web.get(r.headers["location"])
    assert "登记：已办理" in shown.text and "12349 热线" in shown.text
    complaint_no = await eventually(lambda: pool.fetchval("select complaint_no from complaints"), "complaint")

    assert complaint_no not in (await page_as(web, "shipo_jingban", "/frontdoor/complaints")).text
    listing = await page_as(web, "shipo_diaocha", "/frontdoor/complaints")
    assert complaint_no in listing.text
    row = re.search(rf'data-complaint="{complaint_no}">(.*?)</tr>', listing.text, re.S)[1]
    dates = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td>(2027-.*?)</td>", row)]
    assert dates == ["2027-01-18 暂定", "2027-03-02 暂定"]
    page = f"/frontdoor/complaints/{complaint_no}"
    assert fact((await web.get(page)).text, "办结期限") == "2027-03-02 暂定"
    r = await post_form(web, page, f"{page}/conclude", {"finding": "partly", "reply": "直接办结答复"})
    assert r.status_code == 409 and "请先受理" in r.text
    r = await post_form(web, page, f"{page}/accept", {"note": "已受理"})
    assert r.status_code == 303
    r = await post_form(
        web, page, f"{page}/conclude", {"finding": "unsubstantiated", "reply": "经核查，申请材料不全，已一次性告知"}
    )
    assert r.status_code == 303
    done = await web.get(r.headers["location"])
    assert "已办结" in done.text and "办结并答复：已办理" in done.text
