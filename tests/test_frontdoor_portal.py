"""The public portal: forms explain what is wrong and keep what was typed; the status page shows one
request to whoever knows its number, ID number and phone, refuses everyone else alike, and stops an IP
address or a request number after 5 failed look-ups in 10 minutes."""

from __future__ import annotations

import re
from datetime import date

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support.clients import SECRET, asgi_client, csrf_token
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import resident_id
from tests.support.frontdoor import PERSON, apply_online, portal_post, resident
from webapp.app import create_app


def clients(pool: asyncpg.Pool, temporal, *ips: str) -> list[httpx.AsyncClient]:
    """Several visitors (their own IP address and cookies) of one web app."""
    app = create_app(pool, temporal, secret_key=SECRET)
    return [asgi_client(app, ip) for ip in ips]


async def look_up(c: httpx.AsyncClient, number: str, id_number: str = PERSON, phone: str = "13955641234"):
    form = await c.get("/portal/status")
    return await c.post(
        "/portal/status",
        data={"request_no": number, "id_number": id_number, "phone": phone, "csrftoken": csrf_token(form.text)},
    )


async def test_status_shows_one_request_refuses_the_rest_and_is_rate_limited(
    review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    a, b, d = clients(pool, review_env.client, "10.0.0.1", "10.0.0.2", "10.0.0.3")
    async with a, b, d:
        first, _ = await apply_online(a, ["medical_costs"])
        second, _ = await apply_online(a, ["jobless"], description="丈夫失业，想找份工作贴补家用")

        mine = await look_up(a, first)
        assert mine.status_code == 200 and first in mine.text and second not in mine.text
        assert "看病负担重" in mine.text and "失业" not in mine.text

        wrong_phone = await look_up(a, first, phone="13955640000")
        no_such = await look_up(a, "12349-20260101-ZZZZZZ")
        other_id = await look_up(a, first, id_number=resident_id(date(1980, 1, 1), seq=7))
        for refused in (wrong_phone, no_such, other_id):
            assert refused.status_code == 404 and "没有与所填信息相符的诉求" in refused.text
            assert "看病负担重" not in refused.text and "周大勇" not in refused.text
        # malformed input is explained and not counted as a guess
        malformed = await look_up(a, first, id_number=PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1"))
        assert malformed.status_code == 422 and "校验位" in malformed.text
        assert (await look_up(a, "12349-ABC")).status_code == 422

        assert (await look_up(a, first, phone="13955640001")).status_code == 404
        assert (await look_up(a, first, phone="13955640002")).status_code == 404  # the 5th failure from 10.0.0.1
        limited = await look_up(a, first)  # even the right answer is refused now
        assert limited.status_code == 429 and "10分钟后再试" in limited.text
        assert (await look_up(a, second)).status_code == 429  # the IP is blocked for every number

        # the request number itself has had 4 failures: one more from anywhere blocks it
        assert (await look_up(b, first)).status_code == 200
        assert (await look_up(b, first, phone="13955640003")).status_code == 404
        assert (await look_up(d, first)).status_code == 429
        assert (await look_up(d, second)).status_code == 200  # other numbers from another IP still work


@pytest.mark.start_at(beijing(2026, 11, 27, 16, 0))  # a Friday afternoon: the answer is due after a weekend
async def test_forms_explain_errors_and_keep_what_was_typed(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    [c] = clients(pool, review_env.client, "10.0.0.9")
    async with c:
        home = await c.get("/portal")
        assert home.status_code == 200 and "申请救助" in home.text and "查询办理进度" in home.text
        bad_id = PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")
        r = await portal_post(c, "/portal/apply", resident(id_number=bad_id) | {"needs": ["school_costs"]})
        assert r.status_code == 422 and f"校验位错误：应为{PERSON[-1]}" in r.text
        assert 'value="周大勇"' in r.text and 'value="school_costs" checked' in r.text
        r = await portal_post(c, "/portal/apply", resident())
        assert r.status_code == 422 and "请至少选择一项求助事项" in r.text
        r = await portal_post(c, "/portal/apply", resident(village_code="") | {"needs": ["sudden_hardship"]})
        assert r.status_code == 422 and "请选择所在村（社区）" in r.text
        villages = await c.get("/portal/villages?township_code=341503106")
        assert "示范村一" in villages.text and "鼓楼" not in villages.text

        # without the form's token (cross-site post) nothing is accepted
        r = await c.post("/portal/ask", data=resident())
        assert r.status_code == 403, r.text
        assert await pool.fetchval("select count(*) from frontdoor_requests") == 0

        r = await portal_post(c, "/portal/ask", resident(description="低保每年要复核几次？"))
        assert r.status_code == 303
        receipt = await c.get(r.headers["location"])
        row = await pool.fetchrow("select request_no, kind, channel, needs, answer_due from frontdoor_requests")
        # 5 working days after Friday 11-27: 30 November, then 1..4 December
        assert tuple(row)[1:] == ("enquiry", "portal", [], date(2026, 12, 4))
        assert row["request_no"].startswith("12349-20261127-") and row["request_no"] in receipt.text
        assert "我们将在 5 个工作日内（2026-12-04 前）答复您。" in receipt.text
        forged = await c.get("/portal/done?t=forged")
        assert (forged.status_code, forged.headers["location"]) == (303, "/portal")


async def test_a_portal_form_sent_twice_files_one_request(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    """A resident's double click (or the browser sending the form again) files one request: the form's
    one-time key makes the second send answer like the first, with the same receipt."""
    [c] = clients(pool, review_env.client, "10.0.0.10")
    async with c:
        form = await c.get("/portal/ask")
        key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', form.text)
        assert key is not None
        data = resident(description="低保每年要复核几次？") | {
            "csrftoken": csrf_token(form.text),
            "idempotency_key": key[1],
        }
        first = await c.post("/portal/ask", data=data)
        second = await c.post("/portal/ask", data=data)
        assert (first.status_code, second.status_code) == (303, 303)
        assert first.headers["location"] == second.headers["location"]
        assert await pool.fetchval("select count(*) from frontdoor_requests") == 1
        # the next form is a new key: a second question is a second request
        again = await portal_post(c, "/portal/ask", resident(description="临时救助怎么申请？"))
        assert again.status_code == 303 and again.headers["location"] != first.headers["location"]
        assert await pool.fetchval("select count(*) from frontdoor_requests") == 2
