"""The review workflow under the time-skipping server, with a real worker and embedded PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
from temporalio.testing import WorkflowEnvironment

from schemas.review import Decision, ReviewNames
from tests.factories import actor
from tests.review_support import act, events, investigate, refused, start, state, until_stage


async def test_happy_path_to_enrolment(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    h = await start(review_env, "HAPPY-1")
    s = await until_stage(h, "investigation")
    assert s.clock.deadline is not None and s.policy_version == 1
    await investigate(h)
    s = await state(h)
    # rural dibao 722/person; verified income 600 for 3 people -> 200 per head -> (722-200)*3
    assert s.proposed_amount == Decimal("1566.00")
    ack = await act(h, ReviewNames.DECIDE, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    assert ack.stage in ("decision", "public_notice")
    outcome = await h.result()
    assert outcome.stage == "enrolled" and outcome.monthly_amount == Decimal("1566.00")
    decided = (await state(h)).timeline
    assert [e.kind for e in decided][-2:] == ["notice_started", "enrolled"]
    rec = await pool.fetchrow("select * from recipients where case_id = 'HAPPY-1'")
    assert rec["monthly_amount_fen"] == 156600 and rec["people"] == 3 and rec["category"] == "B"
    assert rec["first_payment_month"].day == 1 and rec["first_payment_month"] > s.clock.accepted_on
    kinds = await events(pool, "HAPPY-1")
    assert kinds == [
        "accepted",
        "verification_requested",
        "verification_result",
        "home_visit",
        "neighbour_interview",
        "hearing",
        "decision",
        "notice_started",
        "enrolled",
    ]
    case = await pool.fetchrow("select stage, status, closed_at from cases where case_id = 'HAPPY-1'")
    assert (case["stage"], case["status"]) == ("enrolled", "enrolled") and case["closed_at"] is not None
    note = await pool.fetchrow("select * from notifications where case_id = 'HAPPY-1' and kind = 'approval'")
    assert note["audience"] == "applicant" and "1566.00" in note["body"]


async def test_refusal_with_reasons(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    h = await start(review_env, "REFUSE-1")
    await investigate(h)
    err = await refused(h, ReviewNames.DECIDE, Decision(actor=actor("shipo_shenpi"), approve=False, reasons=" "))
    assert (err.type, err.message) == ("incomplete", "不予批准必须书面写明理由")
    await act(
        h,
        ReviewNames.DECIDE,
        Decision(actor=actor("shipo_shenpi"), approve=False, reasons="家庭人均收入高于当地低保标准"),
    )
    outcome = await h.result()
    assert outcome.stage == "refused"
    note = await pool.fetchrow("select * from notifications where case_id = 'REFUSE-1' and kind = 'refusal'")
    assert "家庭人均收入高于当地低保标准" in note["body"] and note["deliver_by"] is not None
    assert await pool.fetchval("select count(*) from recipients where case_id = 'REFUSE-1'") == 0


async def test_second_start_with_same_id_is_ignored(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    first = await start(review_env, "TWICE-1")
    await until_stage(first, "investigation")
    second = await start(review_env, "TWICE-1")
    assert second.result_run_id == first.result_run_id
    assert await pool.fetchval("select count(*) from cases where case_id = 'TWICE-1'") == 1
    assert await pool.fetchval("select count(*) from households") == 1
