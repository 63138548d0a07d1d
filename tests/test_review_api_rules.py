"""Issue 14 through the HTTP API, as a new user would try it: the tekun amount and criteria, two racing
decisions, and both time limits of a case accepted on 2026-12-04 — on a real worker and Temporal's
time-skipping server, each test at a stated Beijing instant."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest

from schemas.people import Household, Member, Relation
from schemas.review import Application, AssistanceType, Channel
from tests.support.clients import login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import application, resident_id
from tests.support.workflows import eventually

USERS = ["shipo_jingban", "shipo_diaocha", "shipo_shenpi", "qu_minzheng"]


class Api:
    def __init__(self, web: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> None:
        self.web, self.headers = web, headers

    async def accept(self, app: Application) -> None:
        body = app.model_dump(mode="json")
        r = await self.web.post("/api/cases?wait=10", json=body, headers=self.headers["shipo_jingban"])
        assert r.status_code == 201, r.text

    async def state(self, case_id: str) -> dict[str, Any]:
        async def ready() -> dict[str, Any] | None:
            r = await self.web.get(f"/api/cases/{case_id}", headers=self.headers["shipo_jingban"])
            state = r.json().get("state") if r.status_code == 200 else None
            return state if state and state["stage"] != "accepted" else None

        return await eventually(ready, "the case's state")

    def act(self, case_id: str, username: str, action: str, body: dict[str, Any]):
        return self.web.post(f"/api/cases/{case_id}/actions/{action}", json=body, headers=self.headers[username])

    async def to_decision(self, case_id: str, income: str = "600.00") -> None:
        today = (await self.state(case_id))["clock"]["accepted_on"]
        for username, action, body in [
            (
                "qu_minzheng",
                "verification_result",
                {"verified_monthly_income": income, "assets_within_limits": True, "findings": "核对无异常"},
            ),
            (
                "shipo_jingban",
                "home_visit",
                {
                    "visited_on": today,
                    "investigators": ["shipo_jingban", "shipo_diaocha"],
                    "family_signatures": ["申请人"],
                    "findings": "房屋老旧，家中无劳动力",
                },
            ),
            (
                "shipo_diaocha",
                "neighbour_interview",
                {"interviewed_on": today, "interviewees": ["邻居张三"], "findings": "情况属实"},
            ),
            (
                "shipo_jingban",
                "hearing",
                {
                    "held_on": today,
                    "participants": ["村民代表甲", "村民代表乙", "党员代表丙"],
                    "opinion": "agree",
                    "summary": "一致同意",
                },
            ),
        ]:
            r = await self.act(case_id, username, action, body)
            assert r.status_code == 200, (action, r.text)
        assert r.json()["stage"] == "decision"


@pytest.fixture
async def api(web: httpx.AsyncClient) -> Api:
    return Api(web, {u: await login(web, u, session=False) for u in USERS})


def tekun(app_id: str, members: list[Member]) -> Application:
    return Application(
        application_id=app_id,
        assistance_type=AssistanceType.TEKUN,
        channel=Channel.COUNTER,
        household=Household(
            township_code="341503106",
            village_code="341503106201",
            address="石婆店镇示范村一 李家湾 3 号",
            hukou_type="rural",
            members=members,
        ),
    )


@pytest.mark.start_at(beijing(2026, 12, 3, 10, 0))
@pytest.mark.web(temporal="review_env")
async def test_tekun_through_the_api(api: Api, review_env: SkippingEnvironment) -> None:
    old = tekun(
        "API-TEKUN-70",
        [
            Member(name="李老汉", id_number=resident_id(date(1956, 5, 1)), relation=Relation.SELF),
            Member(name="张桂英", id_number=resident_id(date(1976, 3, 8)), relation=Relation.SPOUSE),
        ],
    )
    await api.accept(old)
    state = await api.state("API-TEKUN-70")
    assert state["proposed_amount"] == "938.00"  # the 70-year-old's support, not 938 × 2
    assert state["eligibility"]["qualifying"] == ["李老汉"]

    young = tekun(
        "API-TEKUN-35", [Member(name="赵强", id_number=resident_id(date(1991, 6, 1)), relation=Relation.SELF)]
    )
    await api.accept(young)
    await api.to_decision("API-TEKUN-35", income="0.00")
    r = await api.act("API-TEKUN-35", "shipo_shenpi", "decision", {"approve": True})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "criteria_not_met"
    assert body["message"].startswith("不符合特困人员认定条件：不符合「无劳动能力」（") and "35 岁" in body["message"]


@pytest.mark.start_at(beijing(2026, 12, 4, 10, 0))
@pytest.mark.web(temporal="review_env")
async def test_racing_decisions_and_both_limits_through_the_api(api: Api, review_env: SkippingEnvironment) -> None:
    await api.accept(application("API-RACE-1"))
    clock = (await api.state("API-RACE-1"))["clock"]
    assert (clock["accepted_on"], clock["deadline"], clock["provisional"]) == ("2026-12-04", "2027-01-04", True)
    assert (clock["statutory_working_days"], clock["statutory_deadline"]) == (30, "2027-01-18")

    await api.to_decision("API-RACE-1")
    approve = {"approve": True, "category": "B"}
    refuse = {"approve": False, "reasons": "家庭人均收入高于当地低保标准"}
    first, second = await asyncio.gather(
        api.act("API-RACE-1", "shipo_shenpi", "decision", approve),
        api.act("API-RACE-1", "shipo_shenpi", "decision", refuse),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    lost = first if first.status_code == 409 else second
    assert lost.json()["code"] == "already_decided"
    events = (await api.web.get("/api/cases/API-RACE-1", headers=api.headers["shipo_jingban"])).json()["events"]
    assert [e["kind"] for e in events].count("decision") == 1
