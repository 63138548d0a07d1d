"""The relatives check and the home visit's team through the HTTP API and the pages, with a real worker on the
time-skipping server: a declared ID number bars its owner, a namesake is a warning the caseworker settles on the
case page, the intake form checks the relative's ID number, and the investigators are resolved by the server."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest

from schemas.identity import mask_id
from tests.support.clients import SHIPO_VILLAGE, csrf_token, log_in, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import application, resident_id

pytestmark = pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday

DIAOCHA_ID = resident_id(date(1979, 4, 5), seq=131)  # shipo_diaocha's own ID number


async def accept(web: httpx.AsyncClient, case_id: str, declared: list[dict[str, Any]]) -> dict[str, Any]:
    """Accept a case through the API; returns its detail once it is under investigation."""
    body = application(case_id).model_dump(mode="json") | {"declared_relatives": declared}
    headers = await login(web, "shipo_jingban")
    r = await web.post("/api/cases", json=body, headers=headers)
    assert r.status_code in (201, 202), r.text
    for _ in range(200):
        r = await web.get(f"/api/cases/{case_id}", headers=headers)  # 404 until the workflow writes the row
        if r.status_code == 200 and r.json()["state"] and r.json()["state"]["stage"] == "investigation":
            return r.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_id} never reached the investigation")


async def post(web: httpx.AsyncClient, user: str, url: str, body: dict[str, Any]) -> httpx.Response:
    return await web.post(url, json=body, headers=await login(web, user))


@pytest.mark.web(temporal="review_env")
async def test_declared_id_number_bars_and_a_namesake_is_settled_through_the_api(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await pool.execute("update users set id_number = $1 where username = 'shipo_diaocha'", DIAOCHA_ID)
    bad = DIAOCHA_ID[:17] + ("0" if DIAOCHA_ID[17] != "0" else "1")
    body = application("API-REL-0").model_dump(mode="json")
    body["declared_relatives"] = [{"staff_name": "王强", "relation": "子女", "id_number": bad}]
    r = await web.post("/api/cases", json=body, headers=await login(web, "shipo_jingban"))
    assert r.status_code == 422 and r.json()["code"] == "invalid"
    assert "身份证号码校验位错误" in r.json()["message"]

    detail = await accept(
        web,
        "API-REL-1",
        [
            {"staff_name": "王某", "relation": "子女", "id_number": DIAOCHA_ID},  # the number decides, not the name
            {"staff_name": "赵磊", "relation": "兄弟姐妹", "workplace": "顺河镇"},
        ],
    )
    state = detail["state"]
    assert state["barred_staff"] == ["shipo_diaocha"]
    assert [(n["username"], n["resolution"]) for n in state["namesakes"]] == [("shunhe_jingban", "pending")]
    assert state["district_visit_required"] and detail["case"]["relatives_match"]
    base = "/api/cases/API-REL-1"
    r = await post(web, "shipo_diaocha", f"{base}/actions/missing_materials", {"items": ["户口簿"]})
    assert (r.status_code, r.json()["code"]) == (403, "recused")

    r = await post(web, "shipo_cun1", f"{base}/namesakes/shunhe_jingban", {"same_person": True})
    assert r.status_code == 403 and r.json() == {
        "code": "wrong_role",
        "message": "同名提示须由乡镇经办人或区民政局工作人员核实，您是村（社区）干部",
    }
    r = await post(web, "shipo_jingban", f"{base}/namesakes/shunhe_jingban", {"same_person": True, "note": "本人承认"})
    assert r.status_code == 200 and r.json()["event_key"].endswith("-relatives_matched")
    r = await web.get(base, headers=await login(web, "shipo_jingban"))
    assert r.json()["state"]["barred_staff"] == ["shipo_diaocha", "shunhe_jingban"]
    refused = await pool.fetch("select username, action, code from refused_actions where case_id = 'API-REL-1'")
    assert [tuple(r) for r in refused] == [("shipo_diaocha", "missing_materials", "recused")]
    await log_in(web, "qu_jiandu")  # the supervisor's conflicts page: everyone barred, at acceptance and since
    conflicts = (await web.get("/supervision/conflicts")).text
    row = re.search(r'<tr data-case="API-REL-1".*?</tr>', conflicts, re.S)[0]
    barred = re.sub(r"<[^>]+>|\s+", "", row)
    assert "石婆店镇经办人王强（申请人申报的近亲属（子女），身份证号码一致）" in barred
    assert "顺河镇经办人赵磊（申请人申报的近亲属（兄弟姐妹），经核实为本人）" in barred


@pytest.mark.web(temporal="review_env")
async def test_the_case_page_shows_the_warning_and_the_caseworker_confirms_it(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await accept(
        web,
        "PAGE-REL-1",
        [
            {"staff_name": "王强", "relation": "兄弟姐妹"},
            {"staff_name": "王村官", "relation": "子女", "workplace": "示范村一村委会", "id_number": DIAOCHA_ID},
        ],
    )
    await log_in(web, "shipo_cun1")  # a village cadre sees the warning, and may not settle it
    page = (await web.get("/cases/PAGE-REL-1")).text
    assert "同名提示" in page and "待经办人核实" in page and "是本人（回避）" not in page
    masked = DIAOCHA_ID[:6] + "********" + DIAOCHA_ID[-4:]
    filed = re.search(r'data-testid="filed-relatives">(.*?)</ul>', page, re.S)[1]
    assert re.sub(r"<[^>]+>", "", filed) == f"王村官（子女，示范村一村委会） {masked}"

    # the user the warning names is kept away until it is settled: whole ID numbers masked for them
    applicant_id = await pool.fetchval(
        "select m.id_number from household_members m join cases c on c.household_id = m.household_id "
        "where c.case_id = 'PAGE-REL-1' and m.name = c.applicant_name"
    )
    await log_in(web, "shipo_diaocha")
    page = (await web.get("/cases/PAGE-REL-1")).text
    assert mask_id(applicant_id) in page and applicant_id not in page

    await log_in(web, "shipo_jingban")
    page = await web.get("/cases/PAGE-REL-1")
    assert applicant_id in page.text
    warning = re.search(r'<li data-namesake="shipo_diaocha">(.*?)</li>', page.text, re.S)[1]
    assert "与申请人申报的近亲属 王强（兄弟姐妹）同名" in warning and "不是本人" in warning
    assert 'name="investigators" value="shipo_diaocha"' in page.text  # not barred yet: offered
    r = await web.post(
        "/cases/PAGE-REL-1/namesakes/shipo_diaocha",
        data={"csrftoken": csrf_token(page.text), "same_person": "yes", "note": ""},
    )
    assert (r.status_code, r.headers["location"]) == (303, "/cases/PAGE-REL-1?done=namesake#relatives")
    page = await web.get("/cases/PAGE-REL-1")
    assert "经核实是本人，已回避" in page.text and "申请人申报的近亲属（兄弟姐妹），经核实为本人" in page.text
    assert 'name="investigators" value="shipo_diaocha"' not in page.text  # barred: no longer offered
    r = await web.post(
        "/cases/PAGE-REL-1/namesakes/shipo_diaocha",
        data={"csrftoken": csrf_token(page.text), "same_person": "no"},
    )
    assert r.status_code == 422 and "关于 shipo_diaocha 的同名提示已核实" in r.text
    assert await pool.fetchval("select barred_users from cases where case_id = 'PAGE-REL-1'") == ["shipo_diaocha"]


@pytest.mark.web(temporal="review_env")
async def test_home_visit_team_is_checked_by_role_and_place(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    detail = await accept(web, "API-TEAM-1", [])
    today = detail["state"]["clock"]["accepted_on"]
    url = "/api/cases/API-TEAM-1/actions/home_visit"
    visit = {"visited_on": today, "family_signatures": ["王大山"], "findings": "家中无劳动力，房屋简陋"}
    refusals = [
        (
            {"investigators": ["shipo_jingban", "shipo_cun1"]},
            "incomplete",
            "入户调查至少需要 2 名调查人员，现为 1 名（村（社区）干部只能协助，不计入调查人员："
            "石婆店镇示范村一 村干部 刘芳（shipo_cun1））",
        ),
        (
            {"investigators": ["shipo_jingban", "qu_jiandu"]},
            "invalid",
            "区监督员 周敏（qu_jiandu）是区民政局监督员，不能担任调查人员（调查人员须为乡镇经办人或区民政局工作人员）",
        ),
        (
            {"investigators": ["shipo_jingban", "shipo_shenpi"]},
            "invalid",
            "石婆店镇审批人 张华（shipo_shenpi）是乡镇审批人，不能担任调查人员"
            "（调查人员须为乡镇经办人或区民政局工作人员）",
        ),
        (
            {"investigators": ["shipo_jingban", "admin"]},
            "invalid",
            "系统管理员（admin）是系统管理员，不能担任调查人员（调查人员须为乡镇经办人或区民政局工作人员）",
        ),
        (
            {"investigators": ["shipo_jingban", "nobody"]},
            "invalid",
            "调查人员须为本系统在职工作人员（填写用户名）：nobody",
        ),
        (  # what the client says of the users is ignored: the server looks them up
            {
                "investigators": ["shipo_jingban", "qu_jiandu"],
                "investigator_staff": [
                    {"username": "qu_jiandu", "full_name": "x", "role": "township_caseworker", "place_code": "341503"}
                ],
            },
            "invalid",
            "区监督员 周敏（qu_jiandu）是区民政局监督员，不能担任调查人员（调查人员须为乡镇经办人或区民政局工作人员）",
        ),
    ]
    for team, code, message in refusals:
        r = await post(web, "shipo_jingban", url, visit | team)
        assert (r.status_code, r.json()) == (422, {"code": code, "message": message}), team
    # A role that may not record a home visit is told so by the workflow, whoever it names.
    r = await post(web, "shipo_shenpi", url, visit | {"investigators": ["shipo_shenpi", "qu_jiandu"]})
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    assert await pool.fetchval("select count(*) from case_events where kind = 'home_visit'") == 0

    r = await post(
        web,
        "shipo_cun1",
        url,
        visit | {"investigators": ["shipo_jingban", "shipo_diaocha"], "assistants": ["shipo_cun1"]},
    )
    assert r.status_code == 200, r.text
    payload = await pool.fetchval("select payload from case_events where kind = 'home_visit'")
    assert (payload["investigators"], payload["assistants"]) == (["shipo_jingban", "shipo_diaocha"], ["shipo_cun1"])


async def test_intake_checks_the_relatives_id_number(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await log_in(web, "shipo_jingban")
    form = await web.get("/cases/new")
    assert 'name="relatives-__i__-id_number"' in form.text
    applicant = resident_id(date(1968, 3, 2), seq=201)
    data = {
        "csrftoken": csrf_token(form.text),
        "draft_id": "341503106-20261129-abcdef",
        "assistance_type": "dibao",
        "channel": "counter",
        "village_code": SHIPO_VILLAGE,
        "address": "王家庄 12 号",
        "hukou_type": "rural",
        "members-0-name": "王大山",
        "members-0-id_number": applicant,
        "members-0-relation": "self",
        "members-0-able_to_work": "no",
        "relatives-2-staff_name": "王强",
        "relatives-2-relation": "兄弟姐妹",
        "relatives-2-workplace": "石婆店镇",
        "relatives-2-id_number": "34150319790405131",
    }
    r = await web.post("/cases/new", data=data)
    assert r.status_code == 422
    error = re.search(r'data-error-for="relatives-2-id_number" role="alert">([^<]*)<', r.text)[1]
    assert error == "身份证号码应为18位，实际为17位"
    assert 'value="34150319790405131"' in r.text
    assert await pool.fetchval("select count(*) from cases") == 0
