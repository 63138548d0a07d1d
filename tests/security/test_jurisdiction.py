"""Jurisdiction in what lists show, and role, jurisdiction and recusal checks that only a running workflow
makes (the matrix's `later` roles), through HTTP on real workflows."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import pytest

from schemas.identity import mask_id, mask_phone
from tests.security.conftest import SHIPO, SHIPO_VILLAGE, World
from tests.support.clock import beijing, on_day
from tests.support.factories import application, resident_id

# 16:30 UTC: Beijing is already on 12-04 while the machine's UTC date is still 12-03, so a date taken from the
# machine's clock would be refused. The seed rows are dated from this instant too (tests/security/conftest.py).
START = beijing(2026, 12, 4, 0, 30)
pytestmark = pytest.mark.start_at(START)

# Each list and the seed row it lists (a `Seeds` field; the 顺河镇 twin is `shunhe_<field>`).
LISTS: dict[str, str] = {
    "/api/cases": "case",
    "/api/cases?page_size=200": "case",
    "/api/verification-requests": "case",
    "/api/emergencies": "event",
    "/api/frontdoor/requests": "request_no",
    "/api/referrals": "referral",
    "/api/complaints": "complaint",
    "/cases": "case",
    "/inbox": "case",
    "/overdue": "case",
    "/emergencies": "event",
    "/frontdoor": "request_no",
    "/frontdoor/complaints": "complaint",
    "/bureau": "referral",
}
# The users of 顺河镇 (and of another bureau) and their counterparts in 石婆店镇 (the medical bureau): same role.
COUNTERPARTS = {
    "shunhe_jingban": "shipo_jingban",
    "shunhe_shenpi": "shipo_shenpi",
    "shunhe_cun1": "shipo_cun1",
    "jiaoyu_bu": "yiliao_bu",
}
# Lists a role may not read at all, in any township: refused with 403 (`wrong_role` from the API).
NOT_FOR_ROLE: dict[str, set[str]] = {
    "jingban": {"/overdue"},
    "shenpi": {"/overdue"},
    "cun1": {"/api/referrals", "/api/complaints", "/overdue", "/frontdoor/complaints", "/bureau"},
    "bu": set(LISTS) - {"/api/referrals", "/bureau"},
}
# Lists that are empty for a role whatever the township: an approver's inbox holds cases awaiting a decision.
EMPTY_FOR_ROLE = {("shenpi", "/inbox")}


def role_of(user: str) -> str:
    return user.rsplit("_", 1)[1]


def shipo_markers(w: World) -> list[str]:
    """Everything of the 石婆店镇 seed rows that could identify them in a response."""
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


def _code(url: str, text: str) -> str | None:
    """The JSON error code of an API answer (pages answer in HTML)."""
    return json.loads(text)["code"] if url.startswith("/api/") else None


async def test_lists_show_each_township_its_own_rows_and_never_the_others(world: World) -> None:
    """Each user of 顺河镇 (or of the education bureau) reads every list: refused outright (403) where the role has
    no such list, otherwise its own township's row and nothing of 石婆店镇; the same-role user of 石婆店镇 (the
    medical bureau) gets the same answer with the 石婆店镇 row in it, so an absence above means something."""
    problems = []
    for foreign, home in COUNTERPARTS.items():
        role = role_of(foreign)
        for url, row in LISTS.items():
            ours, theirs = getattr(world.seeds, f"shunhe_{row}"), getattr(world.seeds, row)
            for user, own, other in ((foreign, ours, theirs), (home, theirs, ours)):
                status, text = await _get(world, user, url)
                if user == foreign:
                    problems += [f"{user} {url}: shows {m}" for m in shipo_markers(world) if m in text]
                if url in NOT_FOR_ROLE[role]:
                    want: tuple[int, str | None] = (403, "wrong_role" if url.startswith("/api/") else None)
                    got = (status, _code(url, text) if status == 403 else text[:200])
                    if got != want:
                        problems.append(f"{user} {url}: want {want}, got {got}")
                    continue
                if status != 200:
                    problems.append(f"{user} {url}: want 200, got {status} {text[:200]}")
                    continue
                if (role, url) not in EMPTY_FOR_ROLE and own not in text:
                    problems.append(f"{user} {url}: its own township's row {own} is missing")
                if other in text:
                    problems.append(f"{user} {url}: shows the other township's row {other}")
    assert not problems, "\n".join(problems)


async def test_the_district_lists_show_both_townships(world: World) -> None:
    """The district sees every township: the lists above are not empty by accident."""
    for user in ("qu_minzheng", "qu_jiandu"):
        for url, row in LISTS.items():
            status, text = await _get(world, user, url)
            if (user, url) == ("qu_jiandu", "/inbox"):  # a supervisor has no inbox
                assert status == 403, (user, url, status)
                continue
            assert status == 200, (user, url, status, text[:200])
            assert getattr(world.seeds, row) in text and getattr(world.seeds, f"shunhe_{row}") in text, (user, url)


async def test_household_view_shows_nothing_of_another_township(world: World) -> None:
    """Typing an ID number of someone in 石婆店镇 tells a 顺河镇 caseworker only that records exist elsewhere (3:
    the request, its referral and the complaint); the same lookup in 石婆店镇 shows them."""
    s = world.seeds
    person = s.person_id
    markers = [m for m in shipo_markers(world) if m not in (person, mask_id(person))]  # the ID is their own input
    empty = {
        k: []
        for k in (
            "names",
            "cases",
            "recipients",
            "emergencies",
            "requests",
            "referrals",
            "complaints",
            "unverified_requests",
        )
    }
    leaks = []
    for user in ("shunhe_jingban", "shunhe_shenpi"):
        status, text = await _household(world, user, "/api/households/lookup", json={"id_number": person})
        assert status == 200, (user, status, text[:200])
        assert json.loads(text) == {"id_number": person, "id_masked": mask_id(person), **empty, "elsewhere": 3}
        status, page = await _household(world, user, "/households", data={"id_number": person})
        assert status == 200, (user, status)
        leaks += [f"{user}: {m}" for m in markers if m in text + page]
    assert not leaks, "\n".join(leaks)
    for user in ("shipo_jingban", "shipo_shenpi"):
        status, text = await _household(world, user, "/api/households/lookup", json={"id_number": person})
        assert status == 200, (user, status, text[:200])
        found = json.loads(text)
        assert found["names"] == ["石婆店求助人"] and found["elsewhere"] == 0
        assert [r["request_no"] for r in found["requests"]] == [s.request_no]
        assert [r["referral_id"] for r in found["referrals"]] == [s.referral]
        assert [c["complaint_no"] for c in found["complaints"]] == [s.complaint]
        status, page = await _household(world, user, "/households", data={"id_number": person})
        assert status == 200 and s.request_no in page and "石婆店求助人" in page, (user, status)


async def test_a_bureau_sees_only_its_own_referrals(world: World) -> None:
    for user, own, other in (
        ("jiaoyu_bu", world.seeds.shunhe_referral, world.seeds.referral),
        ("yiliao_bu", world.seeds.referral, world.seeds.shunhe_referral),
    ):
        status, text = await _get(world, user, "/api/referrals")
        assert status == 200
        assert [i["referral_id"] for i in json.loads(text)["items"]] == [own], (user, text[:300])
        status, text = await _get(world, user, f"/api/referrals/{other}")
        assert (status, json.loads(text)["code"]) == (403, "wrong_bureau"), (user, text[:200])
        status, text = await _get(world, user, f"/api/referrals/{own}")
        assert status == 200 and json.loads(text)["referral"]["referral_id"] == own, (user, text[:300])


# ---- checks only a running workflow makes, through HTTP ------------------------------------------------------


async def _household(w: World, user: str, url: str, **body: Any) -> tuple[int, str]:
    r = await w.http.post(url, headers=w.headers[user], **body)
    w.http.cookies.clear()
    return r.status_code, r.text


async def _post(w: World, user: str, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = await w.http.post(url, json=body, headers=w.headers[user])
    w.http.cookies.clear()
    return r.status_code, r.json()


async def _stage(w: World, case_id: str, stage: str) -> dict[str, Any]:
    """Wait for the case to reach `stage`; returns the case as the API shows it."""
    for _ in range(600):  # a minute: the case is accepted without waiting, and CI machines may be busy
        r = await w.http.get(f"/api/cases/{case_id}", headers=w.headers["qu_minzheng"])
        w.http.cookies.clear()
        if r.status_code == 200 and r.json()["case"]["stage"] == stage:
            return r.json()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{case_id} never reached {stage}")


def _visit(user: str, on: str, *others: str) -> dict[str, Any]:
    """A home visit on `on`: the Beijing day the workflow recorded the case as accepted, which lies between the
    acceptance and the workflow's today whatever the hour."""
    return {
        "visited_on": on,
        "investigators": [user, *(others or ("shipo_diaocha",))],
        "family_signatures": ["王大山"],
        "findings": "房屋老旧",
    }


async def _accepted_on(w: World, case_id: str) -> str:
    case = await _stage(w, case_id, "investigation")
    accepted_on = case["state"]["clock"]["accepted_on"]
    assert accepted_on == on_day(START).isoformat(), case["state"]["clock"]  # the Beijing day, not the UTC one
    return accepted_on


@pytest.mark.timeout(300)
async def test_workflow_refuses_roles_through_http(world: World) -> None:
    """The roles the matrix lets through to the review workflow are refused there with 403, before any event;
    the role that may act does (200), so the refusals are not the case refusing everyone."""
    body = application("SEC-WF-0001").model_dump(mode="json")
    status, created = await _post(world, "shipo_jingban", "/api/cases", body)
    assert status == 202, created
    on = await _accepted_on(world, "SEC-WF-0001")
    base = "/api/cases/SEC-WF-0001/actions"
    before = await world.pool.fetchval("select count(*) from case_events where case_id = 'SEC-WF-0001'")
    refused = {
        ("admin", "home_visit"): _visit("admin", on),
        ("yiliao_bu", "home_visit"): _visit("yiliao_bu", on),
        ("shipo_shenpi", "home_visit"): _visit("shipo_shenpi", on),
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
    assert (status, answer["code"]) == (403, "out_of_jurisdiction"), answer
    status, answer = await _post(world, "qu_jiandu", f"{base}/take_over", {"reason": "监督员不能办理"})
    assert (status, answer["code"]) == (403, "wrong_role"), answer
    after = await world.pool.fetchval("select count(*) from case_events where case_id = 'SEC-WF-0001'")
    assert after == before, "a refused action must leave no event"
    # The control: the caseworker's home visit on the same case, the same day, is taken.
    status, answer = await _post(world, "shipo_jingban", f"{base}/home_visit", _visit("shipo_jingban", on))
    assert status == 200, answer
    assert await world.pool.fetchval("select count(*) from case_events where case_id = 'SEC-WF-0001'") == before + 1


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
    on = await _accepted_on(world, "SEC-WF-0002")
    status, answer = await _post(
        world, "shipo_diaocha", "/api/cases/SEC-WF-0002/actions/missing_materials", {"items": ["户口簿"]}
    )
    assert (status, answer["code"]) == (403, "recused"), answer
    status, answer = await _post(
        world, "shipo_jingban", "/api/cases/SEC-WF-0002/actions/missing_materials", {"items": ["户口簿"]}
    )
    assert status == 200, answer
    status, answer = await _post(world, "shipo_jingban", "/api/cases/SEC-WF-0002/actions/materials_supplied", {})
    assert status == 200, answer
    # A barred investigator cannot be named on someone else's home visit either; without them the visit is taken.
    visit = "/api/cases/SEC-WF-0002/actions/home_visit"
    status, answer = await _post(world, "shipo_jingban", visit, _visit("shipo_jingban", on))
    assert (status, answer["code"]) == (403, "recused"), answer
    # 石婆店镇 has one caseworker left: a district officer makes the pair
    status, answer = await _post(world, "shipo_jingban", visit, _visit("shipo_jingban", on, "qu_minzheng"))
    assert status == 200, answer
    refused = await world.pool.fetch("select username, code from refused_actions where case_id = 'SEC-WF-0002'")
    assert sorted((r["username"], r["code"]) for r in refused) == [
        ("shipo_diaocha", "recused"),
        ("shipo_jingban", "recused"),
    ]


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
    # The control: the village cadre, whose tier pays, is not refused (once the village fund has money).
    income = {"amount": "1000.00", "source": "government"}
    status, answer = await _post(world, "shipo_cun1", f"/api/funds/{SHIPO_VILLAGE}/income", income)
    assert status == 201, answer
    status, answer = await _post(world, "shipo_cun1", f"{base}/approve", {"tier": "village", "amount": "100.00"})
    assert status == 200, answer
    paid = await world.pool.fetch("select amount_fen from aid_payments where event_id = 'JJN-SEC-WF-0001'")
    assert [p["amount_fen"] for p in paid] == [10000]
