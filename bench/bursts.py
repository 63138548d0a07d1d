"""Figures 3 and 4: the intake burst through the API and the annual review burst.

Intake: N applications posted at once to POST /api/cases (httpx ASGITransport into the app in this
process, which holds a real Temporal client; the worker is the `python -m workers.main` subprocess).
A request returns once Temporal has persisted the review workflow's start (202, the endpoint's default:
the state is not waited for). Accepted per second is N over the wall time of the burst; the latency is
per request. Then: how long until all N `cases` rows are written by the workflows' first activity,
and until every case is in investigation (parked). Baseline: the same N starts straight from the
Temporal client (`bare_starts`).

Annual review: OngoingReviewWorkflow (workflows/ongoing.py), one per recipient, started with its due
date a year ahead, so it parks on its timer. Started from a client (32 starts in flight, and never
more than 2,000 first workflow tasks waiting on the task queue) until the count or the time budget is
reached, then until the worker has run every first task. The worker's RSS (psutil) is sampled
throughout; the sticky cache is at the SDK's default (`max_cached_workflows=1000`, the worker sets
none). Parked: the task queue's backlog is 0 and a sample of the workflows has the timer started.
Baseline: the same, just before, for `BenchParkWorkflow` on the baseline's worker (bench/minimal.py).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from bench.api import login
from bench.common import BenchSystem, pct
from infra.config import TASK_QUEUE
from schemas.review import ReviewStart
from schemas.staff import Actor, Role
from schemas.supervision import OngoingStart, SupervisionNames, ongoing_workflow_id
from tests.support.factories import application
from webapp.review.workflow import start_review


async def _settled(pool: asyncpg.Pool, prefix: str, n: int, t0: float, deadline: float) -> tuple[int, float, float]:
    """Until all n case rows of `prefix` exist and all n cases are in investigation (verification requested,
    clock running: parked): (rows, seconds to all rows, seconds to all parked), from t0."""
    while (rows := await pool.fetchval("select count(*) from cases where case_id like $1", f"{prefix}%")) < n:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    all_rows = time.monotonic() - t0
    investigating = "select count(*) from cases where case_id like $1 and stage = 'investigation'"
    while True:
        if await pool.fetchval(investigating, f"{prefix}%") >= n or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    return rows, all_rows, time.monotonic() - t0


async def bare_starts(client: Client, pool: asyncpg.Pool, n: int, rows_timeout: float = 600) -> dict:
    """The baseline of the intake burst: the same N review workflows started at once straight from the
    Temporal client, with no web app in between (no HTTP, log-in, validation or place check)."""
    tag = uuid.uuid4().hex[:6].upper()
    actor = Actor(
        username="shipo_jingban", full_name="石婆店镇经办人", role=Role.TOWNSHIP_CASEWORKER, place_code="341503106"
    )
    starts = [ReviewStart(application=application(f"BS{tag}{i:05d}"), accepted_by=actor) for i in range(n)]
    latencies: list[float] = []

    async def start(s: ReviewStart) -> None:
        t = time.perf_counter()
        await start_review(client, s)
        latencies.append((time.perf_counter() - t) * 1000)

    t0 = time.monotonic()
    await asyncio.gather(*(start(s) for s in starts))
    burst = time.monotonic() - t0
    rows, all_rows, settled = await _settled(pool, f"BS{tag}", n, t0, time.monotonic() + rows_timeout)
    return {
        "started": len(latencies),
        "burst_seconds": round(burst, 1),
        "started_per_second": round(len(latencies) / burst, 1),
        "p50_ms": round(pct(latencies, 50)),
        "p95_ms": round(pct(latencies, 95)),
        "case_rows": rows,
        "all_rows_seconds": round(all_rows, 1),
        "all_in_investigation_seconds": round(settled, 1),
    }


async def intake_burst(app: Any, pool: asyncpg.Pool, n: int, rows_timeout: float = 600) -> dict:
    tag = uuid.uuid4().hex[:6].upper()
    bodies = [application(f"IN{tag}{i:05d}").model_dump(mode="json") for i in range(n)]
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120, limits=limits
    ) as c:
        await login(c, "shipo_jingban")
        before = await pool.fetchval("select count(*) from cases where case_id like $1", f"IN{tag}%")
        assert before == 0
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        without_state = 0

        async def post(body: dict) -> None:
            nonlocal without_state
            t0 = time.perf_counter()
            r = await c.post("/api/cases", json=body)
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            if r.status_code in (201, 202) and r.json()["state"] is None:
                without_state += 1

        t0 = time.monotonic()
        await asyncio.gather(*(post(b) for b in bodies))
        burst = time.monotonic() - t0
    rows, all_rows, settled = await _settled(pool, f"IN{tag}", n, t0, time.monotonic() + rows_timeout)
    accepted = statuses.get(201, 0) + statuses.get(202, 0)
    return {
        "applications": n,
        "accepted": accepted,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "answered_without_state": without_state,
        "burst_seconds": round(burst, 1),
        "accepted_per_second": round(accepted / burst, 1),
        "p50_ms": round(pct(latencies, 50)),
        "p95_ms": round(pct(latencies, 95)),
        "max_ms": round(max(latencies)),
        "case_rows": rows,
        "all_rows_seconds": round(all_rows, 1),
        "all_in_investigation_seconds": round(settled, 1),
        "a_case_id": f"IN{tag}{0:05d}",
    }


async def _parked(h: WorkflowHandle) -> bool:
    raw = (await h.describe()).raw_description
    return not raw.HasField("pending_workflow_task") and raw.workflow_execution_info.history_length >= 5


async def backlog(client: Client, task_queue: str = TASK_QUEUE) -> int:
    """Workflow tasks waiting on the task queue (the server's approximate count): first tasks of
    workflows started but not yet parked."""
    resp = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            report_stats=True,
        )
    )
    return resp.stats.approximate_backlog_count


async def annual_burst(
    system: BenchSystem,
    client: Client,
    target: int,
    budget: float,
    *,
    workflow: str = SupervisionNames.ONGOING,
    task_queue: str = TASK_QUEUE,
    workflow_id: Callable[[str], str] = ongoing_workflow_id,
    rss: Callable[[], int] | None = None,
    in_flight: int = 32,
    max_backlog: int = 2000,
    sample_every: float = 2.0,
) -> dict:
    """Start OngoingReviewWorkflows until `target` or `budget` seconds, never more than `max_backlog`
    ahead of the worker (so the run measures what server and worker sustain, not a queue that would take
    far longer than the budget to drain); then until the worker has parked them all. RSS throughout."""
    tag = uuid.uuid4().hex[:6].upper()
    due = date.today() + timedelta(days=365)
    rss = rss or system.worker_rss
    rss_start = rss()
    curve: list[tuple[float, int, int, int]] = []  # seconds, started so far, backlog, RSS bytes
    started = 0
    failures = 0
    waiting = 0
    stop_at = time.monotonic() + budget
    t0 = time.monotonic()
    next_id = 0

    async def monitor() -> None:
        nonlocal waiting
        while True:
            try:
                waiting = await backlog(client, task_queue)
            except RPCError:
                pass
            curve.append((time.monotonic() - t0, started, waiting, rss()))
            await asyncio.sleep(sample_every)

    async def starter() -> None:
        nonlocal started, failures, next_id
        while next_id < target and time.monotonic() < stop_at:
            if waiting > max_backlog:
                await asyncio.sleep(0.5)
                continue
            i = next_id
            next_id += 1
            case = f"AR{tag}{i:06d}"
            start = OngoingStart(
                case_id=case,
                township_code="341503106",
                applicant_name="王大山",
                cadence_months=12,
                due_on=due,
                monthly_amount=Decimal("1566.00"),
            )
            for attempt in range(5):
                try:
                    await client.start_workflow(workflow, start, id=workflow_id(case), task_queue=task_queue)
                    started += 1
                    break
                except RPCError:
                    failures += 1
                    await asyncio.sleep(0.5 * (attempt + 1))

    watch = asyncio.create_task(monitor())
    await asyncio.gather(*(starter() for _ in range(in_flight)))
    start_seconds = time.monotonic() - t0
    # Parked: the queue drained, and a sample (the last 20 started and 80 at random) checked one by one.
    drain_deadline = time.monotonic() + 600
    while True:
        if await backlog(client, task_queue) == 0 or time.monotonic() > drain_deadline:
            break
        await asyncio.sleep(0.5)
    ids = [workflow_id(f"AR{tag}{i:06d}") for i in range(started)]
    sample = ids[-20:] + random.Random(7).sample(ids[:-20], min(80, max(0, len(ids) - 20)))
    pending = list(sample)
    while pending and time.monotonic() < drain_deadline:
        flags = await asyncio.gather(*(_parked(client.get_workflow_handle(w)) for w in pending))
        pending = [w for w, ok in zip(pending, flags, strict=True) if not ok]
        if pending:
            await asyncio.sleep(0.5)
    park_seconds = time.monotonic() - t0
    await asyncio.sleep(sample_every * 2)  # the worker settles: cache full, tasks done
    watch.cancel()
    curve.append((time.monotonic() - t0, started, 0, rss()))
    parked_rate = started / park_seconds if park_seconds else 0.0
    peak = max(b for *_, b in curve)
    step = max(1, len(curve) // 15)
    return {
        "target": target,
        "started": started,
        "start_failures_retried": failures,
        "budget_seconds": budget,
        "start_seconds": round(start_seconds, 1),
        "starts_per_second": round(started / start_seconds, 1) if start_seconds else None,
        "parked_sample": f"{len(sample) - len(pending)}/{len(sample)}",
        "all_parked_seconds": round(park_seconds, 1),
        "parked_per_second": round(parked_rate, 1),
        "extrapolated_seconds_for_target": round(target / parked_rate) if parked_rate and started < target else None,
        "worker_rss_mb": {
            "before": round(rss_start / 2**20),
            "peak": round(peak / 2**20),
            "end": round(curve[-1][3] / 2**20),
        },
        "curve": [(round(t), n, q, round(b / 2**20)) for t, n, q, b in curve[::step]]
        + [(round(curve[-1][0]), curve[-1][1], curve[-1][2], round(curve[-1][3] / 2**20))],
        "max_backlog": max_backlog,
        "sticky_cache": "SDK default (max_cached_workflows=1000)",
    }
