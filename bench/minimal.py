"""The baseline of the lifecycle benchmark: a workflow of the review's shape with no business logic.

It has the same number of activities, timers and updates as a review case driven to refusal (or, with
`enrol=True`, to enrolment after a public notice), in the same order, measured from the recorded
histories in `tests/histories/review-v2-*.json`:

    refusal:   7 activities after the start (open_case, record_event, check_relatives,
               request_verification, compute_deadline x2, record_event), then a background "clock"
               timer; 5 updates (the first runs 2 activities and restarts the clock timer, the others 1);
               after the last update 3 activities (compute_deadline, record_event, notify) and the clock
               timer cancelled: 16 activities, 2 timers, 5 updates.
    enrolment: the same up to the last update, then 2 activities (record_event, notify), the notice
               timer (fires), 3 activities (enrol, record_event, notify): 18 activities, 3 timers.

What it leaves out is exactly the business logic: no search-attribute upserts, no `patched` marker,
no validators beyond a stage check, activities that touch nothing (no PostgreSQL) and carry tiny
payloads. Its worker runs on its own task queue (`bench-minimal`):

    .venv/bin/python -m bench.minimal          # TEMPORAL_ADDRESS=127.0.0.1:PORT

The same worker hosts the annual burst's baseline, `ParkWorkflow`: the ongoing review's input and its
first step (sleep until the review falls due), nothing else; and the payroll benchmark's, `OnceWorkflow`:
one activity, then done.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

TASK_QUEUE = "bench-minimal"
WORKFLOW = "BenchMinimalWorkflow"
PARK = "BenchParkWorkflow"
ONCE = "BenchOnceWorkflow"
STATE = "state"
UPDATES = ["step1", "step2", "step3", "step4", "decide"]
START_ACTIVITIES = 7
UPDATE_ACTIVITIES = [2, 1, 1, 1, 1]
REFUSAL_END_ACTIVITIES = 3
ENROL_BEFORE_NOTICE = 2
ENROL_AFTER_NOTICE = 3
CLOCK = timedelta(days=20)
ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
)


@activity.defn(name="bench_step")
async def step(n: int) -> int:
    return n + 1


@workflow.defn(name=WORKFLOW)
class MinimalWorkflow:
    def __init__(self) -> None:
        self.stage = "started"
        self.done_updates = 0
        self.decision: bool | None = None
        self.clock_version = 0
        self.clock_stopped = False
        self.closed = False
        self.n = 0

    async def act(self) -> None:
        self.n = await workflow.execute_activity("bench_step", self.n, result_type=int, **ACTIVITY)

    async def clock(self) -> None:
        """Like the review's deadline clock: one long timer, restarted when the clock changes, none once
        the clock is stopped."""
        while not self.closed:
            version = self.clock_version
            timeout = None if self.clock_stopped else CLOCK
            try:
                await workflow.wait_condition(lambda v=version: self.clock_version != v, timeout=timeout)
            except TimeoutError:
                pass

    def stop_clock(self) -> None:
        self.clock_stopped = True
        self.clock_version += 1

    @workflow.run
    async def run(self, enrol: bool, notice_seconds: float = 1.0) -> str:
        for _ in range(START_ACTIVITIES):
            await self.act()
        self.stage = "ready"
        clock = asyncio.create_task(self.clock())
        await workflow.wait_condition(lambda: self.decision is not None)
        if enrol:
            for _ in range(ENROL_BEFORE_NOTICE):
                await self.act()
            await workflow.sleep(timedelta(seconds=notice_seconds))
            await self.act()  # enrol
            self.stop_clock()
            for _ in range(ENROL_AFTER_NOTICE - 1):
                await self.act()
        else:
            await self.act()  # compute_deadline
            self.stop_clock()
            for _ in range(REFUSAL_END_ACTIVITIES - 1):
                await self.act()
        self.closed = True
        self.clock_version += 1
        await clock
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.stage = "closed"
        return self.stage

    async def _update(self, index: int) -> str:
        if index == 0:
            self.clock_version += 1  # the verification result restarts the review's clock
        for _ in range(UPDATE_ACTIVITIES[index]):
            await self.act()
        self.done_updates += 1
        return self.stage

    def _check(self, index: int) -> None:
        if self.stage != "ready" or self.done_updates != index:
            raise ValueError("wrong stage")  # never raised by the benchmark driver

    @workflow.update(name="step1")
    async def step1(self, _: str) -> str:
        return await self._update(0)

    @step1.validator
    def _v1(self, _: str) -> None:
        self._check(0)

    @workflow.update(name="step2")
    async def step2(self, _: str) -> str:
        return await self._update(1)

    @step2.validator
    def _v2(self, _: str) -> None:
        self._check(1)

    @workflow.update(name="step3")
    async def step3(self, _: str) -> str:
        return await self._update(2)

    @step3.validator
    def _v3(self, _: str) -> None:
        self._check(2)

    @workflow.update(name="step4")
    async def step4(self, _: str) -> str:
        return await self._update(3)

    @step4.validator
    def _v4(self, _: str) -> None:
        self._check(3)

    @workflow.update(name="decide")
    async def decide(self, approve: bool) -> str:
        self.decision = approve
        return await self._update(4)

    @decide.validator
    def _v5(self, _: bool) -> None:
        self._check(4)

    @workflow.query(name=STATE)
    def state(self) -> str:
        return self.stage


@workflow.defn(name=PARK)
class ParkWorkflow:
    """Parks on a timer until the due day, as OngoingReviewWorkflow does on start (input taken as a dict:
    the same payload, without its model)."""

    @workflow.run
    async def run(self, start: dict) -> None:
        due = workflow.now() + timedelta(days=365)
        await workflow.sleep(due - workflow.now())


@workflow.defn(name=ONCE)
class OnceWorkflow:
    """The payroll benchmark's baseline: a workflow started and completed after one activity, nothing else."""

    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(step, n, **ACTIVITY)


def build_worker(client, task_queue: str = TASK_QUEUE):
    from temporalio.worker import Worker

    return Worker(
        client,
        task_queue=task_queue,
        workflows=[MinimalWorkflow, ParkWorkflow, OnceWorkflow],
        activities=[step],
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def _main() -> None:
    from temporalio.client import Client

    from infra.temporal import data_converter

    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"], data_converter=data_converter())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with build_worker(client):
        print("worker started", flush=True)  # the harness's watcher looks for these words
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_main())
