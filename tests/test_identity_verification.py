"""A submission in someone else's name (issue 16, point 8): anyone may file on the portal under any ID number,
so a portal request is stored unverified and the household view does not list it as the person's until staff
who may handle it confirm it (who, when, how); a request staff take down is verified at entry by them."""

from __future__ import annotations

import re
from datetime import date

import asyncpg
import httpx
import pytest

from tests.support.clients import csrf_token, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import resident_id
from tests.support.frontdoor import PERSON, portal_post, resident

NOTE = "已电话回访本人确认"


async def _ask_online(c: httpx.AsyncClient) -> str:
    r = await portal_post(c, "/portal/ask", resident(description="低保每年要复核几次？"))
    assert r.status_code == 303, r.text
    receipt = await c.get(r.headers["location"])
    return re.search(r"12349-\d{8}-[0-9A-Z]{6}", receipt.text).group(0)


async def _household_page(c: httpx.AsyncClient, id_number: str) -> str:
    form = await c.get("/households")
    r = await c.post("/households", data={"id_number": id_number, "csrftoken": csrf_token(form.text)})
    assert r.status_code == 200, r.text
    return r.text


def _section(html: str, testid: str) -> str:
    found = re.search(rf'<section class="card" data-testid="{testid}">(.*?)</section>', html, re.S)
    return found[1] if found else ""


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday
@pytest.mark.web(temporal="review_env")
async def test_a_portal_request_is_not_the_persons_until_staff_verify_it(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    number = await _ask_online(web)
    row = await pool.fetchrow(
        "select channel, identity_verified, identity_verified_by, identity_verified_at, identity_note "
        "from frontdoor_requests where request_no = $1",
        number,
    )
    assert tuple(row) == ("portal", False, None, None, None)

    web.cookies.clear()
    caseworker = await login(web, "shipo_jingban")  # the session cookie serves the pages
    # the household view: not among the person's requests, named apart for the township's staff
    view = (await web.post("/api/households/lookup", json={"id_number": PERSON}, headers=caseworker)).json()
    assert view["requests"] == [] and view["names"] == [] and view["elsewhere"] == 0
    assert [u["request_no"] for u in view["unverified_requests"]] == [number]
    page = await _household_page(web, PERSON)
    assert number not in _section(page, "hh-requests") and "12349 诉求 (0)" in page
    unverified = _section(page, "hh-unverified")
    assert "以本人身份提交、尚未核实的诉求 (1)" in unverified and f"/frontdoor/requests/{number}" in unverified

    # the request page and the desk's list carry the badge; the page offers the form
    detail = await web.get(f"/frontdoor/requests/{number}")
    assert detail.status_code == 200 and 'data-testid="identity-unverified">身份未核实<' in detail.text
    assert 'data-testid="verify-identity-form"' in detail.text and "核实身份" in detail.text
    api_detail = (await web.get(f"/api/frontdoor/requests/{number}", headers=caseworker)).json()
    assert api_detail["request"]["identity_verified"] is False and api_detail["identity_verified_by"] is None
    listed = (await web.get("/api/frontdoor/requests?waiting=answer", headers=caseworker)).json()
    assert [(i["request_no"], i["identity_verified"]) for i in listed["items"]] == [(number, False)]
    desk = (await web.get("/frontdoor")).text
    desk_row = re.search(rf'data-request="{number}">(.*?)</tr>', desk, re.S)[1]
    assert "身份未核实" in desk_row

    # staff of another township: the request's jurisdiction rule; a village cadre and a bureau: not theirs
    other = await login(web, "shunhe_jingban", session=False)
    path = f"/api/frontdoor/requests/{number}/verify-identity"
    r = await web.post(path, json={"note": NOTE}, headers=other)
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    for user in ("shipo_cun1", "yiliao_bu", "qu_jiandu"):
        r = await web.post(path, json={"note": NOTE}, headers=await login(web, user, session=False))
        assert (r.status_code, r.json()["code"]) == (403, "wrong_role"), user
    caseworker = await login(web, "shipo_jingban")  # the pages' session again
    r = await web.post(path, json={"note": "x"}, headers=caseworker)
    assert r.status_code == 422
    assert (
        await pool.fetchval("select identity_verified from frontdoor_requests where request_no = $1", number)
    ) is False

    r = await web.post(path, json={"note": NOTE}, headers=caseworker)
    assert r.status_code == 200, r.text
    done = r.json()
    assert (done["request_no"], done["identity_verified"], done["identity_verified_by"], done["identity_note"]) == (
        number,
        True,
        "shipo_jingban",
        NOTE,
    )
    row = await pool.fetchrow(
        "select identity_verified, identity_verified_by, identity_verified_at, identity_note "
        "from frontdoor_requests where request_no = $1",
        number,
    )
    assert (row["identity_verified"], row["identity_verified_by"], row["identity_note"]) == (
        True,
        "shipo_jingban",
        NOTE,
    )
    assert row["identity_verified_at"] is not None
    assert done["identity_verified_at"].startswith(row["identity_verified_at"].isoformat()[:19])

    r = await web.post(path, json={"note": "再次核实"}, headers=caseworker)
    assert (r.status_code, r.json()["code"]) == (409, "already_verified")
    assert await pool.fetchval("select identity_note from frontdoor_requests where request_no = $1", number) == NOTE

    # now the person's: listed in the household view (API and page), no longer apart
    view = (await web.post("/api/households/lookup", json={"id_number": PERSON}, headers=caseworker)).json()
    assert [x["request_no"] for x in view["requests"]] == [number] and view["unverified_requests"] == []
    assert view["names"] == ["周大勇"]
    page = await _household_page(web, PERSON)
    assert number in _section(page, "hh-requests") and 'data-testid="hh-unverified"' not in page
    detail = (await web.get(f"/frontdoor/requests/{number}")).text
    assert "身份未核实" not in detail and 'data-testid="verify-identity-form"' not in detail
    identity = re.search(r'<dd data-testid="identity">(.*?)</dd>', detail, re.S)[1]
    assert identity.startswith("已核实 · 石婆店镇经办人 李娟 · 2026-") and identity.endswith(NOTE)


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_the_page_form_verifies_and_a_staff_entered_request_is_verified_at_entry(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    number = await _ask_online(web)
    web.cookies.clear()
    await login(web, "shipo_shenpi")
    page = await web.get(f"/frontdoor/requests/{number}")
    r = await web.post(
        f"/frontdoor/requests/{number}/verify-identity",
        data={"note": NOTE, "csrftoken": csrf_token(page.text)},
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/frontdoor/requests/{number}?done=verify-identity")
    shown = (await web.get(r.headers["location"])).text
    assert "核实身份：已办理" in shown and "身份未核实" not in shown
    row = await pool.fetchrow(
        "select identity_verified, identity_verified_by, identity_note from frontdoor_requests where request_no = $1",
        number,
    )
    assert tuple(row) == (True, "shipo_shenpi", NOTE)
    again = await web.post(
        f"/frontdoor/requests/{number}/verify-identity",
        data={"note": NOTE, "csrftoken": csrf_token(shown)},
    )
    assert again.status_code == 409 and "该诉求的身份已核实" in again.text

    # the window takes a request down for someone: verified at entry by the member of staff
    caseworker = await login(web, "shipo_jingban", session=False)
    someone = resident_id(date(1966, 8, 8), seq=808)
    body = resident(id_number=someone, name="钱七") | {"kind": "enquiry", "description": "特困供养怎么申请？"}
    r = await web.post("/api/frontdoor/requests", json=body, headers=caseworker)
    assert r.status_code == 201, r.text
    entered = r.json()["request_no"]
    row = await pool.fetchrow(
        "select channel, received_by, identity_verified, identity_verified_by, identity_verified_at, created_at "
        "from frontdoor_requests where request_no = $1",
        entered,
    )
    assert (row["channel"], row["received_by"], row["identity_verified"], row["identity_verified_by"]) == (
        "window",
        "shipo_jingban",
        True,
        "shipo_jingban",
    )
    assert row["identity_verified_at"] == row["created_at"]
    r = await web.post(f"/api/frontdoor/requests/{entered}/verify-identity", json={"note": NOTE}, headers=caseworker)
    assert (r.status_code, r.json()["code"]) == (409, "already_verified")
    view = (await web.post("/api/households/lookup", json={"id_number": someone}, headers=caseworker)).json()
    assert [x["request_no"] for x in view["requests"]] == [entered] and view["unverified_requests"] == []
