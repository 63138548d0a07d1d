"""One dibao case through the HTTP API with a real worker, the Temporal dev server and PostgreSQL.

It runs to the public notice (7 calendar days cannot pass on a real clock; enrolment is covered by
the time-skipping workflow tests) and checks what staff see on the way: state, lists, the event log.
The dev server runs at the real time: the dates come from what the workflow recorded (the day it accepted
the case, the instant of the decision), never from this machine's clock.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
import httpx
from temporalio.testing import WorkflowEnvironment

from db.calendar_repo import load_calendar
from db.users_repo import DEMO_PASSWORD
from tests.support.clock import midnight_after, on_day
from tests.support.factories import application
from tests.support.review import IN_NOTICE
from webapp.app import create_app
from workers.main import build_worker


async def test_one_case_from_acceptance_to_public_notice(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    app = create_app(pool, dev_env.client, secret_key="integration")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://jiuzhu.test")
    tokens: dict[str, dict[str, str]] = {}

    async def as_(username: str) -> dict[str, str]:
        if username not in tokens:
            r = await http.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            tokens[username] = {"Authorization": f"Bearer {r.json()['token']}"}
        return tokens[username]

    case_id = f"IT-{uuid.uuid4().hex[:10]}"
    base = f"/api/cases/{case_id}"

    async def events() -> list[str]:
        return [
            r["kind"] for r in await pool.fetch("select kind from case_events where case_id=$1 order by id", case_id)
        ]

    async def act(username: str, action: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        before = await events()
        r = await http.post(f"{base}/actions/{action}", json=body, headers=await as_(username))
        assert r.status_code == status, r.text
        if status != 200:
            assert await events() == before, "a refused action must leave no event"
        return r.json()

    async def stage_becomes(stage: str) -> dict[str, Any]:
        for _ in range(600):
            detail = (await http.get(base, headers=await as_("shipo_jingban"))).json()
            if detail["state"]["stage"] == stage and detail["case"]["stage"] == stage:
                return detail
            await asyncio.sleep(0.1)
        raise AssertionError(f"case stayed in {detail['state']['stage']} / {detail['case']['stage']}")

    async with build_worker(dev_env.client, pool), http:
        body = application(case_id).model_dump(mode="json")
        r = await http.post("/api/cases?wait=10", json=body, headers=await as_("shipo_jingban"))
        assert r.status_code == 201, r.text  # waited for the workflow's state
        assert r.headers["location"] == f"/api/cases/{case_id}"
        created = r.json()
        assert created["created"] is True and created["workflow_id"] == f"review-{case_id}"
        assert created["state"]["case_id"] == case_id and created["state"]["applicant_name"] == "王大山"

        r = await http.post("/api/cases", json=body, headers=await as_("shipo_shenpi"))
        assert r.status_code == 200 and r.json()["created"] is False and r.json()["case_id"] == case_id
        r = await http.post("/api/cases", json=body, headers=await as_("admin"))
        assert (r.status_code, r.json()["code"]) == (403, "wrong_role"), r.text  # an administrator accepts nothing
        detail = await stage_becomes("investigation")
        assert await pool.fetchval("select count(*) from cases") == 1
        applicant_id = body["household"]["members"][0]["id_number"]
        assert detail["case"]["applicant_id_masked"] == f"{applicant_id[:6]}********{applicant_id[-4:]}"
        accepted_on = date.fromisoformat(detail["state"]["clock"]["accepted_on"])  # the workflow's Beijing day
        today = accepted_on.isoformat()  # the visits are dated the day the case was accepted
        async with pool.acquire() as conn:
            cal = await load_calendar(conn)
        deadline = cal.add_working_days(accepted_on, 20)
        assert detail["state"]["clock"]["deadline"] == detail["case"]["deadline"] == deadline.date.isoformat()
        assert detail["state"]["clock"]["provisional"] is deadline.provisional

        queue = (await http.get("/api/verification-requests", headers=await as_("qu_minzheng"))).json()
        assert [i["case_id"] for i in queue["items"]] == [case_id]

        visit = {
            "visited_on": today,
            "investigators": ["shipo_jingban", "shipo_diaocha"],
            "family_signatures": ["王大山"],
            "findings": "房屋老旧，家中无大件电器",
        }
        refused = await act("qu_jiandu", "home_visit", visit, 403)
        assert refused["code"] == "wrong_role"
        refused = await act(
            "shipo_jingban",
            "verification_result",
            {"verified_monthly_income": "600", "assets_within_limits": True, "findings": "核对无异常"},
            403,
        )
        assert refused["code"] == "wrong_role" and "区民政局工作人员" in refused["message"]
        refused = await act(
            "shipo_diaocha", "home_visit", visit | {"investigators": ["shipo_jingban", "qu_minzheng"]}, 422
        )
        assert refused == {"code": "invalid", "message": "填报人须为调查人员或协助人员之一"}
        refused = await act(
            "shipo_jingban",
            "hearing",
            {"held_on": today, "participants": ["村民代表"], "opinion": "agree", "summary": "同意纳入"},
            409,
        )
        assert refused["code"] == "wrong_stage"

        ack = await act(
            "qu_minzheng",
            "verification_result",
            {
                "verified_monthly_income": "600.00",
                "assets_within_limits": True,
                "findings": "核对无异常",
                "report_ref": "HD-1",
            },
        )
        assert ack["stage"] == "investigation"
        answered = await http.get("/api/verification-requests?status=answered", headers=await as_("qu_minzheng"))
        assert [i["answered_by"] for i in answered.json()["items"]] == ["qu_minzheng"]

        await act("shipo_jingban", "home_visit", visit)
        ack = await act(
            "shipo_cun1",
            "neighbour_interview",
            {"interviewed_on": today, "interviewees": ["邻居张三", "邻居李四"], "findings": "邻居反映家庭确实困难"},
        )
        assert ack["stage"] == "hearing"
        ack = await act(
            "shipo_jingban",
            "hearing",
            {
                "held_on": today,
                "participants": ["村民代表甲", "村民代表乙", "村委会主任"],
                "opinion": "agree",
                "summary": "一致同意纳入低保",
            },
        )
        assert ack["stage"] == "decision"

        refused = await act("shipo_jingban", "decision", {"approve": True, "category": "B"}, 403)
        assert refused["code"] == "wrong_role"
        refused = await act("shipo_shenpi", "decision", {"approve": False}, 409)
        assert refused == {"code": "incomplete", "message": "不予批准必须书面写明理由"}
        ack = await act("shipo_shenpi", "decision", {"approve": True, "category": "B"})
        assert ack["event_key"] == "0007-decision"  # the notice may start before the answer is sent

        detail = await stage_becomes("public_notice")
        assert detail["state"]["decision"]["category"] == "B"
        [decision] = [e for e in detail["state"]["timeline"] if e["kind"] == "decision"]
        decided_on = on_day(datetime.fromisoformat(decision["at"]))
        # 7 calendar days of public notice after the decision's Beijing day, ending at 00:00 Beijing after the 7th,
        # or after the next working day if the 7th is a day off (Civil Code art. 203): on a real clock, either
        last_day = cal.end_of_period(decided_on, 7).date
        notice_ends = datetime.fromisoformat(detail["state"]["notice_ends_at"])
        assert notice_ends == midnight_after(last_day)
        assert detail["temporal_ui_url"].endswith(f"/workflows/review-{case_id}")
        kinds = [e["kind"] for e in detail["events"]]
        assert kinds == IN_NOTICE
        assert len({e["event_key"] for e in detail["events"]}) == len(kinds)
        assert [e["actor"] for e in detail["events"]][2:7] == [
            "qu_minzheng",
            "shipo_jingban",
            "shipo_cun1",
            "shipo_jingban",
            "shipo_shenpi",
        ]

        listed = (await http.get("/api/cases?stage=public_notice", headers=await as_("qu_jiandu"))).json()
        assert [i["case_id"] for i in listed["items"]] == [case_id]
        assert (await http.get("/api/cases", headers=await as_("shunhe_jingban"))).json()["total"] == 0

        r = await http.post("/api/calendar/changed", headers=await as_("admin"))
        assert r.json() == {"count": 1, "failed": []}
        assert (await stage_becomes("public_notice"))["state"]["clock"]["deadline"] == detail["case"]["deadline"]

        elsewhere = body | {"household": body["household"] | {"township_code": "341503104", "village_code": None}}
        r = await http.post("/api/cases", json=elsewhere, headers=await as_("shunhe_jingban"))
        assert r.status_code == 409 and r.json()["code"] == "application_id_taken"  # learns nothing of the case
        assert await pool.fetchval("select count(*) from cases") == 1


async def test_closed_case_is_found_again_and_refuses_actions(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    """A repeat of a closed case's application hits REJECT_DUPLICATE: the API answers with the old case."""
    app = create_app(pool, dev_env.client, secret_key="integration")
    case_id = f"IT-{uuid.uuid4().hex[:10]}"
    body = application(case_id).model_dump(mode="json")
    async with (
        build_worker(dev_env.client, pool),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://jiuzhu.test") as http,
    ):
        r = await http.post("/api/auth/login", json={"username": "shipo_jingban", "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        r = await http.post("/api/cases", json=body, headers=headers)
        assert r.status_code == 202 and r.json()["state"] is None  # started, state not waited for
        handle = dev_env.client.get_workflow_handle(f"review-{case_id}")
        for _ in range(600):
            if await pool.fetchval("select count(*) from case_events where case_id = $1", case_id) >= 2:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the case never reached its investigation")
        await handle.terminate("测试：撤回申请")

        r = await http.post("/api/cases?wait=10", json=body, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["created"] is False and r.json()["state"]["case_id"] == case_id
        r = await http.post(
            f"/api/cases/{case_id}/actions/missing_materials", json={"items": ["户口簿"]}, headers=headers
        )
        assert r.status_code == 409
        assert r.json() == {"code": "case_closed", "message": "案件已办结，不能再操作"}
    assert await pool.fetchval("select count(*) from cases") == 1
