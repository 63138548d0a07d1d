"""The HTTP API on the embedded PostgreSQL: login, tokens, jurisdiction, refusals and list filters.

Case rows are inserted directly (the workflow writes them in production), so most tests need no
Temporal server; those that check how the API reports a missing workflow use the time-skipping one.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from db.users_repo import DEMO_PASSWORD
from tests.support.clients import SHIPO, SHIPO_VILLAGE, SHUNHE, app_client, asgi_client, insert_case, login
from tests.support.factories import application
from webapp.app import create_app

UNAUTHENTICATED = {"code": "unauthenticated", "message": "请先登录"}


# ---- login, session, token ---------------------------------------------------------------------


async def test_login_me_and_logout(web: httpx.AsyncClient) -> None:
    r = await web.post("/api/auth/login", json={"username": "shipo_jingban", "password": DEMO_PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token"] and body["user"]["role"] == "township_caseworker"
    assert body["user"]["place_name"] == "石婆店镇" and body["user"]["role_label"] == "乡镇经办人"
    assert "jiuzhu_session" in r.headers["set-cookie"] and "httponly" in r.headers["set-cookie"].lower()

    me = await web.get("/api/me")
    assert me.status_code == 200 and me.json()["username"] == "shipo_jingban"

    assert (await web.post("/api/auth/logout")).status_code == 204
    after = await web.get("/api/me")
    assert after.status_code == 401
    assert after.json() == {"code": "unauthenticated", "message": "请先登录"}


@pytest.mark.parametrize("username, password", [("shipo_jingban", "wrong-password"), ("nobody", DEMO_PASSWORD)])
async def test_login_failure_sets_no_session(web: httpx.AsyncClient, username: str, password: str) -> None:
    r = await web.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 401
    assert r.json() == {"code": "bad_credentials", "message": "用户名或密码错误"}
    assert (await web.get("/api/me")).status_code == 401


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/me"),
        ("GET", "/api/cases"),
        ("GET", "/api/cases/A0001"),
        ("GET", "/api/verification-requests"),
        ("POST", "/api/calendar/changed"),
        ("POST", "/api/cases/A0001/actions/take_over"),
    ],
)
async def test_401_without_credentials(web: httpx.AsyncClient, method: str, path: str) -> None:
    r = await web.request(method, path, json={"reason": "超期接管"} if method == "POST" else None)
    assert r.status_code == 401
    assert r.json() == {"code": "unauthenticated", "message": "请先登录"}


async def test_bearer_token_works_without_cookie_and_expires(pool: asyncpg.Pool) -> None:
    async with app_client(pool) as browser:
        headers = await login(browser, "qu_minzheng")
        old = await login(browser, "qu_minzheng")
    # The second session was opened 12 hours ago (sessions are timed by the database's clock).
    await pool.execute(
        "update sessions set created_at = now() - interval '12 hours 1 second' where token_hash = $1",
        hashlib.sha256(old["Authorization"].removeprefix("Bearer ").encode()).digest(),
    )
    async with app_client(pool) as script:
        me = await script.get("/api/me", headers=headers)
        assert (me.status_code, me.json()["username"]) == (200, "qu_minzheng")
        tampered = {"Authorization": headers["Authorization"][:-2] + "xx"}
        for refused in (tampered, old, {"Authorization": "Basic abc"}):
            r = await script.get("/api/me", headers=refused)
            assert (r.status_code, r.json()) == (401, UNAUTHENTICATED), refused


async def test_token_of_a_deactivated_user_is_refused(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    headers = await login(web, "shipo_jingban")
    assert (await web.get("/api/me", headers=headers)).status_code == 200
    await pool.execute("update users set active = false where username = 'shipo_jingban'")
    for r in (await web.get("/api/me", headers=headers), await web.get("/api/me")):  # the session cookie too
        assert (r.status_code, r.json()) == (401, UNAUTHENTICATED)


async def test_secret_key_persisted_in_var_dir(pool: asyncpg.Pool, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("JIUZHU_SECRET_KEY", raising=False)
    monkeypatch.setenv("JIUZHU_VAR", str(tmp_path / "var"))
    tokens = []
    for _ in range(2):  # two processes (apps) on the same var/ accept each other's tokens
        app = create_app(pool)
        async with asgi_client(app) as c:
            tokens.append(await login(c, "admin"))
            assert (await c.get("/api/me", headers=tokens[0])).status_code == 200
    key = tmp_path / "var" / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text()) > 40


# ---- jurisdiction -------------------------------------------------------------------------------


async def test_lists_and_reads_only_within_jurisdiction(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await insert_case(pool, "SP-1", SHIPO, village=SHIPO_VILLAGE)
    await insert_case(pool, "SP-2", SHIPO)
    await insert_case(pool, "SH-1", SHUNHE)

    async def visible(username: str) -> list[str]:
        r = await web.get("/api/cases", headers=await login(web, username))
        assert r.status_code == 200, r.text
        return sorted(i["case_id"] for i in r.json()["items"])

    assert await visible("shipo_jingban") == ["SP-1", "SP-2"]
    assert await visible("shunhe_jingban") == ["SH-1"]
    assert await visible("shipo_cun1") == ["SP-1"]
    assert await visible("qu_minzheng") == ["SH-1", "SP-1", "SP-2"]
    assert await visible("qu_jiandu") == ["SH-1", "SP-1", "SP-2"]

    shipo = await login(web, "shipo_jingban")
    r = await web.get("/api/cases/SH-1", headers=shipo)
    assert r.status_code == 403 and r.json()["code"] == "out_of_jurisdiction"
    r = await web.get("/api/cases?township=341503104", headers=shipo)
    assert r.json()["items"] == []  # a filter never widens the jurisdiction
    cadre = await login(web, "shipo_cun1")
    r = await web.get("/api/cases/SP-2", headers=cadre)  # a case without a village is the township's
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")

    bureau = await login(web, "yiliao_bu")
    for path in ("/api/cases", "/api/cases/SP-1", "/api/verification-requests"):
        r = await web.get(path, headers=bureau)
        assert r.status_code == 403 and r.json()["code"] == "wrong_role", path


async def test_a_second_district_is_outside_the_first_districts_lists(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """The district that holds every place reads its lists without the prefix test (webapp.review.cases.jurisdiction);
    once another district shares the database, the test is back and its cases stay out."""
    await insert_case(pool, "SP-1", SHIPO)
    await pool.execute(
        "insert into places (code, name, level, kind, parent_code) values "
        "('341502', '金安区', 'district', '区', null), ('341502001', '城北镇', 'township', '镇', '341502')"
    )
    await insert_case(pool, "JA-1", "341502001")
    officer = await login(web, "qu_minzheng")
    r = await web.get("/api/cases", headers=officer)
    assert [i["case_id"] for i in r.json()["items"]] == ["SP-1"] and r.json()["total"] == 1
    await pool.execute("delete from cases where case_id = 'JA-1'")
    await pool.execute("delete from places where code in ('341502001', '341502')")
    r = await web.get("/api/cases", headers=officer)
    assert [i["case_id"] for i in r.json()["items"]] == ["SP-1"]


async def test_unknown_case_is_404(web: httpx.AsyncClient) -> None:
    r = await web.get("/api/cases/NO-SUCH-CASE", headers=await login(web, "qu_minzheng"))
    assert r.status_code == 404
    assert r.json() == {"code": "not_found", "message": "案件不存在"}


@pytest.mark.web(temporal="ts_env")
async def test_case_detail_when_workflow_is_gone(
    web: httpx.AsyncClient, pool: asyncpg.Pool, ts_env: WorkflowEnvironment
) -> None:
    """The database row and event log are shown even when Temporal no longer has the workflow."""
    await insert_case(pool, "SP-OLD", SHIPO, deadline=date(2026, 10, 22))
    await pool.execute(
        "insert into case_events (case_id, event_key, kind, stage, actor, occurred_at) values "
        "('SP-OLD', '0002-b', 'verification_requested', 'investigation', null, '2026-09-18T10:00+08'), "
        "('SP-OLD', '0001-a', 'accepted', 'accepted', 'shipo_jingban', '2026-09-18T10:00+08')"
    )
    r = await web.get("/api/cases/SP-OLD", headers=await login(web, "shipo_jingban"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] is None
    assert body["case"]["stage_label"].startswith("调查核实") and body["case"]["deadline"] == "2026-10-22"
    assert [e["event_key"] for e in body["events"]] == ["0002-b", "0001-a"]  # same time: insertion order
    assert body["temporal_ui_url"].endswith(f"/namespaces/{ts_env.client.namespace}/workflows/review-SP-OLD")


# ---- refusals before the workflow is called -------------------------------------------------------


@pytest.mark.web(temporal="ts_env")
async def test_supervisor_is_read_only(web: httpx.AsyncClient, pool: asyncpg.Pool, ts_env: WorkflowEnvironment) -> None:
    await insert_case(pool, "SP-1", SHIPO)
    visit = {
        "visited_on": "2026-09-20",
        "investigators": ["qu_jiandu", "qu_minzheng"],
        "family_signatures": ["王大山"],
        "findings": "家中陈设简陋",
    }
    headers = await login(web, "qu_jiandu")
    r = await web.post("/api/cases/SP-1/actions/home_visit", json=visit, headers=headers)
    assert r.status_code == 403
    assert r.json() == {"code": "wrong_role", "message": "监督员只能查看案件，不能办理"}
    assert await pool.fetchval("select count(*) from case_events") == 0
    r = await web.get("/api/cases/SP-1", headers=headers)  # but may read (the row; no workflow runs it here)
    assert (r.status_code, r.json()["case"]["case_id"], r.json()["state"]) == (200, "SP-1", None)


async def test_action_body_is_validated_with_chinese_messages(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await insert_case(pool, "SP-1", SHIPO)
    headers = await login(web, "shipo_shenpi")
    r = await web.post(
        "/api/cases/SP-1/actions/decision", json={"approve": True, "monthly_amount": "1.234"}, headers=headers
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid" and r.json()["message"] == "monthly_amount：金额最多两位小数"
    r = await web.post("/api/cases/SP-1/actions/decision", json={"approve": "maybe"}, headers=headers)
    assert r.status_code == 422 and r.json()["message"] == "approve：应为是/否"
    r = await web.post(
        "/api/cases/SP-1/actions/decision", json={"approve": True, "actor": {"username": "x"}}, headers=headers
    )
    # `actor` in the body is ignored; it gets as far as calling Temporal, which this app has none of
    assert (r.status_code, r.json()) == (
        503,
        {"code": "temporal_unavailable", "message": "工作流服务暂不可用，请稍后再试"},
    )
    r = await web.post("/api/cases/SP-1/actions/escalate", json={}, headers=headers)
    assert r.status_code == 404 and r.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "investigators, message",
    [
        (["shipo_jingban", "王强"], "调查人员须为本系统在职工作人员（填写用户名）：王强"),
        (
            ["shipo_jingban", "shunhe_diaocha"],
            "顺河镇经办人 孙燕（shunhe_diaocha）不负责该案件所在地，不能参加本案入户调查",
        ),
    ],
)
async def test_home_visit_investigators_must_be_staff_of_the_place(
    web: httpx.AsyncClient, pool: asyncpg.Pool, investigators: list[str], message: str
) -> None:
    await insert_case(pool, "SP-1", SHIPO, village=SHIPO_VILLAGE)
    visit = {
        "visited_on": "2026-09-20",
        "investigators": investigators,
        "family_signatures": ["王大山"],
        "findings": "x",
    }
    r = await web.post("/api/cases/SP-1/actions/home_visit", json=visit, headers=await login(web, "shipo_jingban"))
    assert r.status_code == 422
    assert r.json() == {"code": "invalid", "message": message}


@pytest.mark.web(temporal="ts_env")
async def test_actions_on_a_missing_workflow_answer_case_closed(
    web: httpx.AsyncClient, pool: asyncpg.Pool, ts_env: WorkflowEnvironment
) -> None:
    await insert_case(pool, "SP-1", SHIPO)
    r = await web.post(
        "/api/cases/SP-1/actions/take_over", json={"reason": "超期接管"}, headers=await login(web, "qu_minzheng")
    )
    assert r.status_code == 409
    assert r.json() == {"code": "case_closed", "message": "案件已办结，不能再操作"}


async def test_accept_rejects_bad_id_number_in_chinese(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    body = application("A-BAD-ID").model_dump(mode="json")
    body["household"]["members"][0]["id_number"] = "11010519491231002" + "1"  # check character should be X
    r = await web.post("/api/cases", json=body, headers=await login(web, "shipo_jingban"))
    assert r.status_code == 422
    err = r.json()
    assert err["code"] == "invalid"
    assert err["message"] == "身份证号码：身份证号码校验位错误：应为X，实际为1"  # the field named in Chinese
    assert err["errors"][0]["loc"] == ["body", "household", "members", 0, "id_number"]
    assert "110105194912310021" not in r.text  # the input is not echoed back
    assert await pool.fetchval("select count(*) from cases") == 0


@pytest.mark.parametrize(
    "username, township, village, status, code, message",
    [
        ("shipo_cun1", SHIPO, SHIPO_VILLAGE, 403, "wrong_role", "村（社区）干部不能受理申请"),
        ("qu_minzheng", SHIPO, SHIPO_VILLAGE, 403, "wrong_role", "只有乡镇（街道）经办人或审批人"),
        ("shunhe_jingban", SHIPO, SHIPO_VILLAGE, 403, "out_of_jurisdiction", "本乡镇"),
        ("shipo_jingban", SHIPO, "341503106299", 422, "invalid", "村（社区）代码不存在：341503106299"),
        ("shipo_jingban", "341503106", "341503106", 422, "invalid", "请选择村（社区）"),  # webapp/field_labels.py
    ],
)
async def test_accept_refused_before_anything_starts(
    web: httpx.AsyncClient, pool: asyncpg.Pool, username, township, village, status, code, message
) -> None:
    body = application("A-REFUSED").model_dump(mode="json")
    body["household"].update(township_code=township, village_code=village)
    r = await web.post("/api/cases", json=body, headers=await login(web, username))
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and message in r.json()["message"]
    assert await pool.fetchval("select count(*) from cases") == 0


async def test_unknown_township_code(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await pool.execute(
        "insert into users (username, full_name, role, place_code, password_hash) "
        "select 'x_jingban', '测试', 'township_caseworker', '341503', password_hash from users where username='admin'"
    )
    body = application("A-TOWN").model_dump(mode="json")
    body["household"].update(township_code="341503999", village_code=None)
    r = await web.post("/api/cases", json=body, headers=await login(web, "x_jingban"))
    assert r.status_code == 422 and r.json()["message"] == "乡镇（街道）代码不存在：341503999"


@pytest.mark.web(temporal="ts_env")
async def test_calendar_change_is_for_admins(
    web: httpx.AsyncClient, pool: asyncpg.Pool, ts_env: WorkflowEnvironment
) -> None:
    await insert_case(pool, "SP-1", SHIPO)
    await insert_case(pool, "SP-2", SHIPO, status="enrolled", stage="enrolled")
    r = await web.post("/api/calendar/changed", headers=await login(web, "qu_minzheng"))
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    r = await web.post("/api/calendar/changed", headers=await login(web, "admin"))
    assert r.status_code == 200
    assert r.json() == {"count": 0, "failed": ["SP-1"]}  # only open cases; this one has no workflow


# ---- list filters -------------------------------------------------------------------------------


async def test_list_filters_sorting_and_paging(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await insert_case(pool, "C1", SHIPO, name="王大山", deadline=date(2026, 10, 22))
    await insert_case(pool, "C2", SHIPO, name="王小明", deadline=date(2026, 10, 9), overdue=True, kind="tekun")
    await insert_case(pool, "C3", SHIPO, name="李四", stage="public_notice", deadline=None)
    await insert_case(
        pool,
        "C4",
        SHUNHE,
        name="王五",
        deadline=date(2026, 11, 2),
        accepted_at=datetime(2026, 10, 8, 17, 0, tzinfo=UTC),
    )
    headers = await login(web, "qu_minzheng")

    async def ids(query: str = "") -> list[str]:
        r = await web.get(f"/api/cases{query}", headers=headers)
        assert r.status_code == 200, r.text
        return [i["case_id"] for i in r.json()["items"]]

    assert await ids() == ["C2", "C1", "C4", "C3"]  # deadline ascending, none last
    assert await ids("?township=341503106") == ["C2", "C1", "C3"]
    assert await ids("?stage=public_notice") == ["C3"]
    assert await ids("?assistance_type=tekun") == ["C2"]
    assert await ids("?overdue=true") == ["C2"]
    assert await ids("?overdue=false") == ["C1", "C4", "C3"]
    assert await ids("?deadline_before=2026-10-22") == ["C2", "C1"]
    assert await ids("?accepted_from=2026-10-09") == ["C4"]  # 17:00 UTC on 10-08 is 10-09 in Beijing
    assert await ids("?accepted_to=2026-10-08") == ["C2", "C1", "C3"]
    assert await ids("?q=王") == ["C2", "C1", "C4"]
    assert await ids("?q=王小") == ["C2"]
    assert await ids("?q=王&township=341503106&overdue=false") == ["C1"]

    r = await web.get("/api/cases?page=2&page_size=3", headers=headers)
    assert r.json()["total"] == 4 and [i["case_id"] for i in r.json()["items"]] == ["C3"]
    item = (await web.get("/api/cases?q=李", headers=headers)).json()["items"][0]
    assert item["applicant_id_masked"] == "341503********0014" and item["township_name"] == "石婆店镇"
    assert item["stage_label"] == "公示"

    for bad in ("?page_size=201", "?stage=nowhere", "?deadline_before=2026-13-01", "?township=3415"):
        r = await web.get(f"/api/cases{bad}", headers=headers)
        assert r.status_code == 422 and r.json()["code"] == "invalid", bad


async def test_verification_queue(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await insert_case(pool, "SP-1", SHIPO)
    await insert_case(pool, "SP-2", SHIPO)
    await insert_case(pool, "SH-1", SHUNHE)
    await pool.execute(
        "insert into verification_requests (case_id, township_code, requested_at, adapter, status) values "
        "('SP-1', '341503106', '2026-09-18T10:00+08', 'database', 'requested'), "
        "('SP-2', '341503106', '2026-09-17T10:00+08', 'database', 'answered'), "
        "('SH-1', '341503104', '2026-09-19T10:00+08', 'database', 'requested')"
    )

    async def queue(username: str, query: str = "") -> list[str]:
        r = await web.get(f"/api/verification-requests{query}", headers=await login(web, username))
        assert r.status_code == 200, r.text
        return [i["case_id"] for i in r.json()["items"]]

    assert await queue("qu_minzheng") == ["SP-1", "SH-1"]  # requested only, oldest first
    assert await queue("qu_minzheng", "?status=answered") == ["SP-2"]
    assert await queue("shipo_jingban") == ["SP-1"]
