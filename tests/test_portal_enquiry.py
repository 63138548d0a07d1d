"""政策咨询 without an ID number (issue 17, point 8): the ask page takes a question with a name and a phone, the
status page finds it by its number and phone; an application for help still needs the ID number."""

from __future__ import annotations

import asyncpg

from tests.support.clients import csrf_token
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
