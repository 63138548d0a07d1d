"""撤回 and 终止 (issue 17, point 3): a case closed before enrolment, under the time-skipping server with a real
worker and PostgreSQL. The clock stops, nothing is published or enrolled, the case's people are free again."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import asyncpg
import pytest

from rules.stages import Action
from schemas.review import Decision, MissingMaterials, Termination, Withdrawal
from tests.support.clock import SkippingEnvironment, beijing, on_day
from tests.support.factories import actor
from tests.support.review import IN_NOTICE, TO_HEARING, act, events, investigate, refused, start, state, until_stage

START = beijing(2026, 11, 24, 9, 30)  # a Tuesday; accepted on 2026-11-24


@pytest.mark.start_at(START)
async def test_withdrawn_at_the_applicants_request(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    h = await start(review_env, "WD-1")
    s = await until_stage(h, "investigation")
    today = s.clock.accepted_on
    assert today == date(2026, 11, 24)
    await act(h, Action.MISSING_MATERIALS, MissingMaterials(actor=actor("shipo_jingban"), items=["户口簿"]))
    statement = Withdrawal(
        actor=actor("shipo_jingban"), statement_signed_on=today, statement_ref="CH-2026-017", reason="家庭收入已改善"
    )
    # only a caseworker; the statement must be signed after the acceptance and not in the future
    err = await refused(h, Action.WITHDRAW, statement.model_copy(update={"actor": actor("shipo_shenpi")}))
    assert (err.type, err.message) == ("wrong_role", "「撤回申请」须由乡镇经办人办理，您是乡镇审批人")
    err = await refused(h, Action.WITHDRAW, statement.model_copy(update={"statement_signed_on": date(2026, 11, 23)}))
    assert (err.type, err.message) == ("invalid", "撤回申请书的签署日期应在受理之后、今天之前")
    await review_env.sleep(timedelta(days=2))
    ack = await act(h, Action.WITHDRAW, statement)  # while the clock waits for materials, too
    assert ack.stage == "withdrawn"
    outcome = await h.result()
    assert (outcome.stage, outcome.monthly_amount, outcome.first_payment_month) == ("withdrawn", None, None)
    s = await state(h)
    assert (s.stage, s.stage_label, s.clock.stopped) == ("withdrawn", "已撤回", True)
    last = s.timeline[-1]
    assert (last.kind, last.actor, last.event_key) == ("withdraw", "shipo_jingban", ack.event_key)
    assert last.payload == {
        "statement_signed_on": "2026-11-24",
        "statement_ref": "CH-2026-017",
        "reason": "家庭收入已改善",
    }
    assert last.summary == "申请人申请撤回（撤回申请书 CH-2026-017，2026-11-24 签署）：家庭收入已改善；案件办结"
    assert await events(pool, "WD-1") == ["accepted", "verification_requested", "missing_materials", "withdraw"]
    case = await pool.fetchrow("select stage, status, closed_at from cases where case_id = 'WD-1'")
    assert (case["stage"], case["status"], case["closed_at"]) == ("withdrawn", "withdrawn", last.at)
    assert on_day(last.at) == date(2026, 11, 26)
    assert await pool.fetchval("select count(*) from open_applications where case_id = 'WD-1'") == 3
    assert await pool.fetchval("select count(*) from open_applications where released_at is null") == 0
    assert await pool.fetchval("select count(*) from recipients where case_id = 'WD-1'") == 0
    assert await pool.fetchval("select count(*) from notifications where case_id = 'WD-1' and kind = 'notice-6'") == 0


@pytest.mark.start_at(START)
async def test_terminated_during_the_public_notice(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    h = await start(review_env, "TM-1")
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    s = await until_stage(h, "public_notice")
    assert s.notice_ends_at == beijing(2026, 12, 2)  # 7 calendar days from 11-24: the last is 12-01
    termination = Termination(actor=actor("shipo_shenpi"), reasons="申请人已迁出本区")
    err = await refused(h, Action.TERMINATE, termination.model_copy(update={"actor": actor("shipo_jingban")}))
    assert (err.type, err.message) == ("wrong_role", "「终止审核」须由乡镇审批人办理，您是乡镇经办人")
    err = await refused(h, Action.TERMINATE, termination.model_copy(update={"reasons": "    "}))
    assert (err.type, err.message) == ("incomplete", "终止审核须书面写明理由")
    await review_env.sleep(timedelta(days=3))
    ack = await act(h, Action.TERMINATE, termination)
    assert ack.stage == "terminated"
    outcome = await h.result()
    assert (outcome.stage, outcome.monthly_amount) == ("terminated", None)
    s = await state(h)
    last = s.timeline[-1]
    assert (last.kind, last.payload, last.summary) == (
        "terminate",
        {"reasons": "申请人已迁出本区"},
        "终止审核，案件办结。理由：申请人已迁出本区",
    )
    assert on_day(last.at) == date(2026, 11, 27)
    assert await events(pool, "TM-1") == [*IN_NOTICE, "terminate"]
    case = await pool.fetchrow("select stage, status from cases where case_id = 'TM-1'")
    assert (case["stage"], case["status"]) == ("terminated", "terminated")
    assert await pool.fetchval("select count(*) from recipients where case_id = 'TM-1'") == 0
    note = await pool.fetchrow(
        "select audience, body from notifications where case_id = 'TM-1' and kind = 'terminated'"
    )
    assert (note["audience"], note["body"]) == (
        "applicant",
        "您的最低生活保障申请已终止审核。理由：申请人已迁出本区。如有异议，可依法申请行政复议或提起行政诉讼。",
    )


@pytest.mark.start_at(START)
async def test_terminated_in_the_hearing_by_the_approver(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    h = await start(review_env, "TM-2")
    await until_stage(h, "investigation")
    from tests.support.review import home_visit, interview, verification

    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(date(2026, 11, 24)))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(date(2026, 11, 24)))
    ack = await act(h, Action.TERMINATE, Termination(actor=actor("shipo_shenpi"), reasons="重复受理，录入有误"))
    assert ack.stage == "terminated"
    assert (await h.result()).stage == "terminated"
    assert await events(pool, "TM-2") == [*TO_HEARING, "terminate"]


@pytest.mark.start_at(START)
async def test_withdraw_and_terminate_at_once_close_the_case_once(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start(review_env, "TM-3")
    today = (await until_stage(h, "investigation")).clock.accepted_on
    withdrawal = Withdrawal(actor=actor("shipo_jingban"), statement_signed_on=today, statement_ref="CH-2026-003")
    termination = Termination(actor=actor("shipo_shenpi"), reasons="申请人已迁出本区")
    answers = await asyncio.gather(
        act(h, Action.WITHDRAW, withdrawal), act(h, Action.TERMINATE, termination), return_exceptions=True
    )
    acks = [a for a in answers if not isinstance(a, BaseException)]
    failures = [a for a in answers if isinstance(a, BaseException)]
    assert len(acks) == 1 and len(failures) == 1
    outcome = await h.result()
    # refused while the first is being recorded, or once it is
    other = {"withdrawn": "终止审核", "terminated": "撤回申请"}[outcome.stage]
    closed = {"withdrawn": "已撤回", "terminated": "已终止"}[outcome.stage]
    assert failures[0].cause.type == "wrong_stage"
    assert failures[0].cause.message in (
        "案件正在撤回或终止，不能重复办理",
        f"当前阶段为「{closed}」，不能办理「{other}」",
    )
    assert outcome.stage == acks[0].stage
    kinds = await events(pool, "TM-3")
    assert kinds[:2] == ["accepted", "verification_requested"] and len(kinds) == 3
    assert kinds[2] == {"withdrawn": "withdraw", "terminated": "terminate"}[outcome.stage]
