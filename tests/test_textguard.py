"""A NUL character (U+0000) in a request is refused before anything starts: PostgreSQL cannot store it, so it would
fail where it is written (a 500, or a workflow's activity retried for ever behind a receipt)."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.clients import SECRET, asgi_client, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.frontdoor import portal_post, resident
from webapp.app import create_app
from webapp.textguard import carries_nul

REFUSED = {
    "code": "invalid_characters",
    "message": "填写的内容中含有不可见的控制字符（NUL），无法保存，请删除后重新提交",
}


def test_what_counts_as_carrying_a_nul() -> None:
    form = "application/x-www-form-urlencoded"
    assert carries_nul(b"", form, b"description=abcd%00") is True
    assert carries_nul(b"", form, b"description=100%2500") is False  # the text "100%00" typed in
    assert carries_nul(b"q=a%00b", "", b"") is True
    assert carries_nul(b"", "application/json", b'{"note": "a\\u0000"}') is True
    assert carries_nul(b"", "application/json", b'{"note": "a\\\\u0000"}') is False  # a backslash typed in
    assert carries_nul(b"", "application/json", b'{"items": [{"x\\u0000": 1}]}') is True
    assert carries_nul(b"", "multipart/form-data; boundary=x", b"PDF\x00\x01") is False  # a file's bytes


@pytest.mark.start_at(beijing(2026, 12, 4, 9, 0))
async def test_a_nul_is_refused_by_the_api_and_the_portal_and_nothing_is_written(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    app = create_app(pool, review_env.client, secret_key=SECRET)
    async with asgi_client(app) as c:
        r = await c.post("/api/auth/login", json={"username": "a\u0000", "password": "p"})
        assert (r.status_code, r.json()) == (422, REFUSED)
        headers = await login(c, "qu_minzheng")
        r = await c.post(
            "/api/funds/341503106001/income",
            json={"amount": "500", "source": "donation", "donor": "爱心人士\u0000"},
            headers=headers | {"Idempotency-Key": "nul-1"},
        )
        assert (r.status_code, r.json()) == (422, REFUSED)
    async with asgi_client(app, "10.0.3.1") as c:
        r = await portal_post(c, "/portal/ask", resident(description="家里收入很少\u0000孩子上学困难"))
        assert r.status_code == 422 and REFUSED["message"] in r.text and "text/html" in r.headers["content-type"]
        # the same form without it goes through
        assert (await portal_post(c, "/portal/ask", resident())).status_code == 303
    assert await pool.fetchval("select count(*) from frontdoor_requests") == 1
    assert await pool.fetchval("select count(*) from fund_entries") == 0
    assert await pool.fetchval("select count(*) from login_failures") == 0


async def test_an_unforeseen_error_is_still_code_and_message(pool: asyncpg.Pool) -> None:
    """What no route foresaw: a value out of range is the request's fault (422), anything else a 500 — both as
    `{"code", "message"}` in Chinese, with no detail of the error given out."""
    import httpx

    app = create_app(pool, None, secret_key=SECRET)

    async def out_of_range() -> None:
        raise OverflowError("date value out of range")

    async def broken() -> None:
        raise RuntimeError("secret detail 110105194912310020")

    app.add_api_route("/api/test-out-of-range", out_of_range)
    app.add_api_route("/api/test-broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/api/test-out-of-range")
        assert (r.status_code, r.json()) == (
            422,
            {"code": "invalid", "message": "输入的数值、编号或日期超出允许的范围，请检查后重试"},
        )
        r = await c.get("/api/test-broken")
        assert (r.status_code, r.json()) == (
            500,
            {"code": "internal_error", "message": "服务器内部错误，请稍后再试；如仍出现，请联系系统管理员"},
        )
