"""One decision per round, both time limits (promised and statutory, with the district's extension), notice
periods left out of the limits, and objections that reach the case through 12349 — under the time-skipping
server, each test at a stated Beijing instant, every expected date written out and counted with the calendar."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db import policy_repo
from db.calendar_repo import load_calendar
from rules.stages import Action
from schemas.policy import Policy
from schemas.review import ActionAck, DeadlineExtension, Decision, Objection, ObjectionFiled, ReviewNames
from tests.support.clock import SkippingEnvironment, beijing, midnight_after
from tests.support.factories import actor
from tests.support.review import (
    act,
    eventually_state,
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

APPROVE = Decision(actor=actor("shipo_shenpi"), approve=True, category="B")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_two_racing_decisions_one_wins_the_other_is_already_decided(review_env: SkippingEnvironment) -> None:
    h = await start(review_env, "RACE-1")
    await investigate(h)
    refuse = Decision(actor=actor("shipo_shenpi"), approve=False, reasons="家庭人均收入高于当地低保标准")
    results = await asyncio.gather(
        h.execute_update(Action.DECISION.value, APPROVE, result_type=ActionAck),
        h.execute_update(Action.DECISION.value, refuse, result_type=ActionAck),
        return_exceptions=True,
    )
    acks = [r for r in results if isinstance(r, ActionAck)]
    failures = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert (len(acks), len(failures)) == (1, 1), results
    cause = failures[0].cause
    assert isinstance(cause, ApplicationError) and cause.type == "already_decided"
    assert cause.message == "本轮审核确认已作出决定，不能重复决定；如有异议，应在公示期间提出"
    s = await state(h)
    assert [e.kind for e in s.timeline].count("decision") == 1
    assert s.decision is not None and s.decision.approve == (results[0] is acks[0])  # the first applied wins


@pytest.mark.start_at(beijing(2026, 12, 4, 10, 0))
async def test_promised_and_statutory_limits_and_the_districts_extension(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start(review_env, "LIMITS-1")
    s = await until_stage(h, "investigation")
    # 20 working days from Friday 2026-12-04: 2027-01-01 (元旦) is off by the law before any 2027 notice
    assert (s.clock.deadline, s.clock.provisional) == (date(2027, 1, 4), True)
    # 30 working days: 12-07..12-31 (19), 01-04..01-08 (24), 01-11..01-15 (29), 01-18
    assert (s.clock.statutory_working_days, s.clock.statutory_deadline) == (30, date(2027, 1, 18))
    async with pool.acquire() as conn:
        cal = await load_calendar(conn)
    assert cal.add_working_days(date(2026, 12, 4), 30).date == date(2027, 1, 18)

    err = await refused(h, Action.EXTEND_DEADLINE, DeadlineExtension(actor=actor("shipo_jingban"), reasons="情况复杂"))
    assert err.type == "wrong_role"
    err = await refused(h, Action.EXTEND_DEADLINE, DeadlineExtension(actor=actor("qu_minzheng"), reasons="    "))
    assert (err.type, err.message) == ("incomplete", "延长法定办理时限须书面写明理由")
    reasons = "申请人家庭成员在外地务工，需异地协查收入"
    await act(h, Action.EXTEND_DEADLINE, DeadlineExtension(actor=actor("qu_minzheng"), reasons=reasons))
    s = await state(h)
    extended = cal.add_working_days(date(2026, 12, 4), 45).date
    # 01-18..01-29 (39), 02-01..02-04 (43); 春节 02-05..02-08 (除夕 to 初三), and 02-09, 02-10 make up for
    # 初一 and 初二 on the weekend (the law's rule, provisional until the 2027 notice): 02-11 (44), 02-12 (45)
    assert extended == date(2027, 2, 12)
    assert (s.clock.statutory_working_days, s.clock.statutory_deadline, s.clock.extended) == (45, extended, True)
    assert s.clock.deadline == date(2027, 1, 4)  # the promise does not move
    [event] = [e for e in s.timeline if e.kind == "extend_deadline"]
    assert event.payload == {"reasons": reasons, "statutory_working_days": 45, "statutory_deadline": str(extended)}
    err = await refused(h, Action.EXTEND_DEADLINE, DeadlineExtension(actor=actor("qu_minzheng"), reasons=reasons))
    assert (err.type, err.message) == ("wrong_stage", "法定办理时限已延长至 45 个工作日，不能再次延长")


@pytest.mark.start_at(beijing(2026, 11, 2, 9, 30))
async def test_overdue_on_either_limit_escalates_with_its_own_label(review_env: SkippingEnvironment) -> None:
    h = await start(review_env, "LATE-1")
    await until_stage(h, "investigation")
    await act(h, Action.VERIFICATION_RESULT, verification())  # the verification centre is on time
    # Monday 2026-11-02: promised 2026-11-30, statutory 2026-12-14 (no holidays in between)
    s = await state(h)
    assert (s.clock.deadline, s.clock.statutory_deadline) == (date(2026, 11, 30), date(2026, 12, 14))
    await review_env.skip_to(midnight_after(date(2026, 12, 14)) + timedelta(hours=1))
    s = await eventually_state(h, lambda s: len(s.escalations) == 2, "both escalations")
    assert [(e.kind, e.deadline) for e in s.escalations] == [
        ("overdue", date(2026, 11, 30)),
        ("statutory_overdue", date(2026, 12, 14)),
    ]
    assert (s.clock.overdue, s.clock.statutory_overdue) == (True, True)
    texts = [e.summary for e in s.timeline if e.kind == "escalated"]
    assert texts == [
        "已超过承诺办结时限（2026-11-30），自动上报区民政局",
        "已超过法定办理时限（30 个工作日，2026-12-14），自动上报区民政局",
    ]


@pytest.mark.start_at(beijing(2026, 11, 2, 9, 30))
async def test_notice_periods_never_count_when_the_policy_leaves_them_out(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        base = await policy_repo.in_force(conn, date(2026, 11, 2))
        review = base.review.model_copy(update={"notice_counts_in_limit": False})
        await policy_repo.add(
            conn,
            Policy.model_validate(
                base.model_dump() | {"version": 2, "effective_from": date(2026, 11, 1), "review": review.model_dump()}
            ),
            "admin",
        )
    h = await start(review_env, "NOTICE-OUT-1")
    today = await investigate(h)
    assert today == date(2026, 11, 2)
    await act(h, Action.DECISION, APPROVE)
    await until_stage(h, "public_notice")
    assert (await state(h)).clock.deadline == date(2026, 11, 30)

    # first objection on Wednesday 11-04: 11-03 and 11-04 do not count
    await review_env.skip_to(beijing(2026, 11, 4, 10, 0))
    objection = Objection(actor=actor("shipo_jingban"), objector="村民", content="家中有经营性收入", route="hearing")
    await act(h, Action.OBJECTION, objection)
    s = await eventually_state(h, lambda s: s.clock.deadline != date(2026, 11, 30), "the first notice left out")
    assert s.clock.excluded_periods == [(date(2026, 11, 3), date(2026, 11, 4))]
    assert s.clock.deadline == date(2026, 12, 2)  # two working days later
    await act(h, Action.HEARING, hearing(date(2026, 11, 4)))
    await act(h, Action.DECISION, APPROVE)
    await until_stage(h, "public_notice")

    # second objection on Monday 11-09: 11-05, 11-06 and 11-09 do not count either
    await review_env.skip_to(beijing(2026, 11, 9, 10, 0))
    await act(h, Action.OBJECTION, objection)
    s = await eventually_state(h, lambda s: s.clock.deadline != date(2026, 12, 2), "the second notice left out")
    assert s.clock.excluded_periods == [(date(2026, 11, 3), date(2026, 11, 4)), (date(2026, 11, 5), date(2026, 11, 9))]
    async with pool.acquire() as conn:
        expected = (await load_calendar(conn)).add_working_days(date(2026, 11, 2), 20, s.clock.excluded_periods)
    assert expected.date == s.clock.deadline == date(2026, 12, 7)
    assert s.clock.statutory_deadline == date(2026, 12, 21)  # 30 working days, the same five left out
    assert s.objections == 2


@pytest.mark.start_at(beijing(2026, 11, 2, 9, 30))
async def test_an_objection_through_12349_during_the_notice_sends_the_case_back_for_the_districts_visit(
    review_env: SkippingEnvironment,
) -> None:
    h = await start(review_env, "NOTICE-12349")
    today = await investigate(h)
    await act(h, Action.DECISION, APPROVE)
    await until_stage(h, "public_notice")
    filed = ObjectionFiled(ref="Q20261102-0001", kind="objection", objector="同村村民", content="申请人有车辆未申报")
    await h.signal(ReviewNames.OBJECTION_FILED, filed)
    s = await until_stage(h, "investigation")
    assert (s.objections, s.decision, s.notice_ends_at, s.district_visit_required) == (1, None, None, True)
    [event] = [e for e in s.timeline if e.kind == "objection"]
    assert event.payload["via"] == "12349" and event.payload["ref"] == "Q20261102-0001"
    assert event.summary == (
        "公示期间经 12349 收到异议（Q20261102-0001）：申请人有车辆未申报；"
        "重新调查核实，须由区民政局入户调查，再重新审核确认并公示"
    )
    # the township's visit and interview are not enough: the district visits itself
    await act(h, Action.HOME_VISIT, home_visit(today))
    ack = await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    assert ack.stage == "investigation"
    ack = await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    assert ack.stage == "hearing"


@pytest.mark.start_at(beijing(2026, 11, 2, 9, 30))
async def test_a_complaint_during_the_notice_stops_enrolment(review_env: SkippingEnvironment) -> None:
    h = await start(review_env, "NOTICE-COMPLAINT")
    await investigate(h)
    await act(h, Action.DECISION, APPROVE)
    await until_stage(h, "public_notice")
    await h.signal(ReviewNames.COMPLAINT_FILED, "T20261102-0007")
    s = await until_stage(h, "investigation")
    assert (s.objections, s.district_visit_required, s.home_visit_done) == (1, True, False)
    # the notice's end passes: nothing is enrolled
    await review_env.skip_to(beijing(2026, 11, 12, 10, 0))
    assert (await state(h)).stage == "investigation"


@pytest.mark.start_at(beijing(2026, 12, 4, 10, 0))
async def test_two_racing_extensions_extend_once(review_env: SkippingEnvironment) -> None:
    h = await start(review_env, "EXTEND-RACE")
    await until_stage(h, "investigation")
    ask = DeadlineExtension(actor=actor("qu_minzheng"), reasons="申请人家庭成员在外地务工，需异地协查收入")
    results = await asyncio.gather(
        *(h.execute_update(Action.EXTEND_DEADLINE.value, ask, result_type=ActionAck) for _ in range(2)),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert (len([r for r in results if isinstance(r, ActionAck)]), len(failures)) == (1, 1), results
    cause = failures[0].cause
    assert isinstance(cause, ApplicationError) and cause.type == "wrong_stage"
    assert cause.message == "法定办理时限已延长至 45 个工作日，不能再次延长"
    assert [e.kind for e in (await state(h)).timeline].count("extend_deadline") == 1


@pytest.mark.start_at(beijing(2026, 11, 2, 9, 30))
async def test_a_complaint_after_the_districts_visit_asks_for_a_new_one(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """The district visited (as it may at any time); a complaint during the hearing sends the case back, and the
    district must visit again before the hearing: the case waits on the district, it does not stall."""
    from db.case_lists_repo import open_cases_for
    from schemas.staff import Role
    from webapp.review.inbox import tasks_for

    async def inbox(role: Role, username: str) -> list[str]:
        [case] = [c for c in await open_cases_for(pool, "341503", username) if c.case_id == "COMPLAINT-AGAIN"]
        return tasks_for(role, dataclasses.asdict(case))

    h = await start(review_env, "COMPLAINT-AGAIN")
    today = (await until_stage(h, "investigation")).clock.accepted_on
    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    ack = await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    assert ack.stage == "hearing"
    await h.signal(ReviewNames.COMPLAINT_FILED, "T20261102-0008")
    s = await until_stage(h, "investigation")
    assert (s.district_visit_required, s.district_visit_done, s.home_visit_done) == (True, False, True)
    row = await pool.fetchrow(
        "select district_visit_required, district_visit_done from cases where case_id = 'COMPLAINT-AGAIN'"
    )
    assert (row["district_visit_required"], row["district_visit_done"]) == (True, False)
    assert await inbox(Role.DISTRICT_OFFICER, "qu_minzheng") == ["district_home_visit"]
    err = await refused(h, Action.HEARING, hearing(today))
    assert err.type == "wrong_stage"
    ack = await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    assert ack.stage == "hearing"
    assert await inbox(Role.DISTRICT_OFFICER, "qu_minzheng") == []


@pytest.mark.start_at(beijing(2026, 11, 2, 9, 30))
async def test_dates_of_the_interview_and_the_hearing_lie_between_acceptance_and_today(
    review_env: SkippingEnvironment,
) -> None:
    h = await start(review_env, "STEP-DATES")
    today = (await until_stage(h, "investigation")).clock.accepted_on
    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(today))
    for on in (today - timedelta(days=1), today + timedelta(days=1)):
        err = await refused(h, Action.NEIGHBOUR_INTERVIEW, interview(on))
        assert (err.type, err.message) == ("invalid", "走访日期应在受理之后、今天之前")
    assert (await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))).stage == "hearing"
    for on in (today - timedelta(days=1), today + timedelta(days=1)):
        err = await refused(h, Action.HEARING, hearing(on))
        assert (err.type, err.message) == ("invalid", "评议日期应在受理之后、今天之前")
    assert (await act(h, Action.HEARING, hearing(today))).stage == "decision"


async def _inbox(pool: asyncpg.Pool, case_id: str, role: str, username: str) -> list[str]:
    from db.case_lists_repo import open_cases_for
    from schemas.staff import Role
    from webapp.review.inbox import tasks_for

    [case] = [c for c in await open_cases_for(pool, "341503", username) if c.case_id == case_id]
    return tasks_for(Role(role), dataclasses.asdict(case))


@pytest.mark.start_at(beijing(2026, 11, 2, 9, 30))
async def test_after_a_referral_the_decision_is_the_districts_task(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start(review_env, "REFERRED-1")
    today = (await until_stage(h, "investigation")).clock.accepted_on
    await act(h, Action.VERIFICATION_RESULT, verification(assets_ok=False))
    await act(h, Action.HOME_VISIT, home_visit(today))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    await act(h, Action.HEARING, hearing(today))
    assert await _inbox(pool, "REFERRED-1", "township_approver", "shipo_shenpi") == ["decision"]
    assert await _inbox(pool, "REFERRED-1", "district_officer", "qu_minzheng") == []
    reasons = "存款略超标准，系子女学费专款"
    ack = await act(h, Action.DECISION, APPROVE.model_copy(update={"override_reason": reasons}))
    assert (ack.stage, ack.event_key.split("-", 1)[1]) == ("decision", "referred_to_district")
    assert await pool.fetchval("select district_approval from cases where case_id = 'REFERRED-1'") is True
    assert await _inbox(pool, "REFERRED-1", "township_approver", "shipo_shenpi") == []
    assert await _inbox(pool, "REFERRED-1", "district_officer", "qu_minzheng") == ["decision"]


@pytest.mark.start_at(beijing(2026, 11, 2, 9, 30))  # Monday: the data check is due 2026-11-16
async def test_whoever_interviewed_the_neighbours_does_not_approve(review_env: SkippingEnvironment) -> None:
    from schemas.review import NeighbourInterview, TakeOver

    h = await start(review_env, "INTERVIEWER-1")
    today = (await until_stage(h, "investigation")).clock.accepted_on
    await review_env.skip_to(beijing(2026, 11, 17, 9, 0))  # the verification centre is late: escalated
    await eventually_state(h, lambda s: bool(s.escalations), "escalated")
    await act(h, Action.TAKE_OVER, TakeOver(actor=actor("qu_minzheng"), reason="核对超期，区级接管"))
    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(today))
    by_officer = interview(today).model_copy(update={"actor": actor("qu_minzheng")})
    assert isinstance(by_officer, NeighbourInterview)
    assert (await act(h, Action.NEIGHBOUR_INTERVIEW, by_officer)).stage == "hearing"
    await act(h, Action.HEARING, hearing(today).model_copy(update={"actor": actor("qu_minzheng")}))
    err = await refused(h, Action.DECISION, Decision(actor=actor("qu_minzheng"), approve=True, category="B"))
    assert (err.type, err.message) == ("investigator_approver", "审批人不得是本案的调查人员")
