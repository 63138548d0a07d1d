"""Replay workflow histories exported from production against this checkout's workflow code, before its
workers roll out (deploy/README.md, "Upgrades"). A non-determinism error means the new code would break
running cases: guard the change with `workflow.patched()` instead.

    temporal workflow show --workflow-id review-XYZ --output json > /srv/replay/review-XYZ.json
    .venv/bin/python deploy/replay_histories.py /srv/replay [more dirs or files...]

Every workflow type the worker runs (`workers.main.WORKFLOWS`) is registered. The exported histories hold
personal data: keep them on the operations host, never in the repository. Exit status 1 if any fails.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout, without installing it


def history_files(args: list[str]) -> list[Path]:
    files: list[Path] = []
    for arg in args:
        path = Path(arg)
        files += sorted(path.glob("*.json")) if path.is_dir() else [path]
    return files


async def replay(files: list[Path]) -> int:
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from infra.temporal import data_converter
    from workers.main import WORKFLOWS

    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter())
    failed = 0
    for path in files:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is None:
            print(f"ok      {path.name} ({len(history.events)} events)")
        else:
            failed += 1
            print(f"FAILED  {path.name}: {type(result.replay_failure).__name__}: {result.replay_failure}")
    print(f"{len(files) - failed} replayed, {failed} failed")
    return 1 if failed or not files else 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    return asyncio.run(replay(history_files(argv)))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
