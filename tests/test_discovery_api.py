"""Discovery over HTTP (issue 19, points 2-4): a bureau's list uploaded by its staff (CSV and Excel) and posted
by its system (the referral webhook's signature: a bad signature and a replayed nonce are 401), the tasks
within the township's jurisdiction only (another township's task is 403, ID numbers masked in lists, whole on the
task's own page), the outcome through the task's workflow, and the district's coverage."""

from __future__ import annotations

import base64
import io
import json
from datetime import date

import asyncpg
import httpx
import pytest
from openpyxl import Workbook

from schemas.identity import complete_resident_id, mask_id
from tests.support.clients import login
from tests.support.clock import DEFAULT_START
from tests.support.discovery import person, seed_households
from tests.support.frontdoor import bureau_signed

SHIPO, SHUNHE = "341503106", "341503104"
SECRET = "medical-shared-secret-2026"
PATH = "/api/discovery/bureaus/medical/lists"


def csv_list(rows: list[tuple[int, str, str]]) -> bytes:
    lines = ["身份证号,姓名,信号类别,信号日期,户籍乡镇代码"]
    lines += [f"{person(i)},测试{i},{kind},2026-11-20,{township}" for i, kind, township in rows]
    return "\n".join(lines).encode()


async def population(pool: asyncpg.Pool) -> None:
    """Persons 1-2: recipients in Shipo; 3-4: households of Shipo receiving nothing; 5: unknown (the bureau says
    Shunhe)."""
    await seed_households(pool, 1, 2, SHIPO, recipients=True, decided=DEFAULT_START)
    await seed_households(pool, 3, 2, SHIPO, recipients=False, decided=DEFAULT_START)


async def upload(web: httpx.AsyncClient, auth: dict, name: str, data: bytes, key: str) -> httpx.Response:
    body = {"filename": name, "content_base64": base64.b64encode(data).decode()}
    return await web.post("/api/discovery/lists", json=body, headers=auth | {"Idempotency-Key": key})


async def test_staff_upload_matches_and_tasks_stay_in_their_jurisdiction(web: httpx.AsyncClient, pool) -> None:
    await population(pool)
    bureau = await login(web, "yiliao_bu", session=False)
    data = csv_list(
        [(1, "大额医疗支出", ""), (2, "失业", ""), (3, "大额医疗支出", ""), (4, "困难学生", ""), (5, "受灾", SHUNHE)]
    )
    r = await upload(web, bureau, "医保局11月名单.csv", data, "disc-1")
    assert r.status_code == 201, r.text
    got = r.json()
    assert {k: got[k] for k in ("received", "assisted", "prompted", "tasked", "duplicates", "unplaced")} == {
        "received": 5,
        "assisted": 2,
        "prompted": 1,
        "tasked": 3,
        "duplicates": 0,
        "unplaced": 0,
    }
    shipo_tasks = [t for t in got["task_ids"]]
    assert len(shipo_tasks) == 3

    caseworker = await login(web, "shipo_jingban", session=False)
    listing = (await web.get("/api/discovery/tasks", headers=caseworker)).json()
    assert listing["total"] == 2
    assert sorted(t["id_number"] for t in listing["items"]) == sorted(mask_id(person(i)) for i in (3, 4))
    mine = listing["items"][0]["task_id"]
    detail = (await web.get(f"/api/discovery/tasks/{mine}", headers=caseworker)).json()
    assert detail["id_number"] in (person(3), person(4))

    other = await login(web, "shunhe_jingban", session=False)
    r = await web.get(f"/api/discovery/tasks/{mine}", headers=other)
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    assert (await web.get("/api/discovery/tasks", headers=other)).json()["total"] == 1
    r = await web.post(
        f"/api/discovery/tasks/{mine}/outcome",
        json={"outcome": "declined", "visited_on": "2026-11-24", "note": "本人拒绝"},
        headers=other | {"Idempotency-Key": "disc-o-1"},
    )
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    r = await web.get("/api/discovery/tasks", headers=bureau)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")

    # the same people again within 90 days, as Excel: no new task
    book = Workbook()
    sheet = book.active
    sheet.append(["身份证号", "姓名", "信号类别", "信号日期"])
    sheet.append([person(3), "测试3", "大额医疗支出", date(2026, 11, 21)])
    buf = io.BytesIO()
    book.save(buf)
    r = await upload(web, bureau, "补充名单.xlsx", buf.getvalue(), "disc-2")
    assert (r.status_code, r.json()["tasked"], r.json()["duplicates"]) == (201, 0, 1)

    officer = await login(web, "qu_minzheng", session=False)
    rows = {c["township_code"]: c for c in (await web.get("/api/discovery/coverage", headers=officer)).json()}
    assert {k: rows[SHIPO][k] for k in ("received", "assisted", "prompted", "tasked", "duplicates")} == {
        "received": 5,
        "assisted": 2,
        "prompted": 1,
        "tasked": 2,
        "duplicates": 1,
    }
    assert (rows[SHUNHE]["received"], rows[SHUNHE]["tasked"]) == (1, 1)
    r = await web.get("/api/discovery/coverage", headers=caseworker)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")


async def test_a_bad_list_is_refused_whole_with_its_rows_named(web: httpx.AsyncClient, pool) -> None:
    bureau = await login(web, "yiliao_bu", session=False)
    rows = [
        "身份证号,姓名,信号类别,信号日期",
        "12345,张三,大额医疗支出,2026-11-20",
        f"{person(1)},李四,中彩票,2026-11-20",
    ]
    data = "\n".join(rows).encode()
    r = await upload(web, bureau, "bad.csv", data, "disc-bad")
    assert r.status_code == 422
    assert r.json() == {
        "code": "invalid",
        "message": "第 2 行：身份证号码应为18位，实际为5位；第 3 行：信号类别「中彩票」不是可识别的类别",
    }
    assert await pool.fetchval("select count(*) from discovery_lists") == 0


def wrong_check(id_number: str) -> str:
    """`id_number` with another check character: right shape, right birth date, wrong GB 11643 checksum."""
    return id_number[:17] + ("1" if id_number[17] != "1" else "2")


async def post_signed(web: httpx.AsyncClient, signals: list[dict]) -> httpx.Response:
    """The medical-insurance bureau's system posts `signals`, signed with its endpoint's secret."""
    body = json.dumps({"signals": signals}).encode()
    headers = bureau_signed(SECRET, PATH, body) | {"content-type": "application/json"}
    return await web.post(PATH, content=body, headers=headers)


async def stored(pool: asyncpg.Pool) -> tuple[int, int, int]:
    return tuple(
        await pool.fetchrow(
            "select (select count(*) from discovery_lists), (select count(*) from discovery_signals), "
            "(select count(*) from discovery_tasks)"
        )
    )


async def test_an_uploaded_list_with_a_wrong_check_character_is_refused_whole(web: httpx.AsyncClient, pool) -> None:
    await population(pool)
    bureau = await login(web, "yiliao_bu", session=False)
    bad = wrong_check(person(4))
    rows = ["身份证号,姓名,信号类别,信号日期", f"{person(3)},测试3,失业,2026-11-20", f"{bad},测试4,失业,2026-11-20"]
    r = await upload(web, bureau, "名单.csv", "\n".join(rows).encode(), "disc-check")
    assert r.status_code == 422
    assert r.json() == {
        "code": "invalid",
        "message": f"第 3 行：身份证号码校验位错误：应为{person(4)[17]}，实际为{bad[17]}",
    }
    assert await stored(pool) == (0, 0, 0)  # not the good row either


async def test_a_signed_list_with_invalid_id_numbers_is_refused_whole_naming_the_items(
    web: httpx.AsyncClient, pool
) -> None:
    await population(pool)
    await pool.execute("insert into bureau_endpoints (bureau, url, secret) values ('medical', 'http://x', $1)", SECRET)
    bad_check = wrong_check(person(4))
    no_such_day = complete_resident_id("34150319400230001")  # 30 February, with its right check character
    items = [(person(3), "large_medical"), (bad_check, "unemployed"), (no_such_day, "unemployed")]
    r = await post_signed(
        web, [{"id_number": n, "name": "测试", "kind": k, "signal_on": "2026-11-20"} for n, k in items]
    )
    assert r.status_code == 422
    assert r.json() == {
        "code": "invalid",
        "message": f"第 2 条：身份证号码校验位错误：应为{person(4)[17]}，实际为{bad_check[17]}；"
        "第 3 条：身份证号码出生日期无效：19400230",
    }
    assert await stored(pool) == (0, 0, 0)


async def test_a_lower_case_x_is_accepted_and_matched_as_upper_case(web: httpx.AsyncClient, pool) -> None:
    """Person 7's check character is X: the list's lower-case x finds the household stored with X; a signed list
    names the kind by its code or its Chinese name."""
    assert person(7)[17] == "X"
    await seed_households(pool, 7, 2, SHIPO, recipients=False, decided=DEFAULT_START)
    bureau = await login(web, "yiliao_bu", session=False)
    rows = ["身份证号,姓名,信号类别,信号日期", f"{person(7).lower()},测试7,失业,2026-11-20"]
    r = await upload(web, bureau, "名单.csv", "\n".join(rows).encode(), "disc-x")
    assert (r.status_code, r.json()["tasked"], r.json()["unplaced"]) == (201, 1, 0), r.text
    await pool.execute("insert into bureau_endpoints (bureau, url, secret) values ('medical', 'http://x', $1)", SECRET)
    r = await post_signed(  # the kind by its Chinese name, as an uploaded list may give it (README)
        web, [{"id_number": person(7).lower(), "name": "测试7", "kind": "受灾", "signal_on": "2026-11-21"}]
    )
    assert (r.status_code, r.json()["tasked"], r.json()["unplaced"]) == (201, 1, 0), r.text
    rows = await pool.fetch("select id_number, kind, township_code from discovery_tasks order by signal_on")
    assert [tuple(t) for t in rows] == [(person(7), "unemployed", SHIPO), (person(7), "disaster", SHIPO)]
    assert await pool.fetchval("select count(*) from discovery_signals where id_number <> upper(id_number)") == 0


async def test_signed_api_refuses_bad_signature_and_replayed_nonce(web: httpx.AsyncClient, pool) -> None:
    await population(pool)
    await pool.execute("insert into bureau_endpoints (bureau, url, secret) values ('medical', 'http://x', $1)", SECRET)
    body = json.dumps(
        {"signals": [{"id_number": person(3), "name": "测试3", "kind": "large_medical", "signal_on": "2026-11-20"}]}
    ).encode()
    bad = bureau_signed("wrong-secret", PATH, body)
    r = await web.post(PATH, content=body, headers=bad | {"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    other_path = bureau_signed(SECRET, "/api/discovery/bureaus/education/lists", body)
    r = await web.post(PATH, content=body, headers=other_path | {"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    signed = bureau_signed(SECRET, PATH, body)
    r = await web.post(PATH, content=body, headers=signed | {"content-type": "application/json"})
    assert (r.status_code, r.json()["received"], r.json()["tasked"]) == (201, 1, 1)
    r = await web.post(PATH, content=body, headers=signed | {"content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (401, "replayed")
    unknown = "/api/discovery/bureaus/nobody/lists"
    r = await web.post(unknown, content=body, headers=bureau_signed(SECRET, unknown, body))
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    assert await pool.fetchval("select count(*) from discovery_lists") == 1


@pytest.mark.web(temporal="review_env")
async def test_outcome_through_the_api_reaches_the_workflow_and_the_coverage(web: httpx.AsyncClient, pool) -> None:
    await population(pool)
    bureau = await login(web, "yiliao_bu", session=False)
    r = await upload(web, bureau, "list.csv", csv_list([(3, "失业", "")]), "disc-w")
    [task_id] = r.json()["task_ids"]
    caseworker = await login(web, "shipo_jingban", session=False)
    from tests.support.workflows import eventually

    async def opened():
        t = (await web.get(f"/api/discovery/tasks/{task_id}", headers=caseworker)).json()
        return t if t["visit_due"] else None

    t = await eventually(opened, "task opened")
    assert (t["status"], t["visit_due"]) == ("open", "2026-12-08")  # 10 working days from Tuesday 11-24
    missing = {"outcome": "not_found", "visited_on": "2026-11-24", "note": ""}
    r = await web.post(
        f"/api/discovery/tasks/{task_id}/outcome", json=missing, headers=caseworker | {"Idempotency-Key": "o-1"}
    )
    assert (r.status_code, r.json()["code"]) == (409, "incomplete")
    visit = {"outcome": "applied", "visited_on": "2026-11-24", "note": "已指导提交低保申请"}
    r = await web.post(
        f"/api/discovery/tasks/{task_id}/outcome", json=visit, headers=caseworker | {"Idempotency-Key": "o-2"}
    )
    assert (r.status_code, r.json()["status"], r.json()["on_time"]) == (200, "done", True)
    officer = await login(web, "qu_minzheng", session=False)
    rows = {c["township_code"]: c for c in (await web.get("/api/discovery/coverage", headers=officer)).json()}
    assert (rows[SHIPO]["tasked"], rows[SHIPO]["visited_on_time"], rows[SHIPO]["applied"]) == (1, 1, 1)
