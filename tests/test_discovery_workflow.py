"""A discovery task's workflow on the time-skipping server (issue 19, point 2): the visit is due 10 working days
after the list was matched by the statutory calendar, the district hears of it at the close of that day and not a
minute before, and the township's outcome is taken by an update whose validator refuses at once."""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from infra.config import TASK_QUEUE
from schemas.discovery import (
    DiscoveryNames,
    DiscoveryStart,
    DiscoveryState,
    Outcome,
    OutcomeIn,
    SignalKind,
    discovery_workflow_id,
)
from tests.support.clock import SkippingEnvironment, beijing, minute, on_time
from tests.support.discovery import receive, seed_households, signals
from tests.support.factories import actor
from tests.support.workflows import query_until, refused

SHIPO = "341503106"
START = beijing(2026, 9, 18, 10, 0)  # a Friday; National Day 10-01..07, make-up working days 09-20 and 10-10


async def one_task(pool: asyncpg.Pool, on: date) -> str:
    await seed_households(pool, 1, 1, SHIPO, recipients=False, decided=START)
    result = await receive(pool, signals(1, 1, SignalKind.LARGE_MEDICAL, on), on, START)
    [task_id] = result.task_ids
    return task_id


async def state(h) -> DiscoveryState:
    return await h.query(DiscoveryNames.STATE, result_type=DiscoveryState)


@pytest.mark.start_at(START)
async def test_late_visit_is_escalated_at_the_close_of_the_tenth_working_day(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    task_id = await one_task(pool, date(2026, 9, 18))
    start = DiscoveryStart(
        task_id=task_id,
        township_code=SHIPO,
        kind=SignalKind.LARGE_MEDICAL,
        created_on=date(2026, 9, 18),
        visit_working_days=10,
    )
    h = await review_env.client.start_workflow(
        DiscoveryNames.WORKFLOW, start, id=discovery_workflow_id(task_id), task_queue=TASK_QUEUE
    )
    s = await query_until(h, DiscoveryNames.STATE, DiscoveryState, lambda s: s.status == "open")
    # 10 working days from Friday 09-18: 20 (a make-up Sunday), 21, 22, 23, 24, 28, 29, 30 September (25th:
    # Mid-Autumn, off), then 10-08 and 10-09 (10-01..07 off)
    assert s.visit_due == date(2026, 10, 9)
    row = await pool.fetchrow("select status, visit_due from discovery_tasks where task_id = $1", task_id)
    assert (row["status"], row["visit_due"]) == ("open", date(2026, 10, 9))

    async def escalated() -> DiscoveryState | None:
        s = await state(h)
        return s if s.status == "escalated" else None

    s = await on_time(review_env, beijing(2026, 10, 10), escalated, "discovery task escalated")
    assert s.escalated_at is not None and minute(s.escalated_at) == beijing(2026, 10, 10)
    row = await pool.fetchrow("select status, escalated_at from discovery_tasks where task_id = $1", task_id)
    assert (row["status"], minute(row["escalated_at"])) == ("escalated", beijing(2026, 10, 10))
    told = await pool.fetchrow("select audience, body from notifications where kind = 'discovery-overdue'")
    assert told["audience"] == "role:district_officer@341503"
    assert told["body"] == f"主动发现任务 {task_id}（大额医疗支出）应于 2026-10-09 前入户核实，已超期，请督办"

    # refused at once: another township, no note for "not found", a visit after today
    other = OutcomeIn(actor=actor("shunhe_jingban"), outcome=Outcome.APPLIED, visited_on=date(2026, 10, 10))
    assert (await refused(h.execute_update(DiscoveryNames.RECORD_OUTCOME, other))).type == "out_of_jurisdiction"
    bare = OutcomeIn(actor=actor("shipo_jingban"), outcome=Outcome.NOT_FOUND, visited_on=date(2026, 10, 10))
    assert (await refused(h.execute_update(DiscoveryNames.RECORD_OUTCOME, bare))).type == "incomplete"
    ahead = bare.model_copy(update={"note": "户籍地无此人", "visited_on": date(2026, 10, 11)})
    assert (await refused(h.execute_update(DiscoveryNames.RECORD_OUTCOME, ahead))).type == "invalid"
    supervisor = bare.model_copy(update={"actor": actor("qu_jiandu"), "note": "户籍地无此人"})
    assert (await refused(h.execute_update(DiscoveryNames.RECORD_OUTCOME, supervisor))).type == "wrong_role"

    visit = OutcomeIn(
        actor=actor("shipo_jingban"), outcome=Outcome.APPLIED, visited_on=date(2026, 10, 10), case_id="SQ-1"
    )
    done = await h.execute_update(DiscoveryNames.RECORD_OUTCOME, visit, result_type=DiscoveryState)
    assert (done.status, done.outcome, done.on_time) == ("done", Outcome.APPLIED, False)
    assert (await h.result())["outcome"] == "applied"
    row = await pool.fetchrow("select status, visited_on, on_time, outcome_by from discovery_tasks")
    assert tuple(row) == ("applied", date(2026, 10, 10), False, "shipo_jingban")
    again = visit.model_copy(update={"outcome": Outcome.DECLINED, "note": "再次录入"})
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):  # the workflow has closed
        await h.execute_update(DiscoveryNames.RECORD_OUTCOME, again)


@pytest.mark.start_at(START)
async def test_a_visit_in_time_is_not_escalated(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    task_id = await one_task(pool, date(2026, 9, 18))
    start = DiscoveryStart(
        task_id=task_id,
        township_code=SHIPO,
        kind=SignalKind.LARGE_MEDICAL,
        created_on=date(2026, 9, 18),
        visit_working_days=10,
    )
    h = await review_env.client.start_workflow(
        DiscoveryNames.WORKFLOW, start, id=discovery_workflow_id(task_id), task_queue=TASK_QUEUE
    )
    await query_until(h, DiscoveryNames.STATE, DiscoveryState, lambda s: s.status == "open")
    await review_env.skip_to(beijing(2026, 10, 9, 16))
    visit = OutcomeIn(
        actor=actor("shipo_shenpi"), outcome=Outcome.DECLINED, visited_on=date(2026, 10, 9), note="本人表示暂不需要"
    )
    done = await h.execute_update(DiscoveryNames.RECORD_OUTCOME, visit, result_type=DiscoveryState)
    assert (done.status, done.on_time, done.escalated_at) == ("done", True, None)
    assert await pool.fetchval("select count(*) from notifications where kind = 'discovery-overdue'") == 0


@pytest.mark.start_at(START)
async def test_the_daily_run_starts_a_task_the_web_app_could_not(review_env: SkippingEnvironment, pool) -> None:
    """Temporal was down at the upload: the task stays `new`; the next morning's run starts its workflow, whose
    deadline still counts from the day of the list."""
    task_id = await one_task(pool, date(2026, 9, 17))
    await pool.execute("update discovery_tasks set created_at = created_at - interval '2 hours'")
    from schemas.supervision import SupervisionNames

    daily = await review_env.client.start_workflow(SupervisionNames.DAILY, id="daily-test", task_queue=TASK_QUEUE)
    done = await daily.result()
    assert (done["discovery_lists_purged"], done["discovery_tasks_started"]) == (0, 1)
    h = review_env.client.get_workflow_handle(discovery_workflow_id(task_id))
    s = await query_until(h, DiscoveryNames.STATE, DiscoveryState, lambda s: s.status == "open")
    assert s.visit_due == date(2026, 10, 8)  # from Thursday 09-17: the same days as above, 09-18 first
