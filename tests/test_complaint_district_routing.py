"""Which unit handles a complaint (audit finding: a complaint about a township's own leadership went to that
township). On the portal the complainant may send it to the district (向区民政局投诉); a complaint naming a person
whom no user matches ("王书记", "李主任": perhaps the township's own leader, whom the recusal rule cannot keep from
it) goes to the district by default, and its record says why; one naming nobody stays with the township."""

from __future__ import annotations

import re

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support.clients import SHIPO, csrf_token, login
from tests.support.frontdoor import portal_post, resident
from tests.support.workflows import eventually
from tests.test_complaint_confidential import _get, _page

DISTRICT = "341503"
UNMATCHED = "投诉涉及的人员“王书记”未能对应到系统内的工作人员，无法排除是乡镇（街道）领导或工作人员，由区民政局办理"
CHOSEN = "投诉时选择由区民政局办理"


async def _complain(web: httpx.AsyncClient, pool: asyncpg.Pool, **extra: str) -> str:
    """File a complaint on the portal (its form, CSRF token and one-time key); returns its number once recorded."""
    web.cookies.clear()
    form = await web.get("/portal/complain")
    assert form.status_code == 200
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', form.text).group(1)
    data = resident(description="镇里领导不让我们家申请低保，还训斥我们") | extra
    r = await web.post("/portal/complain", data=data | {"csrftoken": csrf_token(form.text), "idempotency_key": key})
    assert (r.status_code, r.headers["location"].startswith("/portal/done?t=")) == (303, True), r.text
    return await eventually(
        lambda: pool.fetchval("select complaint_no from complaints where accept_due is not null"), "complaint filed"
    )


def _listed(r: httpx.Response) -> list[tuple[str, str, str]]:
    assert r.status_code == 200, r.text
    return [(c["complaint_no"], c["unit_code"], c["complainant"]) for c in r.json()["items"]]


async def _registered(web: httpx.AsyncClient, user: str, complaint_no: str) -> dict:
    """The payload of the complaint's `registered` entry, as its handler `user` reads the complaint."""
    r = await _get(web, user, f"/api/complaints/{complaint_no}")
    assert r.status_code == 200, r.text
    return next(e["payload"] for e in r.json()["log"] if e["kind"] == "registered")


async def _district_handles_it(web: httpx.AsyncClient, pool: asyncpg.Pool, complaint_no: str) -> None:
    """The district's unit, not the township's: its approver (张华) neither lists nor reads it, nor has it on
    the desk's page; the district's officer lists it, with who complained, and reads the phone whole."""
    row = await pool.fetchrow("select unit_code, township_code from complaints where complaint_no = $1", complaint_no)
    assert tuple(row) == (DISTRICT, SHIPO)
    assert _listed(await _get(web, "shipo_shenpi", "/api/complaints")) == []
    r = await _get(web, "shipo_shenpi", f"/api/complaints/{complaint_no}")
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    shown = await _page(web, "shipo_shenpi", "/frontdoor/complaints")
    assert shown.status_code == 200 and complaint_no not in shown.text
    assert _listed(await _get(web, "qu_minzheng", "/api/complaints")) == [(complaint_no, DISTRICT, "周大勇")]
    r = await _get(web, "qu_minzheng", f"/api/complaints/{complaint_no}")
    assert (r.status_code, r.json()["phone"]) == (200, "13955641234")
    shown = await _page(web, "qu_minzheng", "/frontdoor/complaints")
    assert shown.status_code == 200 and complaint_no in shown.text


@pytest.mark.web(temporal="review_env")
async def test_the_portal_complainant_may_send_the_complaint_to_the_district(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    form = await web.get("/portal/complain")
    assert form.status_code == 200
    assert 'name="to_district" value="1"' in form.text
    assert "向区民政局投诉（投诉乡镇（街道）领导或工作人员时可选）" in form.text

    # a form sent back to be corrected keeps the box ticked
    r = await portal_post(web, "/portal/complain", resident(description="") | {"to_district": "1"})
    assert r.status_code == 422
    assert '<input type="checkbox" id="to_district" name="to_district" value="1" checked>' in r.text

    complaint_no = await _complain(web, pool, to_district="1")
    await _district_handles_it(web, pool, complaint_no)
    assert (await _registered(web, "qu_minzheng", complaint_no))["district_reason"] == CHOSEN


@pytest.mark.web(temporal="review_env")
async def test_a_complaint_naming_a_person_no_user_matches_goes_to_the_district(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    complaint_no = await _complain(web, pool, about_person="王书记")
    await _district_handles_it(web, pool, complaint_no)
    registered = await _registered(web, "qu_minzheng", complaint_no)
    assert (registered["unit"], registered["district_reason"]) == (DISTRICT, UNMATCHED)
    shown = await _page(web, "qu_minzheng", f"/frontdoor/complaints/{complaint_no}")
    assert shown.status_code == 200 and UNMATCHED in shown.text

    # the township keeps the 12349 request, but not what the complaint says (it may tell who complained): the
    # district, which handles it, reads it; the township's approver sees that it exists, in the log too
    request_no = await pool.fetchval("select request_no from frontdoor_requests where kind = 'complaint'")
    said = "镇里领导不让我们家申请低保，还训斥我们"
    district = (await _get(web, "qu_minzheng", f"/api/frontdoor/requests/{request_no}")).json()
    assert district["description"] == said
    township = await _get(web, "shipo_shenpi", f"/api/frontdoor/requests/{request_no}")
    assert (township.status_code, township.json()["description"]) == (200, "（投诉内容仅由承办单位查看）")
    assert said not in township.text
    page = await _page(web, "shipo_shenpi", f"/frontdoor/requests/{request_no}")
    assert page.status_code == 200 and said not in page.text and "（投诉内容仅由承办单位查看）" in page.text


@pytest.mark.web(temporal="review_env")
async def test_a_complaint_naming_nobody_stays_with_the_township(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    form = await web.get("/portal/complain")  # the district's box, unticked unless the complainant ticks it
    assert form.status_code == 200
    assert '<input type="checkbox" id="to_district" name="to_district" value="1">' in form.text
    complaint_no = await _complain(web, pool)
    row = await pool.fetchrow("select unit_code, township_code from complaints where complaint_no = $1", complaint_no)
    assert tuple(row) == (SHIPO, SHIPO)
    assert _listed(await _get(web, "shipo_shenpi", "/api/complaints")) == [(complaint_no, SHIPO, "周大勇")]
    registered = await _registered(web, "shipo_shenpi", complaint_no)
    assert (registered["unit"], "district_reason" in registered) == (SHIPO, False)


@pytest.mark.web(temporal="review_env")
async def test_staff_registering_a_complaint_about_an_unmatched_person_send_it_to_the_district(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    """The desk's and the API's registration apply the same default; naming a user (李娟) keeps the township's
    unit, she being kept from it as before."""
    headers = await login(web, "shipo_jingban", session=False)
    body = {"complainant": "钱多多", "phone": "13800001111", "township_code": SHIPO, "content": "主任不让申请"}
    r = await web.post("/api/complaints", json=body | {"about_person": "李主任"}, headers=headers)
    assert (r.status_code, r.json()["unit_code"]) == (201, DISTRICT), r.text
    r = await web.post("/api/complaints", json=body | {"about_person": "经办人李娟"}, headers=headers)
    assert (r.status_code, r.json()["unit_code"]) == (201, SHIPO), r.text
