"""Figure 1: full review lifecycles per second against the minimal workflow of the same shape.

On the dev server, cases are driven to REFUSAL: acceptance, the verification request, the five staff
actions (verification result, home visit, neighbour interview, hearing, decision) as updates, the
refusal notice; 16 activities writing to PostgreSQL, 2 timers (the deadline clock), 5 updates. A case
driven to enrolment waits out the public notice (at least one calendar day of workflow time: a real
day on the dev server), so enrolment is measured separately under the time-skipping test server,
where the notice timer is skipped: 18 activities, 3 timers, 5 updates, both sides again.

The drivers are the chaos run's (`run_review_case` in tests/support/system.py: start, poll the state
query until the case is in investigation, then the five updates with fixed ids, then the result) with
no think time, and a copy of it for the minimal workflow; every case of a batch runs at once.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from bench import minimal
from infra.config import TASK_QUEUE
from infra.temporal import data_converter
from schemas.review import ActionAck, CaseOutcome, CaseState, Decision, ReviewNames, ReviewStart, workflow_id_for
from tests.support.factories import actor, application
from tests.support.review import steps_to_decision
from tests.support.system import Retrier, run_review_case, start_attributes

NOTICE_SKIP = timedelta(days=2, hours=12)  # past the end of the minimal workflow's one-day notice
Meter = Callable[[str], dict[str, float]]  # CPU seconds so far per process, for the review or minimal side


async def run_minimal_case(client: Client, retry: Retrier, ident: str, *, enrol: bool = False) -> str:
    """The chaos run's review driver, step for step, against the minimal workflow."""
    wid = f"minimal-{ident}"
    h = await retry(
        "start minimal",
        lambda: client.start_workflow(
            minimal.WORKFLOW,
            args=[enrol, 1.0],
            id=wid,
            task_queue=minimal.TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            execution_timeout=timedelta(days=400),
            result_type=str,
        ),
    )
    poll = 0.3
    while await retry.query(h, minimal.STATE, str) != "ready":
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 1.5)
    for i, name in enumerate(minimal.UPDATES):
        arg: Any = False if name == "decide" else "x"
        last = i == len(minimal.UPDATES) - 1
        await retry.update(h, name, arg, update_id=f"{wid}-{i}-{name}", result_type=str, last=last)
    return await retry("minimal result", lambda: h.result())


async def _batch(kind: str, client: Client, n: int, budget: float, meter: Meter | None = None) -> dict:
    tag = uuid.uuid4().hex[:6].upper()
    retry = Retrier(time.monotonic() + budget)
    durations: list[float] = []

    async def one(i: int) -> str:
        began = time.monotonic()
        ident = f"BL{tag}{kind[0].upper()}{i:05d}"
        if kind == "review":
            out = await run_review_case(client, retry, ident, random.Random(i), (0.0, 0.0))
            result = out.stage
        else:
            result = await run_minimal_case(client, retry, ident)
        durations.append(time.monotonic() - began)
        return result

    cpu0 = meter(kind) if meter else {}
    t0 = time.monotonic()
    results = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
    seconds = time.monotonic() - t0
    cpu = {k: v - cpu0[k] for k, v in meter(kind).items()} if meter else {}
    errors = [r for r in results if isinstance(r, BaseException)]
    want = "refused" if kind == "review" else "closed"
    wrong = [r for r in results if not isinstance(r, BaseException) and r != want]
    if errors or wrong:
        raise RuntimeError(f"{kind}: {len(errors)} failed, {len(wrong)} ended wrong: {(errors + wrong)[:3]}")
    ids = [f"BL{tag}{kind[0].upper()}{i:05d}" for i in range(n)]
    return {
        "cases": n,
        "seconds": round(seconds, 2),
        "per_second": round(n / seconds, 3),
        "case_p50_s": round(statistics.median(durations), 2),
        "retries": sum(retry.retries.values()),
        "retry_kinds": dict(retry.retries),
        "workflow_ids": [workflow_id_for(i) if kind == "review" else f"minimal-{i}" for i in ids],
        "cpu_seconds": cpu,
    }


async def history_shape(client: Client, workflow_ids: list[str], sample: int = 5) -> dict:
    """Events per case (mean of a sample) and how they split by type."""
    lengths, kinds = [], Counter()
    for wid in workflow_ids[:sample]:
        events = [e async for e in client.get_workflow_handle(wid).fetch_history_events()]
        lengths.append(len(events))
        for e in events:
            kinds[e.event_type] += 1
    from temporalio.api.enums.v1 import EventType

    n = len(lengths)
    by_kind = {EventType.Name(k).removeprefix("EVENT_TYPE_").lower(): round(v / n, 1) for k, v in kinds.items()}
    return {
        "events_per_case": round(statistics.fmean(lengths), 1),
        "activities": by_kind.get("activity_task_scheduled", 0),
        "timers": by_kind.get("timer_started", 0),
        "updates": by_kind.get("workflow_execution_update_accepted", 0),
        "workflow_tasks": by_kind.get("workflow_task_completed", 0),
        "by_type": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
    }


async def lifecycle_dev(client: Client, n: int, rounds: int, budget: float = 900, meter: Meter | None = None) -> dict:
    """Alternate review and minimal batches (ABBA…) on the same dev server so drift in the machine's
    load falls on both sides alike; throughput is pooled over the rounds."""
    order = []
    for r in range(rounds):
        order += ["review", "minimal"] if r % 2 == 0 else ["minimal", "review"]
    out: dict[str, list[dict]] = {"review": [], "minimal": []}
    for kind in order:
        out[kind].append(await _batch(kind, client, n, budget, meter))
    result: dict[str, Any] = {}
    for kind, batches in out.items():
        cases = sum(b["cases"] for b in batches)
        seconds = sum(b["seconds"] for b in batches)
        cpu = {p: sum(b["cpu_seconds"].get(p, 0.0) for b in batches) / cases for p in batches[0]["cpu_seconds"]}
        result[kind] = {
            "cpu_ms_per_case": {p: round(v * 1000, 1) for p, v in cpu.items()}
            | {"total": round(sum(cpu.values()) * 1000, 1)},
            "cases": cases,
            "seconds": round(seconds, 2),
            "per_second": round(cases / seconds, 3),
            "batches_per_second": [b["per_second"] for b in batches],
            "case_p50_s": round(statistics.median(b["case_p50_s"] for b in batches), 2),
            "retries": sum(b["retries"] for b in batches),
            "retry_kinds": [b["retry_kinds"] for b in batches],
            "history": await history_shape(client, batches[-1]["workflow_ids"]),
        }
    result["ratio"] = round(result["review"]["per_second"] / result["minimal"]["per_second"], 3)
    if meter:  # throughput at saturation is bounded by the CPU a case costs: a noise-robust cross-check
        result["cpu_ratio"] = round(
            result["minimal"]["cpu_ms_per_case"]["total"] / result["review"]["cpu_ms_per_case"]["total"], 3
        )
    result["events_ratio"] = round(
        result["review"]["history"]["events_per_case"] / result["minimal"]["history"]["events_per_case"], 2
    )
    result["concurrency"] = n
    result["rounds"] = rounds
    return result


# ---- enrolment under the time-skipping server ----------------------------------------------------


async def _review_to_decision(client: Client, ident: str) -> WorkflowHandle:
    start = ReviewStart(application=application(ident), accepted_by=actor("shipo_jingban"))
    h = await client.start_workflow(
        ReviewNames.WORKFLOW,
        start,
        id=workflow_id_for(ident),
        task_queue=TASK_QUEUE,
        execution_timeout=timedelta(days=400),
        search_attributes=start_attributes(start),
        result_type=CaseOutcome,
    )
    poll = 0.05
    while (s := await h.query(ReviewNames.STATE, result_type=CaseState)).stage != "investigation":
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 1.0)
    assert s.clock is not None
    today: date = s.clock.accepted_on
    steps = steps_to_decision(today, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    for name, arg in steps:
        await h.execute_update(name, arg, result_type=ActionAck)
    return h


async def _minimal_to_decision(client: Client, ident: str) -> WorkflowHandle:
    h = await client.start_workflow(
        minimal.WORKFLOW,
        args=[True, 86400.0],  # a notice of one day of workflow time, skipped like the review's
        id=f"minimal-{ident}",
        task_queue=minimal.TASK_QUEUE,
        execution_timeout=timedelta(days=400),
        result_type=str,
    )
    poll = 0.05
    while await h.query(minimal.STATE, result_type=str) != "ready":
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 1.0)
    for name in minimal.UPDATES:
        await h.execute_update(name, True if name == "decide" else "x", result_type=str)
    return h


async def _quiet(h: WorkflowHandle, within: float = 60) -> None:
    """Until nothing of the workflow is in flight (no workflow task, no activity): only timers wait."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        raw = (await h.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{h.id} still busy")


async def _closed(h: WorkflowHandle, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while (await h.describe()).status == WorkflowExecutionStatus.RUNNING:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{h.id} still running")
        await asyncio.sleep(0.05)


async def _past_notice(env: WorkflowEnvironment, handles: list[WorkflowHandle]) -> timedelta:
    """How far to move the clock so that every case's public notice has ended: a notice ending on a day off
    runs to the next working day (Civil Code art. 203), so how long depends on the day the benchmark runs."""
    states = [await h.query(ReviewNames.STATE, result_type=CaseState) for h in handles]
    ends = [s.notice_ends_at for s in states if s.notice_ends_at is not None]
    assert len(ends) == len(handles), "a case is not in its public notice"
    return max(ends) - await env.get_current_time() + timedelta(hours=1)


async def _enrol_batch(env: WorkflowEnvironment, kind: str, n: int) -> dict:
    """All cases to their decision at once; once nothing is in flight, the clock is moved past the
    public notice in one step (`env.sleep`); then until every case has closed. Time is never left to
    skip on its own (no `result()` while cases run): a skip while a workflow task is in flight expires
    that task, which then waits out the sticky queue's 5-second timeout."""
    tag = uuid.uuid4().hex[:6].upper()
    drive = _review_to_decision if kind == "review" else _minimal_to_decision
    ids = [f"EN{tag}{kind[0].upper()}{i:05d}" for i in range(n)]
    t0 = time.monotonic()
    handles = await asyncio.gather(*(drive(env.client, i) for i in ids))
    decided = time.monotonic() - t0
    await asyncio.gather(*(_quiet(h) for h in handles))
    await env.sleep(await _past_notice(env, handles) if kind == "review" else NOTICE_SKIP)
    await asyncio.gather(*(_closed(h) for h in handles))
    seconds = time.monotonic() - t0
    results = [await h.result() for h in handles]  # one by one: the test server refuses concurrent unlocks
    want = "enrolled" if kind == "review" else "closed"
    wrong = [r for r in results if (r.stage if kind == "review" else r) != want]
    if wrong:
        raise RuntimeError(f"enrolment {kind}: {len(wrong)} ended wrong: {wrong[:3]}")
    return {
        "cases": n,
        "seconds": round(seconds, 2),
        "to_decision_seconds": round(decided, 2),
        "per_second": round(n / seconds, 3),
        "history": await history_shape(env.client, [h.id for h in handles]),
    }


async def lifecycle_enrolment_ts(url: str, n: int) -> dict:
    """Review cases to enrolment against the minimal workflow's enrolment shape, on the time-skipping
    server with both workers in this process (the same PostgreSQL)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    from db.pool import create_pool
    from infra.config import temporal_test_server
    from schemas import search
    from workers.main import build_worker

    # The SDK core warns about the test server's age (heartbeat details) and expired tasks: not ours to fix.
    quiet = Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter("ERROR", "ERROR"))))
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter(), test_server_existing_path=temporal_test_server(), runtime=quiet
    )
    pool: asyncpg.Pool = await create_pool(url, min_size=2, max_size=10)
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in search.ALL},
            )
        )
        async with build_worker(env.client, pool), minimal.build_worker(env.client):
            out = {"review": await _enrol_batch(env, "review", n), "minimal": await _enrol_batch(env, "minimal", n)}
            # and once more the other way round, pooled, against drift in the machine's load
            again = {"minimal": await _enrol_batch(env, "minimal", n), "review": await _enrol_batch(env, "review", n)}
        for kind in out:
            cases = out[kind]["cases"] + again[kind]["cases"]
            seconds = out[kind]["seconds"] + again[kind]["seconds"]
            out[kind] |= {"cases": cases, "seconds": round(seconds, 2), "per_second": round(cases / seconds, 3)}
        out["ratio"] = round(out["review"]["per_second"] / out["minimal"]["per_second"], 3)
        out["events_ratio"] = round(
            out["review"]["history"]["events_per_case"] / out["minimal"]["history"]["events_per_case"], 2
        )
        out["concurrency"] = n
        return out
    finally:
        await pool.close()
        await env.shutdown()
