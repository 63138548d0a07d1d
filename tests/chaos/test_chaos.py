"""Short chaos run (the long one is `bench/chaos.py`): 30 review cases to refusal and 10 emergencies with
two payments each, all at once, while workers are SIGKILLed, Temporal and PostgreSQL are restarted, and every
fifth staff action is sent twice at once (one update id, as the API makes of one Idempotency-Key).
Nothing may be lost, duplicated or paid twice. `JIUZHU_CHAOS_SEED` replays a run's fault schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.chaos import run_chaos


@pytest.mark.timeout(240)
async def test_chaos_short(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = await run_chaos(tmp_path / "chaos", review_cases=30, emergencies=10, kills=4, budget=180)
    with capsys.disabled():
        print("\n" + report.figure() + "\n" + report.details())
    assert not report.problems, "\n".join([report.figure(), *report.problems[:40], report.details()])
    assert report.losses == 0
    assert report.double_payments == 0
    assert report.duplicates == (30 * 6 + 10 * 4) // 5  # every fifth of the 220 staff actions
    f = report.faults
    assert f.kills >= 5 and f.temporal_restarts == 1 and f.postgres_restarts == 1, f.log  # kill_all: 2 at once
    assert len(report.faults_while_running) == 4 + 2, f.log  # every fault hit cases in flight
