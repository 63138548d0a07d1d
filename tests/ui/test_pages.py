"""The UI's plumbing without a browser: log-in, CSRF, language, error pages, each role's home."""

from __future__ import annotations

import httpx
import pytest

from db.users_repo import DEMO_PASSWORD
from tests.support.clients import csrf_token, log_in


async def test_anonymous_visitor_is_sent_to_log_in_and_back(web: httpx.AsyncClient) -> None:
    r = await web.get("/account")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/account"
    page = await web.get("/login?next=/account")
    assert "登录" in page.text and 'lang="zh-CN"' in page.text
    r = await web.post(
        "/login",
        data={
            "username": "shipo_jingban",
            "password": DEMO_PASSWORD,
            "next": "/account",
            "csrftoken": csrf_token(page.text),
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/account"
    r = await web.get("/account")
    assert r.status_code == 200 and "石婆店镇经办人 李娟" in r.text and "乡镇经办人" in r.text


@pytest.mark.parametrize(
    "user, home",
    [("shipo_jingban", "/inbox"), ("shipo_shenpi", "/inbox"), ("qu_jiandu", "/dashboard"), ("admin", "/admin")],
)
async def test_each_role_lands_on_its_home(web: httpx.AsyncClient, user: str, home: str) -> None:
    r = await log_in(web, user)
    assert r.headers["location"] == home
    assert (await web.get("/")).headers["location"] == home


async def test_wrong_password_keeps_the_user_name(web: httpx.AsyncClient) -> None:
    r = await log_in(web, "shipo_jingban", "not-the-password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text and 'value="shipo_jingban"' in r.text


async def test_open_redirect_is_ignored(web: httpx.AsyncClient) -> None:
    page = await web.get("/login")
    r = await web.post(
        "/login",
        data={
            "username": "qu_jiandu",
            "password": DEMO_PASSWORD,
            "next": "//evil.example/",
            "csrftoken": csrf_token(page.text),
        },
    )
    assert r.headers["location"] == "/dashboard"


async def test_a_post_without_csrf_token_is_refused(web: httpx.AsyncClient) -> None:
    await log_in(web, "shipo_jingban")
    r = await web.post(
        "/account/password", data={"current": DEMO_PASSWORD, "new": "abcdefgh1234", "confirm": "abcdefgh1234"}
    )
    assert r.status_code == 403
    r = await web.post("/login", data={"username": "shipo_jingban", "password": DEMO_PASSWORD})
    assert r.status_code == 403


async def test_password_change(web: httpx.AsyncClient) -> None:
    await log_in(web, "shipo_diaocha")
    page = await web.get("/account")
    bad = await web.post(
        "/account/password",
        data={
            "current": DEMO_PASSWORD,
            "new": "new-password-1",
            "confirm": "new-password-2",
            "csrftoken": csrf_token(page.text),
        },
    )
    assert bad.status_code == 422 and "两次输入的新密码不一致" in bad.text
    ok = await web.post(
        "/account/password",
        data={
            "current": DEMO_PASSWORD,
            "new": "new-password-1",
            "confirm": "new-password-1",
            "csrftoken": csrf_token(page.text),
        },
    )
    assert ok.status_code == 200 and "密码已修改" in ok.text
    await web.post("/logout", data={"csrftoken": csrf_token(page.text)})
    assert (await log_in(web, "shipo_diaocha", "new-password-1")).status_code == 303


async def test_language_switch(web: httpx.AsyncClient) -> None:
    await log_in(web, "shipo_jingban")
    page = await web.get("/account")
    assert "修改密码" in page.text
    r = await web.post(
        "/lang",
        data={"locale": "en", "csrftoken": csrf_token(page.text)},
        headers={"referer": "http://jiuzhu.test/account"},
    )
    assert r.status_code == 303 and r.headers["location"] == "/account"
    page = await web.get("/account")
    assert "Change password" in page.text and "修改密码" not in page.text and 'lang="en"' in page.text


async def test_unknown_page_is_a_chinese_404(web: httpx.AsyncClient) -> None:
    await log_in(web, "shipo_jingban")
    r = await web.get("/no-such-page")
    assert r.status_code == 404 and "页面不存在" in r.text and "<html" in r.text
    api = await web.get("/api/no-such")
    assert api.status_code == 404 and api.json()["code"] == "not_found"


async def test_vendored_assets_are_served(web: httpx.AsyncClient) -> None:
    for path in ("/static/vendor/htmx/htmx.min.js", "/static/vendor/chartjs/chart.umd.min.js", "/static/css/app.css"):
        assert (await web.get(path)).status_code == 200, path


async def test_multipart_form_with_csrf_token_is_accepted(web: httpx.AsyncClient) -> None:
    """File uploads (multipart) pass the CSRF check when the token comes first, and fail without it."""
    await log_in(web, "shipo_jingban")
    page = await web.get("/account")
    form = {"csrftoken": csrf_token(page.text), "current": "x", "new": "abcdefgh1234", "confirm": "abcdefgh2"}
    r = await web.post("/account/password", data=form, files={"attachment": ("a.txt", b"hello", "text/plain")})
    assert r.status_code == 422 and "当前密码不正确" in r.text  # reached the handler, which refused on its merits
    no_token = {k: v for k, v in form.items() if k != "csrftoken"}
    r = await web.post("/account/password", data=no_token, files={"attachment": ("a.txt", b"hello", "text/plain")})
    assert r.status_code == 403
