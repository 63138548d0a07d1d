"""Least privilege and the access log (issue 16, point 9; webapp/access_log.py, db/access_log_repo.py, migration
0024): the administrator reads no case file and sets no one's password (a reset issues a one-time code);
reads of case files, household look-ups, exports, log-ins and user changes are written to an append-only log
that the district supervisor searches."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from db.users_repo import DEMO_PASSWORD
from schemas.identity import mask_id
from tests.security.conftest import SECRET, Seeds, asgi_client, bearer, seed
from webapp.access_log import HOUSEHOLD_PREFIX
from webapp.app import create_app
from webapp.authz import NO_FILES

NEW_PASSWORD = "my-own-password-2027"
CODE = re.compile(r'data-testid="one-time-code"><code>([A-Z2-9]{4}(?:-[A-Z2-9]{4}){3})</code>')
ROWS = "select username, role, kind, record, detail, client_ip from access_log"


@pytest.fixture
def app(pool: asyncpg.Pool):
    return create_app(pool, None, secret_key=SECRET)


@pytest.fixture
async def seeds(pool: asyncpg.Pool) -> Seeds:
    return await seed(pool)


@pytest.fixture
async def admin(app) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "198.51.100.31") as c:
        await page_log_in(c, "admin")
        yield c


def csrf(html: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


async def page_log_in(c: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    page = await c.get("/login")
    return await c.post("/login", data={"username": username, "password": password, "csrftoken": csrf(page.text)})


async def post(c: httpx.AsyncClient, url: str, data: dict[str, str], token_from: str = "/account") -> httpx.Response:
    page = await c.get(token_from)
    return await c.post(url, data={"csrftoken": csrf(page.text)} | data)


async def rows(pool: asyncpg.Pool, where: str = "true", *args: object) -> list[tuple]:
    return [tuple(r) for r in await pool.fetch(f"{ROWS} where {where} order by id", *args)]


async def test_the_administrator_reads_no_case_file(app, admin: httpx.AsyncClient, seeds: Seeds) -> None:
    pages = [
        f"/cases/{seeds.case}",
        f"/cases/{seeds.case}/approval.pdf",
        f"/emergencies/{seeds.event}",
        f"/frontdoor/requests/{seeds.request_no}",
        f"/frontdoor/complaints/{seeds.complaint}",
        "/cases/export.csv",
        "/cases",
        "/households",
    ]
    for path in pages:
        r = await admin.get(path)
        assert r.status_code == 403, path
    r = await post(admin, "/households", {"id_number": seeds.person_id})
    assert r.status_code == 403
    async with asgi_client(app, "198.51.100.32") as script:
        headers = await bearer(script, "admin")
        for method, path, body in [
            ("GET", f"/api/cases/{seeds.case}", None),
            ("GET", "/api/cases", None),
            ("GET", f"/api/emergencies/{seeds.event}", None),
            ("GET", f"/api/frontdoor/requests/{seeds.request_no}", None),
            ("GET", f"/api/complaints/{seeds.complaint}", None),
            ("GET", f"/api/referrals/{seeds.referral}", None),
            ("POST", "/api/households/lookup", {"id_number": seeds.person_id}),
        ]:
            r = await script.request(method, path, json=body, headers=headers)
            assert r.status_code == 403, path
            assert r.json()["code"] == "wrong_role", path
        r = await script.get(f"/api/cases/{seeds.case}", headers=headers)
        assert r.json() == {"code": "wrong_role", "message": NO_FILES}
    # ...but still manages users, places, calendar and policy
    for path in ("/admin/users", "/admin/places", "/admin/calendar", "/admin/policy"):
        assert (await admin.get(path)).status_code == 200, path


async def test_a_reset_issues_a_one_time_code_that_works_once_and_forces_a_new_password(
    app, admin: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    async with asgi_client(app, "198.51.100.33") as before:
        old_token = (await bearer(before, "shipo_jingban"))["Authorization"]

    r = await post(admin, "/admin/users/shipo_jingban/password", {}, "/admin/users/shipo_jingban/edit")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    code = CODE.search(r.text).group(1)
    assert "shipo_jingban 的一次性登录码" in r.text and "24 小时内可登录一次" in r.text
    assert code not in str(await pool.fetchrow("select * from users where username = 'shipo_jingban'"))

    async with asgi_client(app, "198.51.100.34") as user:
        # the old password and the old session no longer work
        assert (await user.get("/api/me", headers={"Authorization": old_token})).status_code == 401
        wrong = await user.post("/api/auth/login", json={"username": "shipo_jingban", "password": DEMO_PASSWORD})
        assert (wrong.status_code, wrong.json()["code"]) == (401, "bad_credentials")
        # the code logs in, straight to the new password, and nothing else opens
        r = await page_log_in(user, "shipo_jingban", code)
        assert (r.status_code, r.headers["location"]) == (303, "/account/new-password")
        assert (await user.get("/inbox")).headers["location"] == "/account/new-password"
        me = await user.get("/api/me")
        assert (me.status_code, me.json()) == (403, {"code": "password_change_required", "message": "请先设置新密码"})
        same = {"new": "shipo_jingban", "confirm": "shipo_jingban"}
        weak = await post(user, "/account/new-password", same, "/account/new-password")
        assert weak.status_code == 422
        chosen = {"new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        r = await post(user, "/account/new-password", chosen, "/account/new-password")
        assert (r.status_code, r.headers["location"]) == (303, "/inbox")
        assert (await user.get("/inbox")).status_code == 200
        assert (await user.get("/account/new-password")).headers["location"] == "/account"

    async with asgi_client(app, "198.51.100.35") as again:
        used = await again.post("/api/auth/login", json={"username": "shipo_jingban", "password": code})
        assert (used.status_code, used.json()["code"]) == (401, "bad_credentials")  # single use
        ok = await again.post("/api/auth/login", json={"username": "shipo_jingban", "password": NEW_PASSWORD})
        assert ok.status_code == 200

    assert await rows(pool, "kind = 'user.reset'") == [
        ("admin", "admin", "user.reset", "shipo_jingban", "sessions ended: 1", "198.51.100.31")
    ]
    assert await rows(pool, "kind = 'password.changed'") == [
        ("shipo_jingban", "township_caseworker", "password.changed", "shipo_jingban", "one-time code", "198.51.100.34")
    ]


async def test_a_code_expires_after_24_hours(app, admin: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    r = await post(admin, "/admin/users/shipo_jingban/password", {}, "/admin/users/shipo_jingban/edit")
    code = CODE.search(r.text).group(1)
    await pool.execute(
        "update users set password_expires_at = now() - interval '1 second' where username = 'shipo_jingban'"
    )
    async with asgi_client(app, "198.51.100.36") as user:
        r = await user.post("/api/auth/login", json={"username": "shipo_jingban", "password": code})
        assert (r.status_code, r.json()["code"]) == (401, "bad_credentials")


async def test_a_new_user_gets_a_code_and_user_changes_are_logged(admin: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    form = {"username": "shunhe_new", "full_name": "顺河镇经办人 新人", "role": "township_caseworker"}
    r = await post(admin, "/admin/users", form | {"place_code": "341503104"}, "/admin/users/new")
    assert r.status_code == 200 and CODE.search(r.text)
    edit = {"full_name": "顺河镇审批人 新人", "role": "township_approver", "place_code": "341503104", "active": "true"}
    assert (await post(admin, "/admin/users/shunhe_new/edit", edit)).status_code == 303
    assert (await post(admin, "/admin/users/shunhe_new/edit", edit | {"active": ""})).status_code == 303
    assert (await post(admin, "/admin/users/shunhe_new/sessions/end", {})).status_code == 303
    assert await rows(pool, "record = 'shunhe_new'") == [
        ("admin", "admin", "user.create", "shunhe_new", "township_caseworker 341503104", "198.51.100.31"),
        (
            "admin",
            "admin",
            "user.role",
            "shunhe_new",
            "township_caseworker 341503104 → township_approver 341503104",
            "198.51.100.31",
        ),
        ("admin", "admin", "user.deactivate", "shunhe_new", None, "198.51.100.31"),
        ("admin", "admin", "user.sessions_end", "shunhe_new", "sessions ended: 0", "198.51.100.31"),
    ]


async def test_reading_a_case_page_writes_exactly_one_row(app, pool: asyncpg.Pool, seeds: Seeds) -> None:
    async with asgi_client(app, "198.51.100.41") as c:
        await page_log_in(c, "shipo_jingban")
        before = await pool.fetchval("select count(*) from access_log")
        r = await c.get(f"/cases/{seeds.case}")
        assert r.status_code == 200
        assert await pool.fetchval("select count(*) from access_log") == before + 1
        assert await rows(pool, "kind like 'case.%'") == [
            ("shipo_jingban", "township_caseworker", "case.page", seeds.case, None, "198.51.100.41")
        ]
        at = await pool.fetchval("select at from access_log where kind = 'case.page'")
        assert at == await pool.fetchval("select max(at) from access_log")
        # a case of another township is refused and not logged as read
        assert (await c.get(f"/cases/{seeds.shunhe_case}")).status_code == 403
        pdf = await c.get(f"/cases/{seeds.case}/approval.pdf")
        assert pdf.status_code == 200
        assert await rows(pool, "kind like 'case.%'") == [
            ("shipo_jingban", "township_caseworker", "case.page", seeds.case, None, "198.51.100.41"),
            ("shipo_jingban", "township_caseworker", "case.pdf", seeds.case, None, "198.51.100.41"),
        ]


async def test_a_household_look_up_logs_a_keyed_hash_not_the_id_number_and_the_supervisor_finds_it(
    app, pool: asyncpg.Pool, seeds: Seeds
) -> None:
    async with asgi_client(app, "198.51.100.42") as c:
        headers = await bearer(c, "shipo_jingban")
        r = await c.post("/api/households/lookup", json={"id_number": seeds.person_id}, headers=headers)
        assert r.status_code == 200
    (row,) = await rows(pool, "kind = 'household.lookup'")
    username, role, kind, record, detail, ip = row
    assert (username, role, kind, detail, ip) == (
        "shipo_jingban",
        "township_caseworker",
        "household.lookup",
        mask_id(seeds.person_id),
        "198.51.100.42",
    )
    assert re.fullmatch(HOUSEHOLD_PREFIX + "[0-9a-f]{32}", record)
    dump = str([tuple(r) for r in await pool.fetch("select * from access_log")])
    assert seeds.person_id not in dump and seeds.person_id[6:14] not in dump

    async with asgi_client(app, "198.51.100.43") as sup:
        await page_log_in(sup, "qu_jiandu")
        by_user = await sup.get("/supervision/access-log", params={"user": "shipo_jingban"})
        assert by_user.status_code == 200 and "查询家庭信息" in by_user.text and "访问日志" in by_user.text
        assert f'data-record="{record}"' in by_user.text
        by_record = await sup.get("/supervision/access-log", params={"record": seeds.person_id})
        assert re.findall(r'data-kind="([^"]+)"', by_record.text) == ["household.lookup"]
        assert "共 1 条" in by_record.text
        # the form posts: the number typed in comes back as the log's reference, never in the address
        token = re.search(r'name="csrftoken" value="([^"]+)"', by_user.text).group(1)
        posted = await sup.post("/supervision/access-log", data={"record": seeds.person_id, "csrftoken": token})
        location = f"/supervision/access-log?record={quote(record)}"
        assert (posted.status_code, posted.headers["location"]) == (303, location)
        found = await sup.get(posted.headers["location"])
        assert re.findall(r'data-kind="([^"]+)"', found.text) == ["household.lookup"]
        assert seeds.person_id not in found.text
        nobody = await sup.get("/supervision/access-log", params={"user": "shipo_jingban", "kind": "case.page"})
        assert "没有符合条件的记录。" in nobody.text
        dated = await sup.get("/supervision/access-log", params={"from": "2000-01-01", "to": "2000-01-02"})
        assert "共 0 条" in dated.text


async def test_only_the_supervisor_opens_the_search(app) -> None:
    for user, status in (("shipo_jingban", 403), ("qu_minzheng", 403), ("admin", 403), ("qu_jiandu", 200)):
        async with asgi_client(app, "198.51.100.44") as c:
            await page_log_in(c, user)
            assert (await c.get("/supervision/access-log")).status_code == status, user


async def test_log_ins_are_logged_success_and_failure_with_the_name_tried(app, pool: asyncpg.Pool) -> None:
    async with asgi_client(app, "198.51.100.45") as c:
        assert (await page_log_in(c, "shipo_shenpi", "wrong-password")).status_code == 401
        assert (await page_log_in(c, "nobody_such", "wrong-password")).status_code == 401
        assert (await page_log_in(c, "shipo_shenpi")).status_code == 303
    assert await rows(pool, "kind like 'login.%'") == [
        ("shipo_shenpi", None, "login.failed", "shipo_shenpi", "bad_credentials", "198.51.100.45"),
        ("nobody_such", None, "login.failed", "nobody_such", "bad_credentials", "198.51.100.45"),
        ("shipo_shenpi", "township_approver", "login.ok", "shipo_shenpi", None, "198.51.100.45"),
    ]


async def test_the_log_is_append_only(pool: asyncpg.Pool) -> None:
    from db import access_log_repo

    row_id = await access_log_repo.record(pool, username="x", role=None, kind="login.ok", record="x")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("update access_log set username = 'y' where id = $1", row_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("delete from access_log where id = $1", row_id)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("truncate access_log")
    assert await pool.fetchval("select username from access_log where id = $1", row_id) == "x"
