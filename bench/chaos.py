"""Long chaos run: 200 cases at once (160 review cases to refusal, 40 emergencies with two payments each)
while workers are SIGKILLed at random moments, the Temporal dev server and PostgreSQL are restarted.

    .venv/bin/python bench/chaos.py [--review 160] [--emergency 40] [--kills 10] [--workers 2]
                                    [--seed N] [--json bench/chaos-result.json] [--keep]

The same run as the short form in `make test` (tests/support/chaos.py): private embedded
PostgreSQL, a dev server on free ports, worker subprocesses. Prints the figure line (cases, kills,
restarts, losses) with the fault timeline, writes it as JSON, and exits 1 if anything was lost.
Not collected by pytest (it lives outside tests/).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/support is not an installed package

from tests.support.chaos import run_chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--review", type=int, default=160, help="review cases driven to refusal")
    parser.add_argument("--emergency", type=int, default=40, help="emergency events with two payments each")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs (one of them of every worker at once)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--seed", type=int, default=None, help="replay a run's fault schedule")
    parser.add_argument("--budget", type=float, default=1800.0, help="give up after this many seconds")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "chaos-result.json")
    parser.add_argument("--keep", action="store_true", help="keep the servers' data and logs")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="jiuzhu-chaos-"))
    try:
        report = asyncio.run(
            run_chaos(
                base / "run",
                review_cases=args.review,
                emergencies=args.emergency,
                kills=args.kills,
                workers=args.workers,
                stagger=0.05,
                budget=args.budget,
                seed=args.seed,
            )
        )
    finally:
        if args.keep:
            print(f"data and logs kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print(report.figure())
    print(report.details())
    for problem in report.problems[:50]:
        print("PROBLEM", problem)
    f = report.faults
    result = {
        "cases": report.review_cases + report.emergencies,
        "review_cases": report.review_cases,
        "emergencies": report.emergencies,
        "payments": report.payments,
        "kills": f.kills,
        "temporal_restarts": f.temporal_restarts,
        "postgres_restarts": f.postgres_restarts,
        "worker_starts": f.worker_starts,
        "unexpected_worker_exits": f.unexpected_worker_exits,
        "client_retries": dict(report.retries),
        "seconds": round(report.seconds, 1),
        "seed": report.seed,
        "losses": report.losses,
        "duplicates_sent": report.duplicates,
        "double_payments": report.double_payments,
        "problems": report.problems,
        "timeline": f.log,
    }
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"written to {args.json}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
