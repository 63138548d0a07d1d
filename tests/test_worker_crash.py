"""Workers that die mid-case, on the dev server and embedded PostgreSQL: after a restart every case
completes, the event log and outbox hold every row exactly once, and nobody is paid twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

from infra.config import ROOT, TASK_QUEUE
from rules.stages import Action
from schemas.review import CaseOutcome, Decision, RefusalDelivered, ReviewNames, ReviewStart, workflow_id_for
from tests.support.factories import actor, application
from tests.support.review import DELIVERED, act, eventually_state, steps_to_decision, until_stage


def start_worker(env: WorkflowEnvironment, db_url: str, log: Path, **extra: str) -> subprocess.Popen:
    target = env.client.service_client.config.target_host
    environ = os.environ | {"DATABASE_URL": db_url, "TEMPORAL_ADDRESS": target} | extra
    return subprocess.Popen(
        [sys.executable, "-m", "workers.main"], env=environ, cwd=ROOT, stdout=log.open("a"), stderr=subprocess.STDOUT
    )


async def test_worker_killed_mid_case(dev_env: WorkflowEnvironment, db_url: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    worker = start_worker(dev_env, db_url, log)
    kills = 0
    try:
        app = application("CRASH-1")
        h = await dev_env.client.start_workflow(
            ReviewNames.WORKFLOW,
            ReviewStart(application=app, accepted_by=actor("shipo_jingban")),
            id=workflow_id_for("CRASH-1"),
            task_queue=TASK_QUEUE,
            result_type=CaseOutcome,
        )
        s = await until_stage(h, "investigation")
        today = s.clock.accepted_on
        steps = steps_to_decision(
            today, Decision(actor=actor("shipo_shenpi"), approve=False, reasons="人均收入高于标准")
        )
        for i, (name, arg) in enumerate(steps):
            pending = asyncio.create_task(act(h, name, arg))
            if i % 2 == 0:  # kill while the update's activities are in flight, then bring a new worker up
                await asyncio.sleep(0.05 * (i + 1))
                worker.send_signal(signal.SIGKILL)
                worker.wait()
                kills += 1
                worker = start_worker(dev_env, db_url, log)
            await asyncio.wait_for(pending, timeout=60)
        await eventually_state(h, lambda s: s.refusal_deliver_by is not None, "the refusal notice's delivery date")
        delivery = RefusalDelivered(
            actor=actor("shipo_jingban"), method="in_person", delivered_on=today, recipient="申请人本人"
        )
        await asyncio.wait_for(act(h, Action.REFUSAL_DELIVERED, delivery), timeout=60)
        outcome = await asyncio.wait_for(h.result(), timeout=60)
        assert outcome.stage == "refused"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
    assert kills == 3

    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("select kind, event_key from case_events where case_id = 'CRASH-1' order by id")
        assert [r["kind"] for r in rows] == DELIVERED
        assert len({r["event_key"] for r in rows}) == len(rows)
        assert await conn.fetchval("select count(*) from cases") == 1
        assert await conn.fetchval("select count(*) from households") == 1
        assert await conn.fetchval("select count(*) from notifications where kind = 'refusal'") == 1
        assert await conn.fetchval("select status from cases where case_id = 'CRASH-1'") == "refused"
    finally:
        await conn.close()


async def test_worker_dies_between_transfer_and_its_record(
    dev_env: WorkflowEnvironment, db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The failpoint kills the worker right after the money left (first attempt only): the retry on a
    new worker finds the payment recorded, repeats only the idempotent transfer, and pays once."""
    from tests.support.emergency import VILLAGE, fund, pay, start_emergency

    await fund(pool, VILLAGE, "3000")
    log = tmp_path / "worker.log"
    failing = start_worker(dev_env, db_url, log, JIUZHU_FAILPOINT="after_transfer")
    try:
        h = await start_emergency(dev_env, "CRASH-PAY")
        payment = asyncio.create_task(pay(h, "shipo_cun1", "village", "800"))
        assert await asyncio.to_thread(failing.wait, 60) != 0  # died at the failpoint
        assert await pool.fetchval("select count(*) from disbursements") == 1
        assert await pool.fetchval("select transfer_ref from aid_payments") is None  # money out, record not done
        healthy = start_worker(dev_env, db_url, log)
        try:
            ack = await asyncio.wait_for(payment, timeout=60)
        finally:
            healthy.send_signal(signal.SIGTERM)
            healthy.wait(10)
    finally:
        if failing.poll() is None:
            failing.kill()
    assert ack.total == 800
    assert await pool.fetchval("select count(*) from disbursements") == 1
    rows = await pool.fetch("select payment_key, transfer_ref, approved_at, paid_at from aid_payments")
    assert [(r["payment_key"], r["transfer_ref"]) for r in rows] == [("CRASH-PAY-pay-001", "CRASH-PAY-pay-001")]
    assert rows[0]["approved_at"] <= rows[0]["paid_at"]  # recorded by the retry, after the approval
    assert await pool.fetchval("select count(*) from fund_entries where kind = 'payment'") == 1
