"""Figure 6: the month's payroll for a whole imported roster (issue 18, point 5, second half).

A generated roster of N households (`jiuzhu roster sample`, as bench/roster.py; .csv, read faster than .xlsx:
the import is bench/roster.py's figure, not this one) is imported as `jiuzhu roster import` does it into the
suite's PostgreSQL; then the month's payroll runs as the Schedule runs it: `PayrollMonthWorkflow` (the townships
with recipients to pay, one `PayrollWorkflow` each) on the real worker (`python -m workers.main`), measured from
its start until every township's payroll is drafted (its 发放花名册 written: one line per recipient household).
Baseline: the same number of workflows (the month's and one per township) started at once and completed on the
baseline's worker, each running one activity that does nothing (bench/minimal.py's `OnceWorkflow`). The worker's
RSS is sampled throughout. Targets: under 5 minutes, worker RSS under 1 GB. Then, as details: each payroll
checked and confirmed by two district officers (the workflow's updates), and each bank file built as the
download builds it (CSV).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import asyncpg
from temporalio.client import Client

from bench import minimal
from bench.common import BenchSystem
from db import payroll_repo, payroll_views_repo
from infra.config import ROOT, TASK_QUEUE
from rules.payroll import payroll_workflow_id
from schemas.payroll import PayrollCheck, PayrollConfirm, PayrollMonthResult, PayrollNames, PayrollState
from schemas.staff import Actor, Role
from webapp.payroll import bankfile

TARGET_SECONDS = 300.0


async def import_roster(pool: asyncpg.Pool, households: int, today: date) -> dict:
    """Generate the roster file (in a process of its own) and import it; (households, members, seconds)."""
    from infra import roster_import

    with tempfile.TemporaryDirectory(prefix="jiuzhu-payroll-bench-") as tmp:
        path = Path(tmp) / "roster.csv"
        cmd = [sys.executable, "-m", "cli.main", "roster", "sample", "--households", str(households), str(path)]
        await asyncio.to_thread(subprocess.run, cmd, check=True, capture_output=True, cwd=ROOT)
        data = path.read_bytes()
    t0 = time.perf_counter()
    async with pool.acquire() as conn:
        out = await roster_import.run(conn, data, "roster.csv", by="bench", today=today, dry_run=False)
    assert out.result is not None and out.checked is not None and not out.checked.errors, out.checked
    return {
        "households": households,
        "members": out.result.log.members,
        "seconds": round(time.perf_counter() - t0, 1),
    }


async def _all_drafted(client: Client, month: str, townships: list[str], within: float = 1800) -> list[PayrollState]:
    pending = {t: client.get_workflow_handle(payroll_workflow_id(t, month)) for t in townships}
    states: dict[str, PayrollState] = {}
    deadline = time.monotonic() + within
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"payrolls not drafted after {within:.0f} s: {sorted(pending)}")
        for t, h in list(pending.items()):
            s = await h.query(PayrollNames.STATE, result_type=PayrollState)
            if s.status != "drafting":
                states[t] = s
                del pending[t]
        if pending:
            await asyncio.sleep(0.2)
    return [states[t] for t in townships]


def _officer(username: str) -> Actor:
    return Actor(username=username, full_name=username, role=Role.DISTRICT_OFFICER, place_code="341503")


async def confirm_and_bank_files(client: Client, pool: asyncpg.Pool, month: str, states: list[PayrollState]) -> dict:
    """Check and confirm every drafted payroll (two people), then build each bank file (CSV): seconds, bytes."""
    drafted = [s for s in states if s.payroll_id is not None]
    t0 = time.perf_counter()
    for s in drafted:
        h = client.get_workflow_handle(payroll_workflow_id(s.start.township_code, month))
        await h.execute_update(PayrollNames.CHECK, PayrollCheck(actor=_officer("bench_a")))
        await h.execute_update(PayrollNames.CONFIRM, PayrollConfirm(actor=_officer("bench_b")))
    t_confirm = time.perf_counter() - t0
    t1 = time.perf_counter()
    size = 0
    for s in drafted:
        assert s.payroll_id is not None
        row = await payroll_views_repo.payroll(pool, s.payroll_id)
        assert row is not None and row.status == "confirmed", row
        size += len(bankfile.csv_bytes(row, await payroll_views_repo.bank_lines(pool, s.payroll_id)))
    return {
        "confirm_seconds": round(t_confirm, 1),
        "bank_file_seconds": round(time.perf_counter() - t1, 1),
        "bank_file_mb": round(size / 2**20, 1),
    }


async def bare_workflows(client: Client, n: int) -> float:
    """The baseline: n trivial workflows started at once and completed, seconds."""
    tag = f"{time.time_ns():x}"
    t0 = time.perf_counter()
    await asyncio.gather(
        *(
            client.execute_workflow(minimal.ONCE, i, id=f"once-{tag}-{i}", task_queue=minimal.TASK_QUEUE)
            for i in range(n)
        )
    )
    return time.perf_counter() - t0


async def month_payroll(system: BenchSystem, client: Client, pool: asyncpg.Pool, households: int, today: date) -> dict:
    imported = await import_roster(pool, households, today)
    month = f"{today:%Y-%m}"
    first = payroll_repo.first_of(month)
    rss: list[int] = [system.worker_rss()]
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            rss.append(system.worker_rss())
            await asyncio.sleep(0.5)

    sampler = asyncio.create_task(sample())
    try:
        t0 = time.perf_counter()
        result = await client.execute_workflow(
            PayrollNames.MONTH,
            month,
            id=f"payroll-month-bench-{month}",
            task_queue=TASK_QUEUE,
            result_type=PayrollMonthResult,
        )
        t_started = time.perf_counter() - t0
        states = await _all_drafted(client, month, result.townships)
        seconds = time.perf_counter() - t0
    finally:
        done.set()
        await sampler
    lines, total_fen = await pool.fetchrow(
        "select count(*), coalesce(sum(l.amount_fen), 0) from payroll_lines l join payrolls y on y.id = l.payroll_id "
        "where y.month = $1 and y.seq = 0",
        first,
    )
    baseline = await bare_workflows(client, 1 + len(result.townships))
    after = await confirm_and_bank_files(client, pool, month, states)
    mb = [round(b / 2**20) for b in rss]
    return {
        "month": month,
        "imported": imported,
        "townships": len(result.townships),
        "drafted": sum(s.status == "draft" for s in states),
        "lines": lines,
        "total_yuan": f"{total_fen / 100:.2f}",
        "start_seconds": round(t_started, 1),
        "payroll_seconds": round(seconds, 1),
        "baseline_seconds": round(baseline, 2),
        "ratio": round(seconds / baseline, 1),
        "target_seconds": TARGET_SECONDS,
        "worker_rss_mb": {"before": mb[0], "peak": max(mb), "end": mb[-1]},
    } | after


def section(py: dict, phase: str) -> list[str]:
    """The figure's section of bench/RESULTS.md."""
    imp, rss = py["imported"], py["worker_rss_mb"]
    items = (
        f"the month's workflow started {py['townships']} township payrolls in {py['start_seconds']} s; all "
        f"{py['drafted']} drafted (发放花名册 written) after **{py['payroll_seconds']} s**: {py['lines']} lines, "
        f"{py['total_yuan']} yuan (target < {py['target_seconds']:.0f} s)",
        f"baseline, the same {py['townships'] + 1} workflows started at once and completed on the baseline's "
        f"worker, one empty activity each (`OnceWorkflow`): {py['baseline_seconds']} s. Ratio **{py['ratio']}x**",
        f"worker RSS: {rss['before']} MB before, peak {rss['peak']} MB, {rss['end']} MB at the end (the lines stay "
        "in PostgreSQL: one statement per township)",
        f"then every payroll checked and confirmed by two district officers (the workflow's updates): "
        f"{py['confirm_seconds']} s; every bank file built as the download builds it (CSV, {py['bank_file_mb']} MB "
        f"in all): {py['bank_file_seconds']} s",
    )
    intro = (
        f"A generated roster of {imp['households']} households ({imp['members']} members; `jiuzhu roster sample`) "
        f"imported into the suite's database in {imp['seconds']} s, then `PayrollMonthWorkflow` for {py['month']} "
        f"on the real worker (bench/payroll.py). Phase: {phase}."
    )
    return ["## 6. The month's payroll (发放)", "", intro, "", *(f"- {x}" for x in items), ""]
