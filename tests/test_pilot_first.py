"""Pilot units first (issue 14): outside 石婆店镇, 顺河镇 and 鼓楼街道 the district (区民政局) approves, until the
roll-out page delegates the approval to one more township from a date; the cases accepted before keep their
policy version, and so their approver. Over HTTP, on a real worker and Temporal's time-skipping server."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from db import users_repo
from db.users_repo import DEMO_PASSWORD
from schemas.staff import Role
from tests.support.clients import csrf_token, log_in, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import application
from tests.support.workflows import eventually

CHENGNAN = "341503107"  # 城南镇: not a pilot unit
STAFF = {
    "chengnan_jingban": ("城南镇经办人 孙丽", Role.TOWNSHIP_CASEWORKER),
    "chengnan_diaocha": ("城南镇经办人 吴刚", Role.TOWNSHIP_CASEWORKER),
    "chengnan_shenpi": ("城南镇审批人 郑明", Role.TOWNSHIP_APPROVER),
}
AT_THE_DISTRICT = "「审核确认」须由区民政局工作人员办理，您是乡镇审批人"
AT_THE_TOWNSHIP = "「审核确认」须由乡镇审批人办理，您是区民政局工作人员"


class Case:
    """One dibao case of 城南镇 over the HTTP API, acted on by whoever is named."""

    def __init__(self, web: httpx.AsyncClient, headers: dict[str, dict[str, str]], case_id: str) -> None:
        self.web, self.headers, self.case_id = web, headers, case_id

    async def detail(self) -> dict[str, Any] | None:
        """The case as the API shows it; None until the workflow has written its row."""
        r = await self.web.get(f"/api/cases/{self.case_id}", headers=self.headers["chengnan_jingban"])
        assert r.status_code in (200, 404), r.text
        return r.json() if r.status_code == 200 else None

    async def act(self, username: str, action: str, body: dict[str, Any]) -> httpx.Response:
        path = f"/api/cases/{self.case_id}/actions/{action}"
        return await self.web.post(path, json=body, headers=self.headers[username])

    async def accept(self) -> None:
        app = application(self.case_id)
        household = app.household.model_copy(
            update={"township_code": CHENGNAN, "village_code": None, "address": "城南镇 王家庄 12 号"}
        )
        body = app.model_copy(update={"household": household}).model_dump(mode="json")
        r = await self.web.post("/api/cases?wait=10", json=body, headers=self.headers["chengnan_jingban"])
        assert r.status_code == 201, r.text

    async def to_decision(self) -> None:
        """Acceptance, the district's economic check and the township's investigation and hearing."""
        await self.accept()

        async def investigating() -> dict[str, Any] | None:
            detail = await self.detail()
            return detail if detail and detail["state"]["stage"] == "investigation" else None

        today = (await eventually(investigating, "investigation"))["state"]["clock"]["accepted_on"]
        check = {"verified_monthly_income": "600.00", "assets_within_limits": True, "findings": "核对无异常"}
        visit = {
            "visited_on": today,
            "investigators": ["chengnan_jingban", "chengnan_diaocha"],
            "family_signatures": ["王大山"],
            "findings": "房屋老旧，家中无劳动力",
        }
        interview = {"interviewed_on": today, "interviewees": ["邻居张三", "邻居李四"], "findings": "情况属实"}
        hearing = {"held_on": today, "participants": ["村民代表甲", "村民代表乙", "党员代表丙"], "opinion": "agree"}
        for username, action, body in [
            ("qu_minzheng", "verification_result", check),
            ("chengnan_jingban", "home_visit", visit),
            ("chengnan_diaocha", "neighbour_interview", interview),
            ("chengnan_jingban", "hearing", hearing | {"summary": "一致同意纳入低保"}),
        ]:
            r = await self.act(username, action, body)
            assert r.status_code == 200, (action, r.text)
        assert r.json()["stage"] == "decision"

    async def decide(self, username: str) -> httpx.Response:
        return await self.act(username, "decision", {"approve": True, "category": "B"})


async def inbox(web: httpx.AsyncClient, username: str) -> str:
    await log_in(web, username)
    return (await web.get("/inbox")).text


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday
@pytest.mark.web(temporal="review_env")
async def test_the_district_approves_outside_the_pilot_units_until_the_roll_out_reaches_them(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        for username, (full_name, role) in STAFF.items():
            await users_repo.add_user(
                conn,
                username=username,
                full_name=full_name,
                role=role,
                place_code=CHENGNAN,
                password=DEMO_PASSWORD,
                demo=True,
            )
    headers = {u: await login(web, u, session=False) for u in [*STAFF, "qu_minzheng"]}
    before = Case(web, headers, "CN-BEFORE")
    await before.to_decision()

    # Under the default policy (version 1) the district approves 城南镇's cases.
    refused = await before.decide("chengnan_shenpi")

    assert (refused.status_code, refused.json()) == (403, {"code": "wrong_role", "message": AT_THE_DISTRICT})
    assert "CN-BEFORE" in await inbox(web, "qu_minzheng")
    assert "CN-BEFORE" not in await inbox(web, "chengnan_shenpi")

    # The district delegates the approval to 城南镇 from today: version 2.
    await log_in(web, "qu_minzheng")
    page = await web.get(f"/dashboard/rollout?township={CHENGNAN}")
    form = {"township": CHENGNAN, "level": "township", "effective_from": "2026-11-24"}
    r = await web.post("/dashboard/rollout/switch", data=form | {"csrftoken": csrf_token(page.text)})
    assert r.status_code == 303 and "done=" in r.headers["location"], r.headers["location"]

    after = Case(web, headers, "CN-AFTER")
    await after.to_decision()
    versions = "select case_id, policy_version from cases order by case_id"
    assert [tuple(r) for r in await pool.fetch(versions)] == [("CN-AFTER", 2), ("CN-BEFORE", 1)]
    assert "CN-AFTER" in await inbox(web, "chengnan_shenpi")
    assert "CN-AFTER" not in await inbox(web, "qu_minzheng")
    refused = await after.decide("qu_minzheng")
    assert (refused.status_code, refused.json()) == (403, {"code": "wrong_role", "message": AT_THE_TOWNSHIP})
    r = await after.decide("chengnan_shenpi")
    assert r.status_code == 200 and r.json()["event_key"].endswith("-decision"), r.text

    # The case accepted before the switch keeps version 1: still the district's to approve.
    refused = await before.decide("chengnan_shenpi")
    assert (refused.status_code, refused.json()["code"]) == (403, "wrong_role")
    r = await before.decide("qu_minzheng")
    assert r.status_code == 200, r.text
    decided = "select case_id, actor from case_events where kind = 'decision' order by case_id"
    assert [tuple(r) for r in await pool.fetch(decided)] == [
        ("CN-AFTER", "chengnan_shenpi"),
        ("CN-BEFORE", "qu_minzheng"),
    ]
