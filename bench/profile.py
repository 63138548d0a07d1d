"""Where the time goes: py-spy on the worker processes during a lifecycle batch, pyinstrument on pages.

    .venv/bin/python -m bench.profile [--cases 40] [--py-spy PATH] [--out bench/profile.txt]
    .venv/bin/python -m bench.profile --pages [--api-cases 100000]

py-spy and pyinstrument are not dependencies of the project: install them where you like (e.g.
`pip install --target /tmp/tools py-spy pyinstrument`, then `--py-spy /tmp/tools/bin/py-spy` and
`PYTHONPATH=/tmp/tools` for pyinstrument). py-spy attaches to the worker subprocess (as root, or with
ptrace allowed), sampling without pausing it; the summary lists the functions with the most samples
on the worker's Python threads, by own time and by time including callees, for the review worker and
for the minimal workflow's worker side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import signal
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import BenchSystem, uptime
from bench.run import quiet_logs

HERE = Path(__file__).resolve().parent


def summarise(raw: Path, top: int = 25) -> str:
    """py-spy's raw (collapsed) stacks: "frame;frame;... count" per line, root first."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        own[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    idle = sum(c for f, c in own.items() if "select" in f and ("selectors" in f or "epoll" in f))
    lines = [f"samples {total} (idle in the event loop's select: {idle})", "", "own time:"]
    lines += [f"  {c / total:6.1%}  {f}" for f, c in own.most_common(top)]
    lines += ["", "including callees (our code and the SDK's converter/sandbox):"]
    keep = ("activities/", "workflows/", "db/", "schemas/", "rules/", "temporalio/", "pydantic", "asyncpg", "structlog")
    chosen = [(f, c) for f, c in incl.most_common(400) if any(k in f for k in keep)]
    lines += [f"  {c / total:6.1%}  {f}" for f, c in chosen[:top]]
    return "\n".join(lines)


async def profile_lifecycle(cases: int, py_spy: str) -> str:
    from bench.lifecycle import _batch

    base = Path(tempfile.mkdtemp(prefix="jiuzhu-profile-"))
    system = BenchSystem(base / "run", workers=1)
    report = [f"lifecycle profile, {cases} cases at once per side; {uptime()}"]
    try:
        await system.up()
        client = await system.client()
        for kind in ("review", "minimal"):
            pid = system.workers[0].pid if kind == "review" else system.minimal.pid
            raw = base / f"{kind}.raw"
            spy = await asyncio.create_subprocess_exec(
                py_spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(raw), "--nonblocking",
                "--rate", "200", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            await asyncio.sleep(1.0)
            t0 = time.monotonic()
            r = await _batch(kind, client, cases, 900, system.cpu_seconds)
            spy.send_signal(signal.SIGINT)
            await asyncio.wait_for(spy.wait(), 60)
            cpu = {k: round(v * 1000 / cases) for k, v in r["cpu_seconds"].items()}
            report += [
                "",
                f"==== {kind}: {r['per_second']} cases/s over {time.monotonic() - t0:.0f} s; CPU ms per case {cpu}",
                summarise(raw) if raw.exists() else "(py-spy wrote nothing: is ptrace allowed?)",
            ]
    finally:
        await system.stop()
        shutil.rmtree(base, ignore_errors=True)
    report.append(f"\n{uptime()}")
    return "\n".join(report) + "\n"


async def profile_pages(n: int) -> str:
    """pyinstrument over the slowest pages at county scale (no Temporal: the database part)."""
    import httpx
    from pyinstrument import Profiler

    from bench import api
    from db.pool import create_pool
    from webapp.app import create_app

    base = Path(tempfile.mkdtemp(prefix="jiuzhu-profile-"))
    system = BenchSystem(base / "run", workers=1)
    report = [f"page profiles at {n} cases; {uptime()}"]
    try:
        await asyncio.gather(asyncio.to_thread(system.start_postgres))
        from decimal import Decimal

        await system.bootstrap(Decimal("1000.00"))
        pool = await create_pool(system.url, min_size=2, max_size=10)
        await api.seed(pool, n, 0.025)
        app = create_app(pool=pool, client=None, secret_key=api.SECRET)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
            for user, path in (
                ("qu_minzheng", "/inbox"),
                ("qu_minzheng", "/api/cases"),
                ("qu_minzheng", "/api/cases?page=200"),
            ):
                await api.login(c, user)
                for _ in range(3):
                    await c.get(path)
                p = Profiler(async_mode="enabled")
                p.start()
                for _ in range(20):
                    await c.get(path)
                p.stop()
                report += ["", f"==== {path} as {user}, 20 requests", p.output_text(unicode=False, color=False)]
        await pool.close()
    finally:
        await system.stop()
        shutil.rmtree(base, ignore_errors=True)
    return "\n".join(report) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--pages", action="store_true", help="profile pages instead (needs pyinstrument)")
    parser.add_argument("--api-cases", type=int, default=100_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    quiet_logs()
    random.seed(1)
    if args.pages:
        text, out = asyncio.run(profile_pages(args.api_cases)), args.out or HERE / "profile-pages.txt"
    else:
        text, out = asyncio.run(profile_lifecycle(args.cases, args.py_spy)), args.out or HERE / "profile-lifecycle.txt"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
