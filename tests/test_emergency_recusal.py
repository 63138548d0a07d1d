"""Issue 15, point 6: recusal in emergency aid, through the HTTP API with a real worker. The staff register of near
relatives and the applicant's declared relatives (the review's relatives check) apply to registering, approving
and paying: a village cadre can no longer pay their own relative."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest

from db import relatives_repo
from schemas.emergency import emergency_workflow_id
from tests.support.clients import login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.codec import from_json, sealed_for
from tests.support.codec import payload as clear_payload
from tests.support.emergency import TOWNSHIP, VILLAGE, fund
from tests.support.factories import resident_id

pytestmark = pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday

PERSON = resident_id(date(1980, 2, 2), seq=711)
SHENPI_ID = resident_id(date(1978, 3, 3), seq=133)  # shipo_shenpi's own ID number


def body(event_id: str, **more: Any) -> dict[str, Any]:
    household = {
        "name": "孙七",
        "id_number": PERSON,
        "township_code": TOWNSHIP,
        "village_code": VILLAGE,
        "address": "示范村一 孙家岗 7 号",
        "members": 3,
    }
    return {"event_id": event_id, "kind": "fire", "description": "房屋失火", "household": household} | more


async def post(web: httpx.AsyncClient, user: str, url: str, json: dict[str, Any]) -> httpx.Response:
    return await web.post(url, json=json, headers=await login(web, user))


async def state(web: httpx.AsyncClient, event_id: str) -> dict[str, Any]:
    return (await web.get(f"/api/emergencies/{event_id}", headers=await login(web, "shipo_jingban"))).json()["state"]


@pytest.mark.web(temporal="review_env")
async def test_a_cadre_related_by_the_register_neither_registers_nor_pays(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    async with pool.acquire() as conn:
        cadre_id = await conn.fetchval("select id from users where username = 'shipo_cun1'")
        await relatives_repo.add_relative(conn, cadre_id, name="孙七", id_number=PERSON, relation="兄弟姐妹")

    r = await post(web, "shipo_cun1", "/api/emergencies", body("REC-1"))
    assert (r.status_code, r.json()) == (
        403,
        {"code": "recused", "message": "您与求助人家庭存在近亲属关系，依规应当回避，不能登记该急难事件"},
    )
    assert await pool.fetchval("select count(*) from emergencies") == 0

    r = await post(web, "shipo_jingban", "/api/emergencies", body("REC-1"))
    assert r.status_code == 201, r.text
    s = await state(web, "REC-1")
    assert s["barred_staff"] == ["shipo_cun1"]
    matched = next(e for e in s["log"] if e["kind"] == "relatives_matched")
    assert matched["summary"] == (
        "近亲属备案比对命中：石婆店镇示范村一 村干部 刘芳（近亲属备案：孙七（兄弟姐妹））；"
        "相关人员回避，不得审批、发放本事件的救助"
    )
    act = "/api/emergencies/REC-1/actions/"
    for action, payload in (
        ("approve", {"tier": "village", "amount": "500"}),
        ("escalate", {"reason": "资金不足"}),
        ("close", {"summary": "结束"}),
    ):
        r = await post(web, "shipo_cun1", act + action, payload)
        assert (r.status_code, r.json()) == (
            403,
            {"code": "recused", "message": "您与求助人家庭存在近亲属关系，依规应当回避，不能办理该急难事件"},
        ), action
    assert await pool.fetchval("select count(*) from aid_payments") == 0
    # the detail page offers the related cadre no form
    page = await web.get("/emergencies/REC-1", headers=await login(web, "shipo_cun1"))
    assert page.status_code == 200 and 'action="/emergencies/REC-1/approve"' not in page.text


@pytest.mark.web(temporal="review_env")
async def test_declared_relatives_bar_the_approver_and_a_namesake_is_settled(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    await fund(pool, TOWNSHIP, "5000")
    await pool.execute("update users set id_number = $1 where username = 'shipo_shenpi'", SHENPI_ID)
    declared = [
        {"staff_name": "张某", "relation": "兄弟姐妹", "id_number": SHENPI_ID},  # the number decides, not the name
        {"staff_name": "王强", "relation": "子女"},  # a namesake of shipo_diaocha
        {"staff_name": "钱八", "relation": "配偶", "workplace": "区医保局"},  # no account: filed
    ]
    r = await post(web, "shipo_cun1", "/api/emergencies", body("REC-2", declared_relatives=declared))
    assert r.status_code == 201, r.text
    s = await state(web, "REC-2")
    assert s["barred_staff"] == ["shipo_shenpi"]
    assert [(n["username"], n["resolution"]) for n in s["namesakes"]] == [("shipo_diaocha", "pending")]
    assert [(f["staff_name"], f["relation"]) for f in s["relatives_filed"]] == [("钱八", "配偶")]

    act = "/api/emergencies/REC-2/actions/"
    r = await post(web, "shipo_cun1", act + "approve", {"tier": "village", "amount": "1000"})
    assert (r.status_code, r.json()["total"]) == (200, "1000.00")
    assert (await post(web, "shipo_cun1", act + "escalate", {"reason": "治疗费用较大"})).status_code == 200
    r = await post(web, "shipo_shenpi", act + "approve", {"tier": "township", "amount": "800"})
    assert (r.status_code, r.json()["code"]) == (403, "recused")
    # nor may they read the event's whole payloads through the Temporal Web UI's codec; the caseworker may
    sealed = sealed_for(emergency_workflow_id("REC-2"))
    r = await post(web, "shipo_shenpi", "/api/codec/decode", sealed)
    assert (r.status_code, r.json()["code"]) == (403, "recused")
    r = await post(web, "shipo_jingban", "/api/codec/decode", sealed)
    assert r.status_code == 200 and from_json(r.json()) == [clear_payload("王大山 341503196803020014")]

    resolve = {"username": "shipo_diaocha", "same_person": True, "note": "本人承认"}
    r = await post(web, "shipo_cun1", act + "resolve_namesake", resolve)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    r = await post(web, "shipo_diaocha", act + "resolve_namesake", resolve)
    assert (r.status_code, r.json()["code"]) == (403, "recused")  # not about oneself
    r = await post(web, "shipo_jingban", act + "resolve_namesake", resolve)
    assert r.status_code == 200 and r.json()["log_key"].endswith("-relatives_matched")
    r = await post(web, "shipo_jingban", act + "resolve_namesake", resolve)
    assert (r.status_code, r.json()["code"]) == (422, "invalid")  # settled already
    s = await state(web, "REC-2")
    assert s["barred_staff"] == ["shipo_diaocha", "shipo_shenpi"]
    r = await post(web, "shipo_diaocha", act + "documents", {"items": ["病历"]})
    assert (r.status_code, r.json()["code"]) == (403, "recused")
    r = await post(web, "shipo_jingban", act + "documents", {"items": ["病历"]})
    assert r.status_code == 200
    assert [
        p["approved_by"]
        for p in (await web.get("/api/emergencies/REC-2", headers=await login(web, "qu_minzheng"))).json()["payments"]
    ] == ["shipo_cun1"]
