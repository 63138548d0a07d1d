"""政策咨询 without an ID number (issue 17, point 8): the ask page takes a question with a name and a phone, the
status page finds it by its number and phone; an application for help still needs the ID number. The 12349 desk's
form and API take a question down without one too."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.support.clients import csrf_token, login
from tests.support.clock import SkippingEnvironment
from tests.support.frontdoor import portal_post, resident
from tests.test_frontdoor_portal import clients


async def test_a_question_without_an_id_number_is_accepted_and_found_by_number_and_phone(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    [c] = clients(pool, review_env.client, "10.0.1.1")
    async with c:
        r = await portal_post(c, "/portal/ask", resident(id_number="", description="低保每年要复核几次？"))
        assert r.status_code == 303, r.text
        row = await pool.fetchrow("select request_no, kind, id_number, id_masked from frontdoor_requests")
        assert (row["kind"], row["id_number"], row["id_masked"]) == ("enquiry", None, "")

        form = await c.get("/portal/status")
        data = {"request_no": row["request_no"], "id_number": "", "phone": "13955641234"}
        found = await c.post("/portal/status", data=data | {"csrftoken": csrf_token(form.text)})
        assert found.status_code == 200 and row["request_no"] in found.text
        other = await c.post("/portal/status", data=data | {"phone": "13955640000", "csrftoken": csrf_token(form.text)})
        assert other.status_code == 404

        r = await portal_post(c, "/portal/apply", resident(id_number="") | {"needs": ["school_costs"]})
        assert r.status_code == 422 and 'id="id_number-error">请填写身份证号码<' in r.text
        r = await portal_post(c, "/portal/complain", resident(id_number=""))
        assert r.status_code == 422 and 'id="id_number-error">请填写身份证号码<' in r.text


@pytest.mark.web(temporal="review_env")
async def test_the_desk_takes_down_a_question_without_an_id_number_but_not_a_request_for_help(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await login(web, "shipo_jingban")
    question = resident(id_number="", description="临时救助一年能申请几次？") | {"kind": "enquiry"}
    form = await web.get("/frontdoor/new")
    assert '<input name="id_number" maxlength="18" value="">' in form.text  # not `required`
    r = await web.post("/frontdoor/new", data=question | {"csrftoken": csrf_token(form.text)})
    assert r.status_code == 303, r.text
    row = await pool.fetchrow("select request_no, kind, channel, id_number, id_masked from frontdoor_requests")
    assert (row["kind"], row["channel"], row["id_number"], row["id_masked"]) == ("enquiry", "window", None, "")
    assert r.headers["location"] == f"/frontdoor/requests/{row['request_no']}?done=new"

    help_wanted = question | {"kind": "help", "needs": ["school_costs"]}
    form = await web.get("/frontdoor/new")
    r = await web.post("/frontdoor/new", data=help_wanted | {"csrftoken": csrf_token(form.text)})
    assert r.status_code == 422
    assert '<p class="error" role="alert" data-testid="refusal">身份证号码：身份证号码不能为空</p>' in r.text

    headers = await login(web, "shipo_jingban", session=False)
    asked = question | {"description": "特困供养怎么申请？"}
    r = await web.post("/api/frontdoor/requests", json=asked, headers=headers)
    assert r.status_code == 201, r.text
    kind, id_number = await pool.fetchrow(
        "select kind, id_number from frontdoor_requests where request_no = $1", r.json()["request_no"]
    )
    assert (kind, id_number) == ("enquiry", None)
    r = await web.post("/api/frontdoor/requests", json=help_wanted, headers=headers)
    assert r.status_code == 422
    assert r.json()["message"] == "身份证号码：身份证号码不能为空"
