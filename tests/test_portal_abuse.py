"""Issue 16, point 8: the portal takes at most 10 submissions an hour from one address and 3 a day under one ID
number (settings; counted in PostgreSQL), and every route refuses a request body over 1 MB (a setting), whether it
says so in Content-Length or streams it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import asyncpg
import pytest

from tests.support.clients import SECRET, asgi_client
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import resident_id
from tests.support.frontdoor import PERSON, portal_post, resident
from webapp.app import create_app

pytestmark = pytest.mark.start_at(beijing(2026, 12, 4, 9, 0))

TOO_LARGE = {"code": "body_too_large", "message": "提交的内容过大（不得超过 1 MB），请删减后重试"}
LIMIT_PAGE = "提交次数过多：同一网络地址每小时最多 10 次，同一身份证号码每天最多 3 次。请稍后再试，或拨打12349。"


async def _stream(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 65536):
        yield b"x" * 65536
    yield b"x" * (size % 65536)


async def test_every_route_refuses_a_body_over_1_mb(pool: asyncpg.Pool) -> None:
    app = create_app(pool, None, secret_key=SECRET)
    async with asgi_client(app) as c:
        big = b'{"username": "' + b"x" * (1024 * 1024) + b'", "password": "y"}'
        r = await c.post("/api/auth/login", content=big, headers={"content-type": "application/json"})
        assert (r.status_code, r.json()) == (413, TOO_LARGE)
        # without Content-Length (chunked): counted as it streams
        r = await c.post(
            "/api/auth/login", content=_stream(1024 * 1024 + 1), headers={"content-type": "application/json"}
        )
        assert "content-length" not in r.request.headers
        assert (r.status_code, r.json()) == (413, TOO_LARGE)
        # a form: a Chinese page
        form = {"content-type": "application/x-www-form-urlencoded"}
        for content in (b"description=" + b"x" * (1024 * 1024), _stream(2 * 1024 * 1024)):
            r = await c.post("/portal/ask", content=content, headers=form)
            assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
            assert "提交内容过大" in r.text and TOO_LARGE["message"] in r.text
        # exactly at the limit, the body reaches the route (a log-in that fails: 401)
        body = b'{"username": "nobody", "password": "' + b"y" * (1024 * 1024 - 40) + b'"}'
        assert len(body) <= 1024 * 1024
        r = await c.post("/api/auth/login", content=body, headers={"content-type": "application/json"})
        assert r.status_code != 413, r.text
    assert await pool.fetchval("select count(*) from frontdoor_requests") == 0


async def test_the_body_limit_is_a_setting(pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIUZHU_MAX_BODY_BYTES", "2048")
    async with asgi_client(create_app(pool, None, secret_key=SECRET)) as c:
        r = await c.post("/api/auth/login", json={"username": "u" * 2100, "password": "p"})
        assert (r.status_code, r.json()["message"]) == (413, "提交的内容过大（不得超过 2 KB），请删减后重试")
        r = await c.post("/api/auth/login", json={"username": "nobody", "password": "p" * 1900})
        assert r.status_code != 413


@pytest.mark.timeout(300)
async def test_three_submissions_a_day_under_one_id_number(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    app = create_app(pool, review_env.client, secret_key=SECRET)
    for i, path in enumerate(("/portal/apply", "/portal/ask", "/portal/complain", "/portal/ask")):
        async with asgi_client(app, f"10.0.1.{i}") as c:  # each from an address of its own
            data = resident(description=f"第{i}次：家里收入很少，孩子上学困难") | {"needs": ["school_costs"]}
            r = await portal_post(c, path, data)
            if i < 3:
                assert r.status_code == 303, r.text
            else:
                assert r.status_code == 429 and LIMIT_PAGE in r.text
    assert await pool.fetchval("select count(*) from frontdoor_requests where id_number = $1", PERSON) == 3
    # the table holds no ID number, only its keyed digest
    keys = await pool.fetch("select key from rate_limit_hits where scope like 'portal-submit-id%'")
    assert len(keys) == 3 and all(PERSON not in k["key"] for k in keys)
    # another person is not affected
    async with asgi_client(app, "10.0.1.9") as c:
        other = resident(id_number=resident_id(date(1980, 1, 1), seq=321))
        assert (await portal_post(c, "/portal/ask", other)).status_code == 303


@pytest.mark.timeout(300)
async def test_ten_submissions_an_hour_from_one_address(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    app = create_app(pool, review_env.client, secret_key=SECRET)
    async with asgi_client(app, "10.0.2.1") as c:
        for i in range(10):
            person = resident(
                id_number=resident_id(date(1970, 1, 1 + i), seq=400 + i), description=f"咨询第{i}个问题？"
            )
            r = await portal_post(c, "/portal/ask", person)
            assert r.status_code == 303, (i, r.text)
        eleventh = resident(id_number=resident_id(date(1990, 5, 5), seq=500), description="再问一个问题？")
        r = await portal_post(c, "/portal/ask", eleventh)
        assert r.status_code == 429 and LIMIT_PAGE in r.text
        # malformed forms do not count, and a blocked address is refused before its form is read
        assert (await portal_post(c, "/portal/ask", {})).status_code == 429
    async with asgi_client(app, "10.0.2.2") as c:  # another address still may
        r = await portal_post(c, "/portal/ask", eleventh)
        assert r.status_code == 303
    assert await pool.fetchval("select count(*) from frontdoor_requests") == 11


async def test_the_portal_limits_are_settings(pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIUZHU_PORTAL_PER_ADDRESS", "2/minute")
    monkeypatch.setenv("JIUZHU_PORTAL_PER_ID_NUMBER", "5/2 days")
    app = create_app(pool, None, secret_key=SECRET)
    await pool.execute(
        "insert into rate_limit_hits (scope, key) "
        "select 'portal-submit-ip:2/60s', '10.0.3.1' from generate_series(1, 2)"
    )
    async with asgi_client(app, "10.0.3.1") as c:
        r = await portal_post(c, "/portal/ask", resident(description="低保怎么申请？"))
        assert r.status_code == 429
        assert "同一网络地址每分钟最多 2 次，同一身份证号码每 2 天最多 5 次" in r.text
