"""Server-side sessions (webapp/sessions.py, db/sessions_repo.py): log-out, a password change, a deactivation and
the administrator's "end all sessions" end them at once, for pages (a copy of the old cookie is sent to log in)
and the API (its bearer token gets 401 `unauthenticated`); sessions end after the idle timeout and the absolute
limit of `Settings`. Sessions are timed by the database's clock, so the tests move a session's times back
instead of moving a clock forward."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from db import users_repo
from db.users_repo import DEMO_PASSWORD
from tests.security.conftest import SECRET, asgi_client
from webapp.app import create_app

UNAUTHENTICATED = {"code": "unauthenticated", "message": "请先登录"}
COOKIE = "jiuzhu_session"
NEW_PASSWORD = "a-new-password-2027"


@pytest.fixture
def app(pool: asyncpg.Pool):
    return create_app(pool, None, secret_key=SECRET)


@pytest.fixture
async def browser(app) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "198.51.100.21") as c:
        yield c


def csrf(html: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


async def form_log_in(c: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """Log in through the form; the session cookie it got."""
    page = await c.get("/login")
    r = await c.post("/login", data={"username": username, "password": password, "csrftoken": csrf(page.text)})
    assert r.status_code == 303, r.text
    return c.cookies[COOKIE]


async def api_log_in(c: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> tuple[str, str]:
    """Log in through the API; (the bearer token, the session cookie)."""
    r = await c.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["token"], c.cookies[COOKIE]


async def form_post(c: httpx.AsyncClient, url: str, data: dict[str, str]) -> httpx.Response:
    page = await c.get("/account")
    assert page.status_code == 200, page.status_code
    return await c.post(url, data={"csrftoken": csrf(page.text)} | data)


async def as_cookie(app, cookie: str) -> tuple[httpx.Response, httpx.Response]:
    """A page and the API, sent by another client with a copy of `cookie`: what a thief of it gets."""
    async with asgi_client(app, "203.0.113.66") as thief:
        headers = {"cookie": f"{COOKIE}={cookie}"}
        return await thief.get("/inbox", headers=headers), await thief.get("/api/me", headers=headers)


async def as_token(app, token: str) -> httpx.Response:
    async with asgi_client(app, "203.0.113.67") as script:
        return await script.get("/api/me", headers={"Authorization": f"Bearer {token}"})


async def assert_live(app, cookie: str) -> None:
    page, api = await as_cookie(app, cookie)
    assert (page.status_code, api.status_code) == (200, 200), (page.status_code, api.text)


async def assert_ended(app, cookie: str | None = None, token: str | None = None) -> None:
    """Exactly the answers of an ended session: the page sends to log in (and back), the API says 401."""
    if cookie is not None:
        page, api = await as_cookie(app, cookie)
        assert (page.status_code, page.headers["location"]) == (303, "/login?next=/inbox")
        assert (api.status_code, api.json()) == (401, UNAUTHENTICATED)
    if token is not None:
        r = await as_token(app, token)
        assert (r.status_code, r.json()) == (401, UNAUTHENTICATED)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def test_log_out_ends_the_session_at_once_for_pages_and_its_bearer_token(app, browser, pool) -> None:
    token, cookie = await api_log_in(browser, "shipo_jingban")
    await assert_live(app, cookie)
    assert (await as_token(app, token)).status_code == 200
    other_token, _ = await api_log_in(browser, "shipo_jingban")  # another session of the same user
    browser.cookies.set(COOKIE, cookie, domain="jiuzhu.test")

    r = await browser.post("/logout", data={"csrftoken": csrf((await browser.get("/account")).text)})
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    await assert_ended(app, cookie=cookie, token=token)  # the copy of the cookie and the same log-in's token
    assert (await as_token(app, other_token)).status_code == 200  # log-out ends this session only
    assert await pool.fetchval("select count(*) from sessions where token_hash = $1", digest(token)) == 0

    # The API's log-out with the bearer token ends that session, its cookie too.
    async with asgi_client(app, "198.51.100.22") as script:
        token, cookie = await api_log_in(script, "shipo_jingban")
        script.cookies.clear()
        r = await script.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 204
    await assert_ended(app, cookie=cookie, token=token)


async def test_log_out_everywhere_ends_every_session_of_the_user(app, browser) -> None:
    cookie = await form_log_in(browser, "shipo_shenpi")
    async with asgi_client(app, "198.51.100.23") as other:
        token, other_cookie = await api_log_in(other, "shipo_shenpi")
    async with asgi_client(app, "198.51.100.24") as colleague:
        colleague_token, _ = await api_log_in(colleague, "shipo_jingban")
    r = await form_post(browser, "/logout", {"everywhere": "1", "idempotency_key": "everywhere-1"})
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    await assert_ended(app, cookie=cookie, token=token)
    await assert_ended(app, cookie=other_cookie)
    assert (await as_token(app, colleague_token)).status_code == 200  # nobody else's

    # The same through the API.
    token, _ = await api_log_in(browser, "shipo_shenpi")
    second, _ = await api_log_in(browser, "shipo_shenpi")
    r = await browser.post("/api/auth/logout?everywhere=true", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 204
    await assert_ended(app, token=token)
    await assert_ended(app, token=second)


async def test_a_password_change_ends_every_session_and_this_browser_goes_on_in_a_new_one(app, browser) -> None:
    old_cookie = await form_log_in(browser, "shipo_diaocha")
    async with asgi_client(app, "198.51.100.25") as laptop:
        laptop_cookie = await form_log_in(laptop, "shipo_diaocha")
        script_token, _ = await api_log_in(laptop, "shipo_diaocha")
    r = await form_post(
        browser, "/account/password", {"current": DEMO_PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert r.status_code == 200 and "密码已修改" in r.text
    await assert_ended(app, cookie=old_cookie)  # the cookie it was changed with, as it was before
    await assert_ended(app, cookie=laptop_cookie, token=script_token)
    new_cookie = browser.cookies[COOKIE]
    assert new_cookie != old_cookie
    await assert_live(app, new_cookie)
    assert (await browser.get("/account")).status_code == 200


async def test_the_administrator_ends_a_users_sessions_and_a_reset_or_deactivation_does_too(
    app, browser, pool: asyncpg.Pool
) -> None:
    async with asgi_client(app, "198.51.100.26") as user:
        token, cookie = await api_log_in(user, "gulou_jingban")
    admin_cookie = await form_log_in(browser, "admin")
    page = await browser.get("/admin/users/gulou_jingban/edit")
    assert page.status_code == 200 and "结束全部会话" in page.text and "198.51.100.26" in page.text
    r = await form_post(browser, "/admin/users/gulou_jingban/sessions/end", {"idempotency_key": "end-1"})
    assert (r.status_code, r.headers["location"]) == (303, "/admin/users/gulou_jingban/edit")
    assert "已结束 gulou_jingban 的会话 1 个。" in (await browser.get("/admin/users/gulou_jingban/edit")).text
    await assert_ended(app, cookie=cookie, token=token)
    _, admin_api = await as_cookie(app, admin_cookie)
    assert (admin_api.status_code, admin_api.json()["username"]) == (200, "admin")  # the admin's own session goes on

    # The administrator's reset (a one-time code in place of the password) ends the user's sessions.
    async with asgi_client(app, "198.51.100.27") as user:
        token, cookie = await api_log_in(user, "gulou_jingban")
    r = await form_post(browser, "/admin/users/gulou_jingban/password", {})
    assert r.status_code == 200 and "gulou_jingban 的一次性登录码" in r.text
    await assert_ended(app, cookie=cookie, token=token)
    async with pool.acquire() as conn:  # the user chose a password (tests/security/test_access_log.py)
        await users_repo.set_password(conn, "gulou_jingban", NEW_PASSWORD)

    # Deactivation deletes the sessions: switched on again, the user's old token still does not work.
    async with asgi_client(app, "198.51.100.28") as user:
        token, cookie = await api_log_in(user, "gulou_jingban", NEW_PASSWORD)
    form = {"full_name": "鼓楼街道经办人 郑洁", "role": "township_caseworker", "place_code": "341503001"}
    assert (await form_post(browser, "/admin/users/gulou_jingban/edit", form)).status_code == 303  # inactive
    assert await pool.fetchval("select count(*) from sessions where token_hash = $1", digest(token)) == 0
    form["active"] = "true"
    assert (await form_post(browser, "/admin/users/gulou_jingban/edit", form)).status_code == 303
    await assert_ended(app, cookie=cookie, token=token)


async def test_a_session_ends_after_30_idle_minutes(app, browser, pool: asyncpg.Pool) -> None:
    token, cookie = await api_log_in(browser, "gulou_shenpi")
    set_idle = "update sessions set last_seen_at = now() - $2::text::interval where token_hash = $1"
    await pool.execute(set_idle, digest(token), "29 minutes 50 seconds")
    await assert_live(app, cookie)  # within the idle time: used, and so seen now
    seen = await pool.fetchval(
        "select extract(epoch from now() - last_seen_at) from sessions where token_hash = $1", digest(token)
    )
    assert seen < 60
    await pool.execute(set_idle, digest(token), "30 minutes 1 second")
    await assert_ended(app, cookie=cookie, token=token)


async def test_a_session_ends_12_hours_after_log_in_however_busy(app, browser, pool: asyncpg.Pool) -> None:
    token, cookie = await api_log_in(browser, "gulou_diaocha")
    move = "update sessions set created_at = now() - $2::text::interval where token_hash = $1"
    await pool.execute(move, digest(token), "11 hours 59 minutes")
    await assert_live(app, cookie)
    await pool.execute(move, digest(token), "12 hours 1 second")
    await assert_ended(app, cookie=cookie, token=token)


async def test_the_limits_are_settings(pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIUZHU_SESSION_IDLE_MINUTES", "5")
    monkeypatch.setenv("JIUZHU_SESSION_MAX_HOURS", "1")
    app = create_app(pool, None, secret_key=SECRET)
    async with asgi_client(app) as c:
        r = await c.post("/api/auth/login", json={"username": "qu_jiandu", "password": DEMO_PASSWORD})
        assert "max-age=3600" in r.headers["set-cookie"].lower()  # the cookie's own limit follows
        token, cookie = r.json()["token"], c.cookies[COOKIE]
        page = await c.get("/account")
        assert "会话闲置 5 分钟或登录满 1 小时后自动结束" in page.text
    await pool.execute(
        "update sessions set last_seen_at = now() - interval '5 minutes 1 second' where token_hash = $1", digest(token)
    )
    await assert_ended(app, cookie=cookie, token=token)


async def test_the_database_keeps_only_a_digest_of_the_secret(app, browser, pool: asyncpg.Pool) -> None:
    token, _ = await api_log_in(browser, "qu_minzheng")
    rows = await pool.fetch("select token_hash, kind, client_ip from sessions")
    assert [(r["token_hash"], r["kind"], r["client_ip"]) for r in rows] == [(digest(token), "api", "198.51.100.21")]
    assert token.encode() not in b"".join(r["token_hash"] for r in rows)
