"""The front door's workflows keep what is elsewhere or about someone from those it must not reach: the 12349
triage of one township learns only that a person has an open emergency event in another (not its id), and a
complaint about a case is kept from everyone who handled the case, by user name, and its notice to the unit
carries neither the complainant nor the content."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from rules.frontdoor_actions import ComplaintAction, RequestAction
from schemas.frontdoor import (
    ComplaintAccept,
    ComplaintNames,
    ComplaintState,
    IntakeNames,
    IntakeState,
    RequestKind,
    Triage,
    complaint_workflow_id,
)
from tests.support.actions import update_of
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.emergency import start_emergency
from tests.support.factories import actor, resident_id
from tests.support.frontdoor import submit
from tests.support.review import start, until_stage
from tests.support.workflows import end_if_running, eventually, query_until, refused
from workflows.intake import OPEN_ELSEWHERE_TEXT


@pytest.mark.start_at(beijing(2026, 12, 4, 10, 0))
async def test_the_triage_of_another_township_is_not_told_the_open_event(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    person = resident_id(date(1958, 1, 9), seq=732)
    await start_emergency(review_env, "OPEN-732", id_number=person)  # 石婆店镇
    h = await submit(
        review_env,
        "12349-20261204-B00002",
        RequestKind.HELP,
        ["sudden_hardship"],
        id_number=person,
        township_code="341503104",  # 顺河镇
        village_code="341503104201",
    )
    await query_until(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    triage = Triage(actor=actor("shunhe_jingban"), needs=["sudden_hardship"], emergency_kind="illness")
    state = await h.execute_update(update_of(RequestAction.TRIAGE), triage, result_type=IntakeState)
    [need] = state.needs
    assert (need.status, need.target_id, need.answer) == ("answered", None, OPEN_ELSEWHERE_TEXT)
    assert "OPEN-732" not in OPEN_ELSEWHERE_TEXT and "石婆店" not in OPEN_ELSEWHERE_TEXT
    assert await pool.fetchval("select array_agg(event_id) from emergencies") == ["OPEN-732"]
    await end_if_running(h)  # its one need answered, the request may close by itself


@pytest.mark.start_at(beijing(2026, 12, 4, 10, 0))
async def test_a_complaint_is_kept_from_those_who_handled_the_case(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    case = await start(review_env, "COMPLAINED-2")
    await until_stage(case, "investigation")
    handlers = {r["actor"] for r in await pool.fetch("select actor from case_events where actor is not null")}
    assert "shipo_jingban" in handlers and "shipo_shenpi" not in handlers
    await submit(
        review_env,
        "12349-20261204-A00004",
        RequestKind.COMPLAINT,
        [],
        about_case_id="COMPLAINED-2",
        about_person="某工作人员",  # a name that is nobody's: only the case's handlers are about it
        description="入户调查时态度恶劣，材料被退回三次",
    )
    c = review_env.client.get_workflow_handle(complaint_workflow_id("TS-20261204-A00004"))
    # limits that show mean the case's handlers are known (workflows.complaint.HANDLERS_FIRST): at once refused
    await query_until(c, ComplaintNames.STATE, ComplaintState, lambda s: s.accept_due is not None)
    err = await refused(
        c.execute_update(update_of(ComplaintAction.ACCEPT), ComplaintAccept(actor=actor("shipo_jingban")))
    )
    assert err.type == "recused"
    await c.execute_update(update_of(ComplaintAction.ACCEPT), ComplaintAccept(actor=actor("shipo_shenpi")))

    async def notice() -> asyncpg.Record | None:
        return await pool.fetchrow("select audience, subject, body from notifications where subject = '新的投诉'")

    row = await eventually(notice, "the unit told of the complaint")
    assert tuple(row) == (
        "role:district_officer@341503",  # about a case: the district, not the unit's approvers
        "新的投诉",
        "收到投诉 TS-20261204-A00004，请登录系统查看并办理",
    )
    await case.terminate("test over")
