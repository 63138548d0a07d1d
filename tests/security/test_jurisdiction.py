"""Jurisdiction in what lists show, and role, jurisdiction and recusal checks that only a running workflow
makes (the matrix's `later` roles), through HTTP on real workflows."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest

from schemas.identity import mask_id, mask_phone
from tests.factories import application, resident_id
from tests.security.conftest import SHIPO, SHIPO_VILLAGE, World

# Everything of the 石婆店镇 seed rows that could identify them in a response.
LISTS = [
    "/api/cases",
    "/api/cases?page_size=200",
    "/api/verification-requests",
    "/api/emergencies",
    "/api/frontdoor/requests",
    "/api/referrals",
    "/api/complaints",
    "/cases",
    "/inbox",
    "/overdue",
    "/emergencies",
    "/frontdoor",
    "/frontdoor/complaints",
    "/bureau",
]


def shipo_markers(w: World) -> list[str]:
    s = w.seeds
    return [
        s.case,
        "石婆店申请人",
        s.event,
        "石婆店急难户",
        s.request_no,
        "石婆店求助人",
        s.referral,
        s.complaint,
        mask_id(s.person_id),
        s.person_id,
        s.person_phone,
        mask_phone(s.person_phone),
    ]


async def _get(w: World, user: str, url: str) -> tuple[int, str]:
    r = await w.http.get(url, headers=w.headers[user])
    w.http.cookies.clear()
    return r.status_code, r.text


async def test_lists_never_show_another_townships_rows(world: World) -> None:
    leaks = []
    for user in ("shunhe_jingban", "shunhe_shenpi", "shunhe_cun1", "jiaoyu_bu"):
        for url in LISTS:
            status, text = await _get(world, user, url)
            assert status in (200, 403), (user, url, status, text[:200])  # 403: the role has no such list
            leaks += [f"{user} {url}: {m}" for m in shipo_markers(world) if m in text]
    assert not leaks, "\n".join(leaks)


async def test_household_view_shows_nothing_of_another_township(world: World) -> None:
    """Typing an ID number of someone in 石婆店镇 tells a 顺河镇 caseworker only that records exist elsewhere."""
    person = world.seeds.person_id
    markers = [m for m in shipo_markers(world) if m not in (person, mask_id(person))]  # the ID is their own input
    leaks = []
    for user in ("shunhe_jingban", "shunhe_shenpi"):
        for status, text in (
            await _household(world, user, "/api/households/lookup", json={"id_number": person}),
            await _household(world, user, "/households", data={"id_number": person}),
        ):
            assert status == 200, (user, status)
            leaks += [f"{user}: {m}" for m in markers if m in text]
    assert not leaks, "\n".join(leaks)


async def test_the_same_lists_do_show_them_at_home(world: World) -> None:
    """The control: the markers above are really in the lists of 石婆店镇 (so their absence means something)."""
    seen = {
        url: text
        for url in ("/api/cases", "/api/emergencies", "/api/frontdoor/requests", "/api/complaints", "/cases")
        for _, text in [await _get(world, "shipo_jingban", url)]
    }
    assert world.seeds.case in seen["/api/cases"] and world.seeds.case in seen["/cases"]
    assert world.seeds.event in seen["/api/emergencies"]
    assert world.seeds.request_no in seen["/api/frontdoor/requests"]
    assert world.seeds.complaint in seen["/api/complaints"]
    _, referrals = await _get(world, "yiliao_bu", "/api/referrals")
    assert world.seeds.referral in referrals
    _, household = await _household(
        world, "shipo_jingban", "/api/households/lookup", json={"id_number": world.seeds.person_id}
    )
    assert "石婆店求助人" in household


async def test_a_bureau_sees_only_its_own_referrals(world: World) -> None:
    _, text = await _get(world, "jiaoyu_bu", "/api/referrals")
    assert world.seeds.referral not in text and world.seeds.shunhe_referral in text


# ---- checks only a running workflow makes, through HTTP ------------------------------------------------------


async def _household(w: World, user: str, url: str, **body: Any) -> tuple[int, str]:
    r = await w.http.post(url, headers=w.headers[user], **body)
    w.http.cookies.clear()
    return r.status_code, r.text


async def _post(w: World, user: str, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = await w.http.post(url, json=body, headers=w.headers[user])
    w.http.cookies.clear()
    return r.status_code, r.json()


async def _stage(w: World, case_id: str, stage: str) -> None:
    for _ in range(600):  # a minute: the case is accepted without waiting, and CI machines may be busy
        _, text = await _get(w, "qu_minzheng", f"/api/cases/{case_id}")
        if f'"stage":"{stage}"' in text.replace(" ", ""):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{case_id} never reached {stage}")


def _visit(user: str) -> dict[str, Any]:
    return {
        "visited_on": date.today().isoformat(),
        "investigators": [user, "shipo_diaocha"],
        "family_signatures": ["王大山"],
        "findings": "房屋老旧",
    }


@pytest.mark.timeout(300)
async def test_workflow_refuses_roles_through_http(world: World) -> None:
    """The roles the matrix lets through to the review workflow are refused there with 403, before any event."""
    body = application("SEC-WF-0001").model_dump(mode="json")
    status, created = await _post(world, "shipo_jingban", "/api/cases", body)
    assert status == 202, created
    await _stage(world, "SEC-WF-0001", "investigation")
    base = "/api/cases/SEC-WF-0001/actions"
    before = await world.pool.fetchval("select count(*) from case_events where case_id = 'SEC-WF-0001'")
    refused = {
        ("admin", "home_visit"): _visit("admin"),
        ("yiliao_bu", "home_visit"): _visit("yiliao_bu"),
        ("shipo_shenpi", "home_visit"): _visit("shipo_shenpi"),
        ("shipo_jingban", "verification_result"): {
            "verified_monthly_income": "600",
            "assets_within_limits": True,
            "findings": "核对无异常",
        },
        ("shipo_jingban", "take_over"): {"reason": "越权接管"},
        ("shipo_cun1", "missing_materials"): {"items": ["户口簿"]},
        ("yiliao_bu", "missing_materials"): {"items": ["户口簿"]},
        ("admin", "take_over"): {"reason": "越权接管"},
    }
    for (user, action), payload in refused.items():
        status, answer = await _post(world, user, f"{base}/{action}", payload)
        assert (status, answer["code"]) == (403, "wrong_role"), (user, action, answer)
    status, answer = await _post(world, "shunhe_jingban", f"{base}/missing_materials", {"items": ["户口簿"]})
    assert (status, answer["code"]) == (403, "out_of_jurisdiction")
    status, answer = await _post(world, "qu_jiandu", f"{base}/take_over", {"reason": "监督员不能办理"})
    assert (status, answer["code"]) == (403, "wrong_role")
    after = await world.pool.fetchval("select count(*) from case_events where case_id = 'SEC-WF-0001'")
    assert after == before, "a refused action must leave no event"


@pytest.mark.timeout(300)
async def test_a_staff_members_relative_bars_them_from_the_case(world: World) -> None:
    """Related-person manipulation: the register names a household member, so that caseworker is recused,
    by HTTP too, while a colleague may act; and a case page hides the register from nobody who may read."""
    app = application("SEC-WF-0002")
    relative = app.household.members[1]
    await world.pool.execute(
        "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
        "select id, $2, $3, '子女' from users where username = $1",
        "shipo_diaocha",
        relative.name,
        relative.id_number,
    )
    status, created = await _post(world, "shipo_jingban", "/api/cases", app.model_dump(mode="json"))
    assert status == 202, created
    await _stage(world, "SEC-WF-0002", "investigation")
    status, answer = await _post(
        world, "shipo_diaocha", "/api/cases/SEC-WF-0002/actions/missing_materials", {"items": ["户口簿"]}
    )
    assert (status, answer["code"]) == (403, "recused"), answer
    status, answer = await _post(
        world, "shipo_jingban", "/api/cases/SEC-WF-0002/actions/missing_materials", {"items": ["户口簿"]}
    )
    assert status == 200, answer
    # A barred investigator cannot be named on someone else's home visit either.
    visit = _visit("shipo_jingban")
    status, answer = await _post(world, "shipo_jingban", "/api/cases/SEC-WF-0002/actions/materials_supplied", {})
    assert status == 200, answer
    status, answer = await _post(world, "shipo_jingban", "/api/cases/SEC-WF-0002/actions/home_visit", visit)
    assert status in (403, 409, 422) and answer["code"] != "ok", answer


@pytest.mark.timeout(300)
async def test_emergency_workflow_refuses_roles_through_http(world: World) -> None:
    hh = {
        "name": "赵六",
        "id_number": resident_id(date(1975, 6, 1), seq=611),
        "township_code": SHIPO,
        "village_code": SHIPO_VILLAGE,
        "address": "示范村一 赵家湾 3 号",
        "members": 4,
    }
    status, created = await _post(
        world,
        "shipo_cun1",
        "/api/emergencies",
        {"event_id": "JJN-SEC-WF-0001", "kind": "fire", "description": "夜间房屋失火", "household": hh},
    )
    assert status == 201, created
    base = "/api/emergencies/JJN-SEC-WF-0001/actions"
    for user, action, body in [
        ("admin", "approve", {"tier": "village", "amount": "100.00"}),
        ("yiliao_bu", "approve", {"tier": "village", "amount": "100.00"}),
        ("shipo_jingban", "approve", {"tier": "village", "amount": "100.00"}),
        ("yiliao_bu", "documents", {"items": ["病历"]}),
        ("admin", "close", {"summary": "越权办结"}),
    ]:
        status, answer = await _post(world, user, f"{base}/{action}", body)
        assert (status, answer["code"]) == (403, "wrong_role"), (user, action, answer)
    status, answer = await _post(world, "shunhe_cun1", f"{base}/approve", {"tier": "village", "amount": "100.00"})
    assert (status, answer["code"]) == (403, "out_of_jurisdiction")
    assert await world.pool.fetchval("select count(*) from aid_payments where event_id = 'JJN-SEC-WF-0001'") == 0
