"""Who may do what, in which order: the workflow's validators refuse at once with a code and a reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from db import policy_repo
from infra.config import TASK_QUEUE
from rules.stages import Action
from schemas.policy import Policy
from schemas.relatives import NamesakeResolution
from schemas.review import (
    CaseOutcome,
    Decision,
    Hearing,
    Objection,
    ReviewNames,
    ReviewStart,
    TakeOver,
    workflow_id_for,
)
from tests.support.clock import SkippingEnvironment, beijing, midnight_after, minute
from tests.support.factories import actor, application
from tests.support.review import (
    IN_NOTICE,
    TO_DECISION,
    act,
    events,
    hearing,
    home_visit,
    interview,
    investigate,
    refused,
    start,
    state,
    until_stage,
    verification,
)


@pytest.mark.start_at(beijing(2026, 11, 30, 10, 0))  # decided on the last day of a month
async def test_objection_sends_the_case_back_then_a_new_notice(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start(review_env, "OBJECT-1")
    today = await investigate(h)
    assert today == date(2026, 11, 30)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="C"))
    s = await until_stage(h, "public_notice")
    # 7 calendar days after 11-30: the notice's last day is 12-07, it ends at 00:00 Beijing on 12-08
    notice_ends = midnight_after(date(2026, 12, 7))
    assert notice_ends == beijing(2026, 12, 8)
    assert s.notice_ends_at == notice_ends
    ack = await act(
        h,
        Action.OBJECTION,
        Objection(
            actor=actor("shipo_cun1"), objector="村民张某", content="该户有子女在外务工，收入未申报", route="hearing"
        ),
    )
    assert ack.stage == "hearing"
    s = await state(h)
    assert s.decision is None and s.objections == 1 and s.notice_ends_at is None
    err = await refused(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="C"))
    assert err.type == "wrong_stage"
    await act(h, Action.HEARING, hearing(today).model_copy(update={"summary": "复议：子女收入已核实，仍符合条件"}))
    await act(
        h,
        Action.DECISION,
        Decision(
            actor=actor("shipo_shenpi"),
            approve=True,
            category="C",
            monthly_amount=Decimal("1200.00"),
            override_reason="扣除子女赡养费后核定",
        ),
    )
    s = await until_stage(h, "public_notice")
    assert s.notice_ends_at == notice_ends  # decided again the same day: the new notice ends at the same instant
    outcome = await h.result()  # the server skips to the notice's end
    assert (outcome.stage, outcome.monthly_amount, outcome.first_payment_month) == (
        "enrolled",
        Decimal("1200.00"),
        date(2026, 12, 1),  # the month after the decision's
    )
    [enrolled] = [e for e in (await state(h)).timeline if e.kind == "enrolled"]
    assert minute(enrolled.at) == notice_ends
    kinds = await events(pool, "OBJECT-1")
    assert kinds == [
        *IN_NOTICE,
        "objection",
        "hearing",
        "decision",
        "notice_started",
        "enrolled",
    ]
    notices = await pool.fetchval(
        "select count(*) from notifications where case_id = 'OBJECT-1' and kind like 'notice-%'"
    )
    assert notices == 2


async def test_order_role_jurisdiction_and_completeness(review_env: WorkflowEnvironment) -> None:
    h = await start(review_env, "RULES-1")
    s = await until_stage(h, "investigation")
    today = s.clock.accepted_on

    cases = [
        (Action.HEARING, hearing(today), "wrong_stage", "当前阶段为「调查核实"),
        (Action.HOME_VISIT, home_visit(today, by="qu_jiandu", with_="shipo_jingban"), "wrong_role", "监督员"),
        (
            Action.HOME_VISIT,
            home_visit(today, by="shunhe_jingban", with_="shipo_jingban"),
            "out_of_jurisdiction",
            "辖区",
        ),
        (
            Action.HOME_VISIT,
            home_visit(today).model_copy(update={"investigators": ["shipo_jingban"]}),
            "incomplete",
            "至少需要 2 名",
        ),
        (Action.HOME_VISIT, home_visit(today).model_copy(update={"family_signatures": []}), "incomplete", "签字"),
        (Action.HOME_VISIT, home_visit(today).model_copy(update={"findings": " "}), "incomplete", "调查情况"),
        (
            Action.VERIFICATION_RESULT,
            verification().model_copy(update={"actor": actor("shipo_jingban")}),
            "wrong_role",
            "区民政局工作人员",
        ),
        (Action.TAKE_OVER, TakeOver(actor=actor("qu_minzheng"), reason="提前接管"), "wrong_stage", "未超期"),
    ]
    for name, arg, code, fragment in cases:
        err = await refused(h, name, arg)
        assert err.type == code, (name, err.message)
        assert fragment in err.message, err.message

    await act(h, Action.VERIFICATION_RESULT, verification())
    err = await refused(h, Action.VERIFICATION_RESULT, verification())
    assert "不能重复" in err.message
    await act(h, Action.HOME_VISIT, home_visit(today))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    await act(h, Action.HEARING, hearing(today))
    # An investigator may not approve; the caseworker is no approver at all.
    approver_who_investigated = actor("shipo_shenpi")
    s = await state(h)
    assert s.investigators == ["shipo_cun1", "shipo_diaocha", "shipo_jingban"]  # the interviewer too
    err = await refused(h, Action.DECISION, Decision(actor=actor("shipo_jingban"), approve=True, category="A"))
    assert err.type == "wrong_role"
    err = await refused(h, Action.DECISION, Decision(actor=approver_who_investigated, approve=True, category="Z"))
    assert err.type == "invalid" and "A、B、C" in err.message
    err = await refused(
        h,
        Action.DECISION,
        Decision(actor=approver_who_investigated, approve=True, category="A", monthly_amount=Decimal("2000.00")),
    )
    assert err.type == "incomplete" and "1566.00" in err.message
    # Nothing refused left a trace in the timeline.
    assert [e.kind for e in (await state(h)).timeline] == TO_DECISION[:-1]
    await h.terminate("test over")


async def add_policy(pool: asyncpg.Pool, **review: object) -> None:
    """Policy version 2, in force from 2026-01-01, with these review settings changed."""
    async with pool.acquire() as conn:
        current = await policy_repo.get(conn, 1)
        changed = Policy.model_validate(
            current.model_dump()
            | {"version": 2, "effective_from": "2026-01-01", "review": current.review.model_dump() | review}
        )
        await policy_repo.add(conn, changed, "test")


@pytest.mark.start_at(beijing(2026, 1, 1, 0, 30))  # the new policy's first day in Beijing
async def test_investigator_cannot_approve(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    """Where the district approves, the district officer who visited the household may not decide the case."""
    await add_policy(pool, approval_level_by_township={"341503106": "district"})
    h = await start(review_env, "RULES-2")
    s = await until_stage(h, "investigation")
    today = s.clock.accepted_on
    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    await act(h, Action.HEARING, hearing(today))
    err = await refused(h, Action.DECISION, Decision(actor=actor("qu_minzheng"), approve=True, category="A"))
    assert (err.type, err.message) == ("investigator_approver", "审批人不得是本案的调查人员")
    await h.terminate("test over")


async def test_related_staff_are_barred_and_the_district_must_visit(
    review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    app = application("REL-1", declared=("刘芳",))
    applicant_id = app.household.applicant.id_number
    uid = await pool.fetchval("select id from users where username = 'shipo_diaocha'")
    await pool.execute(
        "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
        "values ($1, $2, $3, '表兄')",
        uid,
        app.household.applicant.name,
        applicant_id,
    )
    h = await review_env.client.start_workflow(
        ReviewNames.WORKFLOW,
        ReviewStart(application=app, accepted_by=actor("shipo_jingban")),
        id=workflow_id_for("REL-1"),
        task_queue=TASK_QUEUE,
        result_type=CaseOutcome,
    )
    s = await until_stage(h, "investigation")
    # the register bars shipo_diaocha; the name declared (刘芳, shipo_cun1's) is only a warning until confirmed
    assert s.barred_staff == ["shipo_diaocha"] and s.district_visit_required
    assert [(n.username, n.resolution) for n in s.namesakes] == [("shipo_cun1", "pending")]
    today = s.clock.accepted_on
    err = await refused(h, Action.HOME_VISIT, home_visit(today, by="shipo_diaocha", with_="shipo_jingban"))
    assert err.type == "recused" and "回避" in err.message
    err = await refused(h, Action.HOME_VISIT, home_visit(today))  # lists shipo_diaocha as investigator
    assert err.type == "recused" and "shipo_diaocha" in err.message
    confirm = NamesakeResolution(actor=actor("shipo_jingban"), username="shipo_cun1", same_person=True)
    await act(h, ReviewNames.RESOLVE_NAMESAKE, confirm)
    assert (await state(h)).barred_staff == ["shipo_cun1", "shipo_diaocha"]
    err = await refused(h, Action.NEIGHBOUR_INTERVIEW, interview(today))  # by shipo_cun1, declared relative
    assert err.type == "recused"

    await act(h, Action.VERIFICATION_RESULT, verification())
    # one caseworker of the township is left: a district officer makes the pair (not the district's own visit)
    await act(h, Action.HOME_VISIT, home_visit(today, by="shipo_jingban", with_="qu_minzheng"))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today).model_copy(update={"actor": actor("shipo_jingban")}))
    assert (await state(h)).stage == "investigation"  # still waiting for the district's own visit
    ack = await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    assert ack.stage == "hearing"
    assert await events(pool, "REL-1") == [
        "accepted",
        "relatives_matched",
        "relatives_namesake",
        "verification_requested",
        "relatives_matched",
        "verification_result",
        "home_visit",
        "neighbour_interview",
        "home_visit",
    ]
    assert await pool.fetchval("select relatives_match from cases where case_id = 'REL-1'") is True
    await h.terminate("test over")


@pytest.mark.start_at(beijing(2026, 1, 1, 0, 30))  # 16:30 UTC on 12-31: the new policy's first day in Beijing
async def test_hearing_optional_when_policy_says_so(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    await add_policy(pool, hearing_mandatory=False)
    h = await start(review_env, "NOHEAR-1")
    s = await until_stage(h, "investigation")
    assert (s.clock.accepted_on, s.policy_version) == (date(2026, 1, 1), 2)
    today = s.clock.accepted_on
    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(today))
    ack = await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    assert ack.stage == "decision"
    err = await refused(
        h,
        Action.HEARING,
        Hearing(actor=actor("shipo_jingban"), held_on=today, participants=["甲"], opinion="agree", summary="无需评议"),
    )
    assert err.type == "wrong_stage"
    await h.terminate("test over")
