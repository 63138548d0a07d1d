"""The chaos run: many cases at once on a private system (`tests/support/system.py`) while the worker is
SIGKILLed, the Temporal dev server is restarted and PostgreSQL is restarted; then every case, event row,
notice and payment is checked against what it must be.

Run short by `tests/chaos/test_chaos.py` (in `make test`) and long by `bench/chaos.py`.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from db.pool import connect
from schemas.review import workflow_id_for
from tests.support.review import DELIVERED
from tests.support.system import (
    PAYMENT,
    PAYMENTS_PER_EVENT,
    VILLAGE,
    ChaosSystem,
    Faults,
    Retrier,
    run_emergency,
    run_review_case,
    until,
)

T = TypeVar("T")

EMERGENCY_LOG = ["registered", *["payment"] * PAYMENTS_PER_EVENT, "documents", "closed"]
REVIEW_UPDATES = 5  # verification result, home visit, neighbour interview, hearing, decision
EMERGENCY_UPDATES = PAYMENTS_PER_EVENT + 2  # payments, documents, close


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
    duplicates: int  # staff actions sent twice at once
    double_payments: int  # transfers to the bank beyond one per payment approved

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
            f"client_retries={sum(self.retries.values())} duplicates_sent={self.duplicates} "
            f"double_payments={self.double_payments} seconds={self.seconds:.0f} seed={self.seed} "
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
        problems, lost, double_payments = await verify(system.url, client, case_ids, event_ids, results, fund)
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
            duplicates=retry.duplicates,
            double_payments=double_payments,
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
) -> tuple[list[str], set[str], int]:
    """Every case at its right end, its log exactly the expected rows in order, every notice and every
    payment exactly once, the fund's ledger balanced. Returns the problems, the cases they touch and the
    number of transfers beyond one per payment (double payments)."""
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
            want = [f"{i:04d}-{k}" for i, k in enumerate(DELIVERED, 1)]
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
                len(case_ids) * len(DELIVERED),
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
        double_payments = max(0, counts["disbursements"][0] - n_pay)
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
    return problems, lost, double_payments
