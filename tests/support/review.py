"""Helpers for review workflow tests: start a case, act on it, wait for a stage, stock action payloads; and
`on_time`, which any time-skipping test uses to check that a timer fires neither early nor late."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from decimal import Decimal

import asyncpg
from pydantic import BaseModel
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from infra.config import TASK_QUEUE
from rules.stages import Action
from schemas.review import (
    ActionAck,
    Application,
    CaseOutcome,
    CaseState,
    Decision,
    Hearing,
    HomeVisit,
    NeighbourInterview,
    ReviewNames,
    ReviewStart,
    VerificationResult,
    workflow_id_for,
)
from schemas.staff import Actor
from tests.support.factories import PEOPLE, actor, application, staff_ref
from tests.support.workflows import refused as update_refused

# The kinds of a review's case events (case_events.kind), in the order a case goes through them: the one list
# the tests and the benchmarks compare event logs with. Written out here, not taken from rules/: expected
# values must not come from the code under test.
TO_HEARING = ["accepted", "verification_requested", "verification_result", "home_visit", "neighbour_interview"]
TO_DECISION = [*TO_HEARING, "hearing", "decision"]  # acceptance to the township's decision
REFUSED = [*TO_DECISION, "refused"]
DELIVERED = [*REFUSED, "refusal_delivered"]  # refused, and the notice's delivery recorded: the case closes
IN_NOTICE = [*TO_DECISION, "notice_started"]  # approved, in public notice
ENROLLED = [*IN_NOTICE, "enrolled"]


async def start(
    env: WorkflowEnvironment, app_id: str | None = None, *, app: Application | None = None, **kw
) -> WorkflowHandle:
    """Accept an application: `app` as given, or one of the factory's (`tests.support.factories.application`)."""
    app = app or application(app_id or f"A{uuid.uuid4().hex[:10]}", **kw)
    return await env.client.start_workflow(
        ReviewNames.WORKFLOW,
        ReviewStart(application=app, accepted_by=actor("shipo_jingban")),
        id=workflow_id_for(app.application_id),
        task_queue=TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        execution_timeout=timedelta(days=400),
        result_type=CaseOutcome,
    )


async def start_with_row(env: WorkflowEnvironment, pool: asyncpg.Pool, app_id: str) -> WorkflowHandle:
    """`start`, then wait until the acceptance activity has written the case's row (what the web app reads)."""
    h = await start(env, app_id)
    for _ in range(200):
        if await pool.fetchval("select count(*) from cases where case_id = $1", app_id):
            return h
        await asyncio.sleep(0.05)
    raise AssertionError(f"case {app_id} never written")


async def state(h: WorkflowHandle) -> CaseState:
    return await h.query(ReviewNames.STATE, result_type=CaseState)


async def act(h: WorkflowHandle, name: str, arg) -> ActionAck:
    return await h.execute_update(name, arg, result_type=ActionAck)


async def until_stage(h: WorkflowHandle, stage: str) -> CaseState:
    """The case's first activities run right after start; wait (in real time) until it is in `stage`."""
    for _ in range(200):
        s = await state(h)
        if s.stage == stage:
            return s
        await asyncio.sleep(0.05)
    raise AssertionError(f"stage stayed {s.stage}, expected {stage}")


async def eventually_state(h: WorkflowHandle, predicate, what: str) -> CaseState:
    """Wait (in real time) until the case's state satisfies `predicate`."""
    for _ in range(200):
        s = await state(h)
        if predicate(s):
            return s
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}; clock: {s.clock}; escalations: {s.escalations}")


async def refused(h: WorkflowHandle, name: str, arg) -> ApplicationError:
    return await update_refused(act(h, name, arg))


def verification(income: str = "600.00", assets_ok: bool = True) -> VerificationResult:
    return VerificationResult(
        actor=actor("qu_minzheng"),
        verified_monthly_income=Decimal(income),
        assets_within_limits=assets_ok,
        findings="核对无异常",
        report_ref="HD-2026-001",
    )


def home_visit(
    today: date, by: str = "shipo_jingban", with_: str = "shipo_diaocha", assistants: tuple[str, ...] = ()
) -> HomeVisit:
    """A home visit recorded by `by` with `with_`, the users resolved as the web app resolves them."""
    return visit_by(actor(by), today, [by, with_], assistants)


def visit_by(who: Actor, today: date, investigators: list[str], assistants: tuple[str, ...] = ()) -> HomeVisit:
    """A home visit whose named users are resolved as the web app resolves them (an unknown name is left out)."""
    return HomeVisit(
        actor=who,
        visited_on=today,
        investigators=investigators,
        assistants=list(assistants),
        investigator_staff=[staff_ref(u) for u in dict.fromkeys([*investigators, *assistants]) if u in PEOPLE],
        family_signatures=["王大山"],
        findings="家中无劳动力，房屋简陋，收入以务农为主",
    )


def interview(today: date) -> NeighbourInterview:
    return NeighbourInterview(
        actor=actor("shipo_cun1"),
        interviewed_on=today,
        interviewees=["邻居李四", "邻居赵五"],
        findings="邻居反映情况属实",
    )


def hearing(today: date) -> Hearing:
    return Hearing(
        actor=actor("shipo_jingban"),
        held_on=today,
        participants=["村民代表甲", "村民代表乙", "党员代表丙"],
        opinion="agree",
        summary="评议同意纳入低保",
    )


def steps_to_decision(today: date, decision: Decision) -> list[tuple[str, BaseModel]]:
    """The five staff actions that take a case from investigation to the township's decision, in order."""
    return [
        (Action.VERIFICATION_RESULT, verification()),
        (Action.HOME_VISIT, home_visit(today)),
        (Action.NEIGHBOUR_INTERVIEW, interview(today)),
        (Action.HEARING, hearing(today)),
        (Action.DECISION, decision),
    ]


async def investigate(h: WorkflowHandle) -> date:
    s = await until_stage(h, "investigation")
    today = s.clock.accepted_on
    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(today))
    ack = await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    assert ack.stage == "hearing"
    ack = await act(h, Action.HEARING, hearing(today))
    assert ack.stage == "decision"
    return today


async def events(pool: asyncpg.Pool, case_id: str) -> list[str]:
    rows = await pool.fetch("select kind from case_events where case_id = $1 order by occurred_at, id", case_id)
    return [r["kind"] for r in rows]
