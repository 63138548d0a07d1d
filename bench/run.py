"""The benchmark suite: one command, a table, bench/results.json and bench/RESULTS.md (written by bench/report.py).

    .venv/bin/python -m bench.run            # full: about 40 minutes on 2 busy cores (mostly the annual burst)
    .venv/bin/python -m bench.run --quick    # small N, under 3 minutes
    .venv/bin/python -m bench.run --only api,intake   # some figures only (bench/RESULTS-partial.md)
    .venv/bin/python -m bench.run --only annual --merge   # re-measure some figures into bench/RESULTS.md
    .venv/bin/python -m bench.run --rewrite  # RESULTS.md again from results.json (after editing findings.md)

Everything runs on private servers in a temporary directory (tests/support/system.py's: an embedded
PostgreSQL, a Temporal CLI dev server on free ports with its own SQLite file, `python -m workers.main`
as a subprocess; plus the baseline's worker, `python -m bench.minimal`). Each figure is measured side
by side with its baseline in the same run, so the ratio holds on a noisy machine; the 1-minute load
average is sampled throughout and written with every figure. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from bench.common import BenchSystem, LoadSampler, Phase, machine, uptime
from bench.report import markdown, print_table
from infra.clock import BEIJING

HERE = Path(__file__).resolve().parent

FULL = dict(
    lifecycle_cases=50, lifecycle_rounds=4, enrol_cases=30, api_cases=100_000, open_share=0.025, runs=60,
    intake=1000, annual=40_000, annual_baseline=4000, annual_budget=3600.0, discovery=100_000, discovery_runs=5,
    payroll=40_000,
)  # fmt: skip
QUICK = dict(
    lifecycle_cases=10, lifecycle_rounds=1, enrol_cases=5, api_cases=100_000, open_share=0.025, runs=15,
    intake=100, annual=300, annual_baseline=300, annual_budget=30.0, discovery=10_000, discovery_runs=3,
    payroll=1000,
)  # fmt: skip
FIGURES = ("lifecycle", "enrolment", "api", "intake", "annual", "discovery", "payroll")


def quiet_logs() -> None:
    """The app's and the SDK's warnings (e.g. "state query failed" for seeded rows) would drown the table."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    logging.getLogger().setLevel(logging.ERROR)
    warnings.simplefilter("ignore")


async def run(args: argparse.Namespace, p: dict, only: set[str]) -> dict:
    from bench import api, bursts, discovery, lifecycle, minimal, payroll
    from db.pool import create_pool
    from webapp.app import create_app

    sampler = LoadSampler().start()
    base = Path(tempfile.mkdtemp(prefix="jiuzhu-bench-"))
    results: dict[str, Any] = {
        "started_at": datetime.now(BEIJING).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "parameters": p,
        "machine": machine(),
        "uptime_at_start": uptime(),
        "figures": {},
    }
    figures = results["figures"]
    system = BenchSystem(base / "run", workers=1)
    t_all = time.monotonic()
    pool = None
    try:
        phase = Phase("setup", sampler)
        await system.up()
        client = await system.client()
        pool = await create_pool(system.url, min_size=2, max_size=10)
        results["setup"] = phase.end()
        print(f"servers up in {results['setup']['seconds']} s ({base})", flush=True)

        if "lifecycle" in only:
            phase = Phase("lifecycle", sampler)
            r = await lifecycle.lifecycle_dev(
                client, p["lifecycle_cases"], p["lifecycle_rounds"], meter=system.cpu_seconds
            )
            figures["lifecycle"] = r | phase.end()
            print(f"lifecycle: ratio {r['ratio']} (cpu {r.get('cpu_ratio')})", flush=True)

        if "enrolment" in only:
            phase = Phase("enrolment", sampler)
            r = await lifecycle.lifecycle_enrolment_ts(system.url, p["enrol_cases"])
            figures["enrolment"] = r | phase.end()
            print(f"enrolment (time-skipping): ratio {r['ratio']}", flush=True)

        apps: dict[bool, Any] = {}

        def app_factory(with_temporal: bool) -> Any:
            if with_temporal not in apps:
                apps[with_temporal] = create_app(
                    pool=pool, client=client if with_temporal else None, secret_key=api.SECRET
                )
            return apps[with_temporal]

        today = datetime.now(BEIJING).date()
        if "api" in only:
            phase = Phase("api", sampler)
            seeded = await api.seed(pool, p["api_cases"], p["open_share"])
            print(f"seeded {seeded['cases']} cases, {seeded['events']} events in {seeded['seconds']} s", flush=True)
            case_id = await pool.fetchval(
                "select case_id from cases where case_id like 'S%' and status = 'open' and stage = 'investigation' "
                "order by case_id limit 1"
            )
            endpoints = await api.run_latency(app_factory, pool, case_id, p["runs"], today)
            fewer = await api.inbox_with_fewer_open(app_factory, pool, p["runs"])
            endpoints[f"inbox: district officer, {fewer['open_cases']} open (half closed)"] = fewer
            figures["api"] = {"seed": seeded, "endpoints": endpoints, "case_id": case_id} | phase.end()
            print("api: done", flush=True)

        if "intake" in only:
            phase = Phase("intake", sampler)
            r = await bursts.intake_burst(app_factory(True), pool, p["intake"])
            r["bare"] = await bursts.bare_starts(client, pool, p["intake"])
            r["ratio"] = round(r["accepted_per_second"] / r["bare"]["started_per_second"], 2)
            figures["intake"] = r | phase.end()
            print(f"intake: {r['accepted']}/{r['applications']} accepted, {r['accepted_per_second']}/s", flush=True)
            # a case page whose workflow is alive: the query is answered by the worker
            phase = Phase("live case page", sampler)
            live = await api.run_latency(
                app_factory, pool, r["a_case_id"], p["runs"], today, live_case=r["a_case_id"], only_case_pages=True
            )
            figures.setdefault("api", {"endpoints": {}})["endpoints"].update(live)
            figures["api"]["live_case"] = phase.end()

        if "annual" in only:
            phase = Phase("annual", sampler)
            base = await bursts.annual_burst(
                system,
                client,
                min(p["annual_baseline"], p["annual"]),
                p["annual_budget"],
                workflow=minimal.PARK,
                task_queue=minimal.TASK_QUEUE,
                workflow_id=lambda case: f"park-{case}",
                rss=system.minimal_rss,
            )
            r = await bursts.annual_burst(system, client, p["annual"], p["annual_budget"])
            r["baseline"] = {k: v for k, v in base.items() if k != "curve"}
            r["ratio"] = round(r["parked_per_second"] / base["parked_per_second"], 2)
            figures["annual"] = r | phase.end()
            print(f"annual: {r['started']} started in {r['start_seconds']} s, rss {r['worker_rss_mb']}", flush=True)
        if "discovery" in only:
            phase = Phase("discovery", sampler)
            r = await discovery.matching(pool, p["discovery"], p["discovery_runs"])
            figures["discovery"] = r | phase.end()
            print(f"discovery: match p50 {r['match']['p50_ms']} ms, bare {r['bare']['p50_ms']} ms", flush=True)
        if "payroll" in only:
            phase = Phase("payroll", sampler)
            r = await payroll.month_payroll(system, client, pool, p["payroll"], today)
            figures["payroll"] = r | phase.end()
            print(f"payroll: {r['lines']} lines in {r['payroll_seconds']} s, ratio {r['ratio']}", flush=True)
    finally:
        if pool is not None:
            await pool.close()
        await system.stop()
        sampler.stop()
        results["seconds"] = round(time.monotonic() - t_all, 1)
        results["load1_during_run"] = sampler.between(0, time.monotonic())
        results["uptime_at_end"] = uptime()
        if args.keep:
            print(f"data and logs kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return results


def merged(recorded: dict, new: dict, only: set[str]) -> dict:
    """The recorded full run with the figures of a partial run in place of its own, and a note saying so
    (each figure keeps its own phase load, so the table still says under what load it was taken)."""
    figures = recorded["figures"]
    for name, fig in new["figures"].items():
        if name == "api" and "api" not in only:  # the intake phase adds its live case pages to the API table
            figures.setdefault("api", {"endpoints": {}})["endpoints"].update(fig["endpoints"])
            figures["api"]["live_case"] = fig["live_case"]
        else:
            figures[name] = fig
    again = {k: new[k] for k in ("started_at", "seconds")} | {"figures": sorted(only), "load1": new["load1_during_run"]}
    recorded["remeasured"] = [r for r in recorded.get("remeasured", []) if set(r["figures"]) - only] + [again]
    return recorded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N: under 3 minutes")
    parser.add_argument("--only", default=",".join(FIGURES), help=f"comma-separated subset of {','.join(FIGURES)}")
    parser.add_argument("--json", type=Path, help="default bench/results.json (quick: results-quick.json)")
    parser.add_argument("--md", type=Path, help="default bench/RESULTS.md (quick: RESULTS-quick.md)")
    parser.add_argument("--keep", action="store_true", help="keep the servers' data and logs")
    parser.add_argument(
        "--merge", action="store_true", help="a partial full-mode run replaces its figures in bench/results.json"
    )
    parser.add_argument(
        "--rewrite", action="store_true", help="only rewrite bench/RESULTS.md from bench/results.json and findings.md"
    )
    for key, value in FULL.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=None)
    args = parser.parse_args()
    if args.rewrite:
        (HERE / "RESULTS.md").write_text(markdown(json.loads((HERE / "results.json").read_text())))
        return 0
    params = dict(QUICK if args.quick else FULL)
    for key in FULL:
        if (v := getattr(args, key)) is not None:
            params[key] = v
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    unknown = only - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures: {', '.join(sorted(unknown))}")
    # Only a full run of every figure replaces the recorded results; a quick or partial run writes beside them.
    suffix = "-quick" if args.quick else ("" if only == set(FIGURES) else "-partial")
    args.json = args.json or HERE / f"results{suffix}.json"
    args.md = args.md or HERE / f"RESULTS{suffix}.md"
    quiet_logs()
    print(f"bench: {'quick' if args.quick else 'full'} mode, {', '.join(f for f in FIGURES if f in only)}")
    print(uptime(), flush=True)
    res = asyncio.run(run(args, params, only))
    print()
    print_table(res)
    if args.merge and not args.quick:
        args.json, args.md = HERE / "results.json", HERE / "RESULTS.md"
        res = merged(json.loads(args.json.read_text()), res, only)
    args.json.write_text(json.dumps(res, ensure_ascii=False, indent=1, default=str))
    args.md.write_text(markdown(res))
    print(f"\nwritten: {args.json}, {args.md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
