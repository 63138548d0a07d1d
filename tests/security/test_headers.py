"""Headers and cookies (issue 16, point 10): the exact security headers on pages, API answers and static files;
no inline script or `on*=` handler in any template (the CSP forbids them); `__Host-` cookies in production; a
CSRF token bound to the session; X-Forwarded-For believed only from the configured proxies."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import httpx
import pytest

from infra.config import ROOT
from tests.support.clients import SECRET, asgi_client, csrf_token, log_in
from webapp.app import create_app

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
ALWAYS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


async def test_pages_and_api_answers_carry_the_headers_and_are_never_cached(pool: asyncpg.Pool) -> None:
    async with asgi_client(create_app(pool, secret_key=SECRET)) as c:
        page = await c.get("/login")
        assert (await log_in(c, "shipo_jingban")).status_code == 303
        inbox = await c.get("/inbox")
        api = await c.get("/api/me")
        refused = await c.get("/api/cases/NO-SUCH-CASE")
        anonymous = await c.get("/api/me", cookies={})
        static = await c.get("/static/js/app.js")
    for r in (page, inbox, api, refused, anonymous):
        assert {k: r.headers.get(k) for k in ALWAYS} == ALWAYS, r.url
        assert r.headers["cache-control"] == "no-store", r.url
        assert "strict-transport-security" not in r.headers  # development: no TLS
    assert inbox.status_code == 200 and api.status_code == 200 and refused.status_code == 404
    assert static.status_code == 200 and "no-store" not in static.headers.get("cache-control", "")
    assert static.headers["content-security-policy"] == CSP and static.headers["x-content-type-options"] == "nosniff"


TEMPLATES = sorted((ROOT / "webapp").rglob("templates/**/*.html"))
SCRIPT = re.compile(r"<script\b([^>]*)>", re.I)
HANDLER = re.compile(r"""<[^>]*\s(on[a-z]+)\s*=""", re.I | re.S)
INLINE_STYLE = re.compile(r"""<style\b|<[^>]*\sstyle\s*=""", re.I | re.S)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "webapp")))
def test_no_template_has_inline_script_style_or_event_handlers(template: Path) -> None:
    """The CSP allows neither inline script nor inline style: styles are in webapp/static/css/."""
    html = template.read_text()
    assert not INLINE_STYLE.findall(html), f"inline style in {template}: {INLINE_STYLE.findall(html)}"
    for attrs in SCRIPT.findall(html):
        assert "src=" in attrs or 'type="application/json"' in attrs, f"inline <script{attrs}> in {template}"
    assert not HANDLER.findall(html), f"on*= handler in {template}: {HANDLER.findall(html)}"
    assert "javascript:" not in html.lower()


def test_the_scan_finds_what_it_looks_for() -> None:
    assert SCRIPT.findall("<script>alert(1)</script>") == [""]
    assert HANDLER.findall('<button class="x"\n  onclick="go()">') == ["onclick"]
    assert not HANDLER.findall('<button data-confirm="on=1" hx-on="x">')
    assert len(INLINE_STYLE.findall('<style>a{}</style><div class="a"\n style="x">')) == 2
    assert not INLINE_STYLE.findall('<link rel="stylesheet" href="/static/css/app.css"><p data-style="x">')
    assert len(TEMPLATES) > 40


def _set_cookies(r: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in r.headers.get_list("set-cookie")}


async def test_production_cookies_are_host_prefixed_and_secure(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIUZHU_ENV", "production")
    app = create_app(pool, secret_key=SECRET)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://jiuzhu.test") as c:
        page = await c.get("/login")
        csrf = _set_cookies(page)["__Host-csrftoken"]
        r = await c.post(
            "/login", data={"username": "shipo_jingban", "password": "jiuzhu2026", "csrftoken": csrf_token(page.text)}
        )
        assert r.status_code == 303, r.text
        session = _set_cookies(r)["__Host-jiuzhu_session"]
        assert (await c.get("/inbox")).status_code == 200
    assert page.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    for cookie in (csrf, session):
        attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert "path=/" in attrs and "secure" in attrs and "samesite=lax" in attrs, cookie
        assert not any(a.startswith("domain") for a in attrs), cookie
    assert "httponly" in session.lower()


async def test_development_cookies_keep_plain_names(pool: asyncpg.Pool) -> None:
    async with asgi_client(create_app(pool, secret_key=SECRET)) as c:
        page = await c.get("/login")
        r = await c.post(
            "/login", data={"username": "shipo_jingban", "password": "jiuzhu2026", "csrftoken": csrf_token(page.text)}
        )
    assert "csrftoken" in _set_cookies(page) and "jiuzhu_session" in _set_cookies(r)
    assert "secure" not in _set_cookies(r)["jiuzhu_session"].lower()


async def test_a_csrf_token_from_another_session_is_refused(pool: asyncpg.Pool) -> None:
    app = create_app(pool, secret_key=SECRET)
    async with asgi_client(app) as a, asgi_client(app) as b, asgi_client(app) as anonymous:
        assert (await log_in(a, "shipo_jingban")).status_code == 303
        assert (await log_in(b, "shunhe_jingban")).status_code == 303
        a_token = csrf_token((await a.get("/account")).text)
        b_token = csrf_token((await b.get("/account")).text)
        assert a_token != b_token
        # a's token, even with a's CSRF cookie (or one planted from an anonymous page) beside it: 403
        anon_page = await anonymous.get("/login")
        anon_token, anon_cookie = csrf_token(anon_page.text), anonymous.cookies["csrftoken"]
        for token, cookie in ((a_token, a.cookies.get("csrftoken", "")), (anon_token, anon_cookie)):
            b.cookies.set("csrftoken", cookie)
            refused = await b.post("/logout", data={"csrftoken": token})
            assert refused.status_code == 403, refused.text
        assert (await b.get("/inbox")).status_code == 200  # still logged in
        # b's own token works, and stays the same for the whole session
        assert csrf_token((await b.get("/account")).text) == b_token
        assert (await b.post("/logout", data={"csrftoken": b_token})).status_code == 303
        assert (await b.get("/inbox")).status_code == 303  # logged out: to the log-in page


async def _session_ip(pool: asyncpg.Pool, username: str) -> str:
    return await pool.fetchval(
        "select s.client_ip from sessions s join users u on u.id = s.user_id where u.username = $1 "
        "order by s.id desc limit 1",
        username,
    )


async def test_forwarded_addresses_are_believed_only_from_the_configured_proxy(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JIUZHU_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16")
    app = create_app(pool, secret_key=SECRET)
    forwarded = {"x-forwarded-for": "203.0.113.7"}
    body = {"username": "shipo_jingban", "password": "jiuzhu2026"}
    for proxy, expected in (("10.0.0.5", "203.0.113.7"), ("10.1.2.3", "203.0.113.7"), ("10.0.0.6", "10.0.0.6")):
        async with asgi_client(app, client_ip=proxy) as c:
            assert (await c.post("/api/auth/login", json=body, headers=forwarded)).status_code == 200
        assert await _session_ip(pool, "shipo_jingban") == expected, proxy

    monkeypatch.delenv("JIUZHU_TRUSTED_PROXIES")  # the default: no proxy is believed
    async with asgi_client(create_app(pool, secret_key=SECRET), client_ip="127.0.0.1") as c:
        assert (await c.post("/api/auth/login", json=body, headers=forwarded)).status_code == 200
    assert await _session_ip(pool, "shipo_jingban") == "127.0.0.1"
