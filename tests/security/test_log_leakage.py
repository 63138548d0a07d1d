"""No ID number and no phone number in the logs: one case runs from acceptance to enrolment through the
HTTP API of the real web app, served by uvicorn in this process (so its access log is included), with a
real worker on Temporal's time-skipping server; the front door and emergency aid take in more numbers
on the way. Everything the process writes (structlog, the standard library: uvicorn, temporalio, httpx…,
and what Temporal's core and test server print) is captured at file-descriptor level and searched for
every ID and phone number that was sent. Masked forms may appear, and must, where a number was logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import asyncpg
import httpx
import pytest
import structlog
import uvicorn

from db.users_repo import DEMO_PASSWORD
from infra.logging import setup_logging
from schemas.identity import mask_id
from tests.security.conftest import SECRET, SHIPO, SHIPO_VILLAGE
from tests.support.clock import SkippingEnvironment, beijing, midnight_after
from tests.support.factories import application, resident_id
from tests.support.ports import free_port
from webapp.app import create_app


@pytest.fixture
def logging_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """setup_logging() changes the process's logging; give the next tests theirs back."""
    monkeypatch.setenv("JIUZHU_LOG_JSON", os.environ.get("JIUZHU_LOG_JSON", "0"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


@pytest.mark.timeout(300)
@pytest.mark.start_at(beijing(2026, 12, 4, 0, 30))  # 16:30 UTC: the machine's date is still 12-03
async def test_a_full_run_logs_no_id_or_phone_number(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, capfd: pytest.CaptureFixture[str], logging_restored: None
) -> None:
    setup_logging(json=True, level="DEBUG")  # production's renderer, and everything down to debug
    logging.getLogger("hpack").setLevel(logging.INFO)  # HTTP/2 frame dumps: bytes, not text
    app = create_app(pool, review_env.client, secret_key=SECRET)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=True, lifespan="on"))
    serving = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)

    case_id = "LOG-0001"
    app_in = application(case_id)
    numbers = [m.id_number for m in app_in.household.members] + [app_in.household.phone]
    walk_in = resident_id(date(1959, 11, 3), seq=731)
    victim = resident_id(date(1980, 2, 29), seq=842)
    numbers += [walk_in, victim, "13956407777", "15056408888", "+86 139-5640-9999"]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:

            async def as_(user: str) -> dict[str, str]:
                r = await http.post("/api/auth/login", json={"username": user, "password": DEMO_PASSWORD})
                assert r.status_code == 200, r.text
                http.cookies.clear()
                return {"Authorization": f"Bearer {r.json()['token']}"}

            jingban, cun = await as_("shipo_jingban"), await as_("shipo_cun1")
            shenpi, qu = await as_("shipo_shenpi"), await as_("qu_minzheng")

            async def act(headers: dict[str, str], action: str, body: dict) -> None:
                r = await http.post(f"/api/cases/{case_id}/actions/{action}", json=body, headers=headers)
                assert r.status_code == 200, (action, r.text)

            async def stage_is(stage: str) -> None:
                for _ in range(600):
                    r = await http.get(f"/api/cases/{case_id}", headers=qu)
                    if r.status_code == 200 and r.json()["case"]["stage"] == stage:
                        return
                    await asyncio.sleep(0.1)
                raise AssertionError(f"never reached {stage}")

            r = await http.post("/api/cases", json=app_in.model_dump(mode="json"), headers=jingban)
            assert r.status_code == 202, r.text
            await stage_is("investigation")
            case = (await http.get(f"/api/cases/{case_id}", headers=qu)).json()
            today = case["state"]["clock"]["accepted_on"]  # the Beijing day the workflow counts in
            assert today == "2026-12-04"
            await act(jingban, "missing_materials", {"items": ["户口簿"], "note": "请联系 13956407777"})
            await act(jingban, "materials_supplied", {})
            await act(
                qu,
                "verification_result",
                {"verified_monthly_income": "600.00", "assets_within_limits": True, "findings": "核对无异常"},
            )
            visit = {
                "visited_on": today,
                "investigators": ["shipo_jingban", "shipo_diaocha"],
                "family_signatures": ["王大山"],
                "findings": f"户主身份证 {app_in.household.members[0].id_number} 与户口簿一致",
            }
            await act(jingban, "home_visit", visit)
            await act(
                cun,
                "neighbour_interview",
                {"interviewed_on": today, "interviewees": ["邻居张三", "邻居李四"], "findings": "确实困难"},
            )
            await act(
                jingban,
                "hearing",
                {
                    "held_on": today,
                    "participants": ["甲", "乙", "丙"],
                    "opinion": "agree",
                    "summary": "一致同意纳入低保",
                },
            )
            await act(shenpi, "decision", {"approve": True, "category": "B"})
            await stage_is("public_notice")
            # The 7-day public notice (calendar days) runs to the end of 12-11; the time-skipping server gets there.
            state = (await http.get(f"/api/cases/{case_id}", headers=qu)).json()["state"]
            ends = datetime.fromisoformat(state["notice_ends_at"])
            assert ends == midnight_after(date(2026, 12, 11)), state["notice_ends_at"]
            await review_env.skip_to(ends - timedelta(minutes=1))
            jingban, qu = await as_("shipo_jingban"), await as_("qu_minzheng")  # 7 days on: sessions expired
            cun = await as_("shipo_cun1")
            await stage_is("public_notice")
            await review_env.skip_to(ends + timedelta(minutes=1))
            await stage_is("enrolled")

            # Numbers in URLs (the access log), in forms, in bodies that fail validation, in the front door.
            member = {"id_number": app_in.household.members[1].id_number}
            assert (await http.post("/api/households/lookup", json=member, headers=qu)).status_code == 200
            assert (await http.post("/households", data={"id_number": walk_in}, headers=jingban)).status_code == 200
            assert (
                await http.post("/cases/new/check-id", data={"id_number": walk_in}, headers=jingban)
            ).status_code == 200
            bad = app_in.model_dump(mode="json")
            bad["application_id"] = "LOG-0002"
            bad["household"]["members"][0]["id_number"] = walk_in[:-1] + ("0" if walk_in[-1] != "0" else "1")
            r = await http.post("/api/cases", json=bad, headers=jingban)
            assert (r.status_code, r.json()["code"]) == (422, "invalid"), r.text
            request = {
                "kind": "help",
                "needs": ["medical_costs", "low_income"],
                "name": "钱七",
                "id_number": walk_in,
                "phone": "15056408888",
                "township_code": SHIPO,
                "village_code": SHIPO_VILLAGE,
                "description": f"看病负担重，电话 15056408888，身份证 {walk_in}",
            }
            r = await http.post("/api/frontdoor/requests", json=request, headers=jingban)
            assert r.status_code == 201, r.text
            emergency = {
                "kind": "fire",
                "description": "夜间房屋失火，联系电话 +86 139-5640-9999",
                "household": {
                    "name": "赵六",
                    "id_number": victim,
                    "phone": "+86 139-5640-9999",
                    "township_code": SHIPO,
                    "village_code": SHIPO_VILLAGE,
                    "address": "示范村一 赵家湾 3 号",
                    "members": 4,
                },
            }
            r = await http.post("/api/emergencies", json=emergency, headers=cun)
            assert r.status_code == 201, r.text
            r = await http.get(f"/api/households/{victim}", headers=qu)  # a 404 and a 422 with the number
            assert (r.status_code, r.json()["code"]) == (404, "not_found"), r.text
            r = await http.post("/api/households/lookup", json={"id_number": victim[:-1]}, headers=qu)
            assert (r.status_code, r.json()["code"]) == (422, "invalid"), r.text
            await asyncio.sleep(1)  # let the front door's activities and their logs run
    finally:
        server.should_exit = True
        await serving

    out, err = capfd.readouterr()
    logged = out + err
    assert "case accepted" in logged and "case opened" in logged and "POST /api/households/lookup" in logged
    assert mask_id(victim) in logged  # the access log line of the probe with the number in its URL, masked
    leaks = []
    for number in numbers:
        digits = number.replace(" ", "").replace("-", "").removeprefix("+86")
        for form in {number, digits, digits.lower()}:
            if form in logged:
                leaks.append(f"{form}: …{logged[max(0, logged.index(form) - 150) : logged.index(form) + 40]}…")
    assert not leaks, "numbers in the logs:\n" + "\n".join(leaks)
