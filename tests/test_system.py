"""Smoke tests: the system as `jiuzhu up` runs it, and a trivial workflow through a real worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from infra.config import TASK_QUEUE
from infra.servers import port_open
from tests.support.ports import free_port
from workers.main import build_worker
from workflows.system_check import SystemCheckWorkflow


async def test_system_check_through_real_worker(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    async with build_worker(dev_env.client, pool):
        check = await dev_env.client.execute_workflow(
            SystemCheckWorkflow.run, "pytest", id=f"check-{uuid.uuid4()}", task_queue=TASK_QUEUE
        )
    assert check.requested_by == "pytest"
    assert check.places == 30  # district + 23 townships + 6 demo villages
    assert check.users == 14
    assert check.policy_version == 1


async def _count_system_checks(port: int) -> int:
    client = await Client.connect(f"127.0.0.1:{port}")
    return (await client.count_workflows("WorkflowType = 'SystemCheckWorkflow'")).count


def _jiuzhu(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", *args]


def _wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_jiuzhu_up_status_and_restart_keeps_data(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS")}
    ports = {
        "JIUZHU_TEMPORAL_PORT": free_port(),
        "JIUZHU_TEMPORAL_UI_PORT": free_port(),
        "JIUZHU_WEB_PORT": free_port(),
    }
    env.update({k: str(v) for k, v in ports.items()}, JIUZHU_VAR=str(tmp_path / "var"))

    log = tmp_path / "up.log"

    state = tmp_path / "var" / "run" / "state.json"

    def ours_ready(proc: subprocess.Popen) -> bool:
        """This `jiuzhu up` wrote its state and its web app answers (not some other process on the port)."""
        try:
            if json.loads(state.read_text())["pid"] != proc.pid:
                return False
            return httpx.get(f"http://127.0.0.1:{ports['JIUZHU_WEB_PORT']}/healthz", timeout=1).status_code == 200
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            return False

    def start() -> subprocess.Popen:
        log.write_text("")
        proc = subprocess.Popen(_jiuzhu("up", "--demo"), env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        running.append(proc)
        assert _wait_for(lambda: ours_ready(proc), 90), "jiuzhu up did not come up:\n" + log.read_text()
        return proc

    def stop(proc: subprocess.Popen) -> str:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        running.remove(proc)
        out = log.read_text()
        assert proc.returncode == 0, out
        return out

    running: list[subprocess.Popen] = []
    try:
        _up_twice(start, stop, env, ports, tmp_path)
    finally:
        for proc in running:  # a failed assertion must not leave servers behind
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)


def _up_twice(start, stop, env: dict, ports: dict, tmp_path: Path) -> None:
    first = start()
    status = subprocess.run(_jiuzhu("status"), env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "UP    worker" in status.stdout and "policy v1" in status.stdout
    assert "UP    temporal-ui" in status.stdout
    out = stop(first)
    assert "admin" in out and "jiuzhu2026" in out  # demo users announced on the first start
    assert not port_open("127.0.0.1", ports["JIUZHU_TEMPORAL_PORT"])

    second = start()
    status = subprocess.run(_jiuzhu("status"), env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stdout
    assert "14 users" in status.stdout  # same database, no second demo set
    assert asyncio.run(_count_system_checks(ports["JIUZHU_TEMPORAL_PORT"])) == 2  # first run's history kept
    out = stop(second)
    assert "demo users created" not in out
    assert (tmp_path / "var" / "temporal.db").exists()
