"""Issue 16, point 11, the review (dibao / tekun cases): the places × roles matrix on real workflows
(tests/support/authz.py says how a route's answers are stated). Cases of 石婆店镇示范村一 are accepted through the
API and acted on until their clock has paused and resumed, the neighbour interview and the verification result
recorded; every caller of every place is tried on each route, the refusals first.

Creation with an existing id: an application id of 石婆店镇 sent by a township of elsewhere (顺河镇, a township of a
second district) gets 409 `application_id_taken` and the same words whether the case has its row or was started a
moment ago; in its own township the same id attaches (200)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from schemas.review import ReviewNames, ReviewStart, workflow_id_for
from tests.security.conftest import World
from tests.support.authz import (
    D2_TOWN,
    D2_VILLAGE,
    DISTRICT,
    FOREIGN,
    OFF,
    T2,
    T2_VILLAGE,
    TOWNSHIP,
    VILLAGE,
    Matrix,
    Route,
    holders,
    not_shown_to,
    shown_to,
)
from tests.support.clock import beijing, on_day
from tests.support.factories import actor, application
from webapp.authz import who

START = beijing(2026, 12, 4, 9, 0)  # a Friday morning in Beijing
pytestmark = pytest.mark.start_at(START)

LIVE, OTHER, PENDING = "AZ-shipo_jingban", "AZ-shipo_shenpi", "AZ-PENDING-1"
READERS = (*VILLAGE, *TOWNSHIP, *DISTRICT)  # who read a case of 石婆店镇示范村一
CASE_TAKEN = {"code": "application_id_taken", "message": "该申请编号已被使用，请换一个编号或留空由系统生成"}
WRONG_ROLE = (403, "wrong_role")
APPLICATIONS = {case_id: application(case_id) for case_id in (LIVE, OTHER)}
APPLICANT_ID = APPLICATIONS[LIVE].household.members[0].id_number


def _new_case(user: str) -> dict[str, Any]:
    """Each caller's own application of a household of 石婆店镇示范村一, numbered after the caller."""
    case_id = f"AZ-{user}"
    return (APPLICATIONS.get(case_id) or application(case_id)).model_dump(mode="json")


def _rehomed(case_id: str):
    """The application `case_id` again, but of a household of the caller's own township: creation with an existing
    id, from elsewhere."""

    def body(user: str) -> dict[str, Any]:
        town, village = {"shunhe": (T2, T2_VILLAGE), "jinan": (D2_TOWN, D2_VILLAGE)}.get(
            user.split("_")[0], ("341503106", "341503106201")
        )
        data = application(case_id).model_dump(mode="json")
        data["household"] |= {"township_code": town, "village_code": village, "address": "本乡镇 1 号"}
        return data

    return body


def _ack(stage: str, paused: bool):
    async def effect(user: str, r: httpx.Response) -> None:
        assert (r.json()["stage"], r.json()["paused"]) == (stage, paused), r.json()

    return effect


async def _stage(w: World, case_id: str) -> str | None:
    return await w.pool.fetchval("select stage from cases where case_id = $1", case_id)


@pytest.mark.timeout(300)
async def test_review_by_place(world: World, matrix: Matrix, review_env) -> None:
    w = world
    today = on_day(START).isoformat()
    problems: list[str] = []

    async def no_refused_case() -> None:
        found = await w.pool.fetch("select case_id from cases where case_id like 'AZ-%'")
        assert not found, found

    # Accepting an application: the township's staff, for their township only.
    problems += await matrix.check(
        Route(
            "POST",
            "/api/cases",
            who("case.accept"),
            ok=TOWNSHIP,
            status=202,
            json=_new_case,
            unchanged=no_refused_case,
        )
    )
    for _ in range(300):
        if await _stage(w, LIVE) == "investigation" and await _stage(w, OTHER) == "investigation":
            break
        await asyncio.sleep(0.1)
    assert (await _stage(w, LIVE), await _stage(w, OTHER)) == ("investigation", "investigation")

    # Creation with an existing id: a running case with its row, and one started a moment ago without it.
    pending = await review_env.client.start_workflow(
        ReviewNames.WORKFLOW,
        ReviewStart(application=application(PENDING), accepted_by=actor("shipo_jingban")),
        id=workflow_id_for(PENDING),
        task_queue="nobody-polls-this",
    )
    try:
        for case_id in (LIVE, PENDING):
            problems += await matrix.check(
                Route(
                    "POST",
                    "/api/cases",
                    who("case.accept"),
                    ok=TOWNSHIP,
                    status=200,  # the same township: the existing case
                    json=_rehomed(case_id),
                    answers=dict.fromkeys(("shunhe_jingban", "shunhe_shenpi", "jinan_jingban"), (409, CASE_TAKEN)),
                )
            )
    finally:
        await pending.terminate()
    assert await w.pool.fetchval("select count(*) from cases where case_id like 'AZ-%'") == 2

    # Reading the case, its pages, PDFs, the lists and the export, the household view.
    read = who("case.read")
    problems += await matrix.check(
        Route("GET", f"/api/cases/{LIVE}", read, ok=READERS, effect=shown_to(READERS, APPLICANT_ID[:6]))
    )
    for url in (f"/cases/{LIVE}", f"/cases/{LIVE}/approval.pdf"):
        problems += await matrix.check(Route("GET", url, read, ok=READERS))
    history = (*TOWNSHIP, *DISTRICT)
    for url in (f"/cases/{LIVE}/history", f"/cases/{LIVE}/casefile.pdf"):
        problems += await matrix.check(Route("GET", url, who("case.history"), ok=history))
    for url in ("/api/cases", "/api/verification-requests", "/cases", "/cases/export.csv"):
        problems += await matrix.check(
            Route("GET", url, read, ok=holders(who("case.read")), effect=shown_to(READERS, LIVE))
        )
    # The inbox: each its own tasks; never a task of the village's case elsewhere.
    problems += await matrix.check(
        Route("GET", "/inbox", who("case.inbox"), ok=holders(who("case.inbox")), effect=not_shown_to(FOREIGN, LIVE))
    )
    problems += await matrix.check(
        Route(
            "POST",
            "/api/households/lookup",
            who("household.view"),
            ok=holders(who("household.view")),
            json={"id_number": APPLICANT_ID},
            effect=shown_to(history, LIVE),
        )
    )

    # Acting on the cases: each allowed caller on a case of its own where one would change what the next finds;
    # the roles the web app lets through get the workflow's own 403 `wrong_role`.
    def on(action: str, **cases: str):
        return lambda user: f"/api/cases/{cases.get(user, LIVE)}/actions/{action}"

    problems += await matrix.check(
        Route(
            "POST",
            on("missing_materials", shipo_shenpi=OTHER),
            who("case.act"),
            ok=TOWNSHIP,
            json={"items": ["户口簿"]},
            answers=dict.fromkeys(("shipo_cun1", "qu_minzheng"), WRONG_ROLE),
            effect=_ack("investigation", True),
        )
    )
    problems += await matrix.check(
        Route(
            "POST",
            on("materials_supplied", shipo_shenpi=OTHER),
            who("case.act"),
            ok=TOWNSHIP,
            json={},
            answers=dict.fromkeys(("shipo_cun1", "qu_minzheng"), WRONG_ROLE),
            effect=_ack("investigation", False),
        )
    )
    problems += await matrix.check(
        Route(
            "POST",
            on("neighbour_interview", shipo_jingban=OTHER),
            who("case.act"),
            ok=("shipo_cun1", "shipo_jingban"),
            json={"interviewed_on": today, "interviewees": ["邻居张三", "邻居李四"], "findings": "确实困难"},
            answers=dict.fromkeys(("shipo_shenpi", "qu_minzheng"), WRONG_ROLE),
            effect=_ack("investigation", False),
        )
    )
    problems += await matrix.check(
        Route(
            "POST",
            on("verification_result"),
            who("case.act"),
            ok=("qu_minzheng",),
            json={"verified_monthly_income": "600.00", "assets_within_limits": True, "findings": "无异常"},
            answers=dict.fromkeys(("shipo_cun1", "shipo_jingban", "shipo_shenpi"), WRONG_ROLE),
            effect=_ack("investigation", False),
        )
    )
    # The case page's form acts the same way (a page: 403 for every refusal, the case page again when done).
    problems += await matrix.check(
        Route(
            "POST",
            lambda user: f"/cases/{OTHER if user == 'shipo_shenpi' else LIVE}/act/missing_materials",
            who("case.act"),
            ok=TOWNSHIP,
            status=303,
            form={"items": "户口簿"},
        )
    )
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)
    assert matrix.tried == 304  # every caller on every route above: none left out

    # What the allowed actions did, read back from the case's log: each by the caller allowed, none by another.
    expected = {
        LIVE: [
            ("missing_materials", "shipo_jingban"),
            ("materials_supplied", "shipo_jingban"),
            ("neighbour_interview", "shipo_cun1"),
            ("verification_result", "qu_minzheng"),
            ("missing_materials", "shipo_jingban"),  # the page's form
        ],
        OTHER: [
            ("missing_materials", "shipo_shenpi"),
            ("materials_supplied", "shipo_shenpi"),
            ("neighbour_interview", "shipo_jingban"),
            ("missing_materials", "shipo_shenpi"),
        ],
    }
    for case_id, steps in expected.items():
        detail = (await matrix.call("qu_minzheng", Route("GET", f"/api/cases/{case_id}", {OFF}))).json()
        done = [(e["kind"], e["actor"]) for e in detail["events"] if e["actor"] and e["kind"] != "accepted"]
        assert done == steps, (case_id, done)
