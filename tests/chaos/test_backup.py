"""`jiuzhu backup` of a running one-machine system and `jiuzhu restore` into a new var directory: every
case is found again, in the database and as a Temporal workflow, and the open ones carry on there."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tarfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle

from db.pool import create_pool
from infra.config import ROOT
from rules.emergency_actions import EmergencyAction
from rules.stages import Action
from schemas.emergency import (
    CloseEvent,
    DocumentsRecorded,
    EmergencyAck,
    EmergencyNames,
    EmergencyState,
    PaymentApproval,
    emergency_workflow_id,
)
from schemas.review import ActionAck, CaseOutcome, CaseState, Decision, ReviewNames, ReviewStart, workflow_id_for
from tests.support.actions import update_of
from tests.support.factories import actor, application
from tests.support.review import hearing, home_visit, interview, verification
from tests.support.system import PAYMENT, ChaosSystem, Retrier, deliver_refusal, run_review_case
from workers.main import build_worker

DONE, OPEN, EVENT = "BK-DONE", "BK-OPEN", "BK-EVENT"


def jiuzhu(var: Path, *args: str, port: int = 1) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS")}
    env |= {"JIUZHU_VAR": str(var), "JIUZHU_TEMPORAL_PORT": str(port)}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


async def snapshot(url: str) -> dict:
    conn = await asyncpg.connect(url)
    try:
        return {
            "events": [tuple(r) for r in await conn.fetch("select case_id, event_key from case_events order by id")],
            "cases": [tuple(r) for r in await conn.fetch("select case_id, workflow_id, status from cases order by 1")],
            "emergency_log": [tuple(r) for r in await conn.fetch("select event_id, log_key from emergency_log")],
            "payments": [tuple(r) for r in await conn.fetch("select payment_key, amount_fen from aid_payments")],
            "users": await conn.fetchval("select count(*) from users"),
        }
    finally:
        await conn.close()


async def open_case(system: ChaosSystem, retry: Retrier) -> WorkflowHandle:
    """A case in investigation with its verification result recorded, and an event with one payment."""
    client = await system.client()
    h = await client.start_workflow(
        ReviewNames.WORKFLOW,
        ReviewStart(application=application(OPEN), accepted_by=actor("shipo_jingban")),
        id=workflow_id_for(OPEN),
        task_queue="jiuzhu-main",
        execution_timeout=timedelta(days=400),
        result_type=CaseOutcome,
    )
    for _ in range(300):
        if (await retry.query(h, ReviewNames.STATE, CaseState)).stage == "investigation":
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the case never reached the investigation")
    await retry.update(h, Action.VERIFICATION_RESULT, verification(), update_id="v", result_type=ActionAck)
    return h


async def test_backup_restore_finds_every_case(tmp_path: Path) -> None:
    var1, var2, archive = tmp_path / "var1", tmp_path / "var2", tmp_path / "backup.tar.gz"
    first = ChaosSystem(var1, workers=0)
    second: ChaosSystem | None = None
    retry = Retrier(time.monotonic() + 90)
    rng = random.Random(1)
    try:
        first.start_postgres()
        await first.bootstrap(Decimal("3000.00"))
        await first.start_temporal()
        client = await first.client()
        pool = await create_pool(first.url, max_size=4)
        async with build_worker(client, pool):
            refused = await run_review_case(client, retry, DONE, rng, (0, 0))
            assert refused.stage == "refused"
            await open_case(first, retry)
            h = await client.start_workflow(
                EmergencyNames.WORKFLOW,
                _emergency_start(),
                id=emergency_workflow_id(EVENT),
                task_queue="jiuzhu-main",
                result_type=EmergencyState,
            )
            await retry.update(
                h,
                update_of(EmergencyAction.APPROVE),
                PaymentApproval(actor=actor("shipo_cun1"), tier="village", amount=PAYMENT),
                update_id="pay-1",
                result_type=EmergencyAck,
            )
        await pool.close()
        before = await snapshot(first.url)

        # Online backup: PostgreSQL and the dev server are running.
        done = jiuzhu(var1, "backup", str(archive), port=first.settings.temporal_port)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "案件 2" in done.stdout and "在线备份" in done.stdout
        with tarfile.open(archive) as tar:
            assert sorted(tar.getnames()) == ["database.dump", "manifest.json", "temporal.db"]
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest["online"] is True and manifest["format"] == 1
        assert manifest["counts"]["cases"] == 2 and manifest["counts"]["aid_payments"] == 1
        assert manifest["counts"]["case_events"] == len(before["events"])
        assert manifest["temporal"] == {"workflows": 3, "running": 2}
        assert manifest["migration"] == await _revision(first.url)
        again = jiuzhu(var1, "backup", str(archive), port=first.settings.temporal_port)
        assert again.returncode == 1 and "--force" in again.stderr  # no silent overwrite
        await first.stop()  # the original is gone from here on

        done = jiuzhu(var2, "restore", str(archive))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "行数已核对" in done.stdout
        refused_again = jiuzhu(var2, "restore", str(archive))
        assert refused_again.returncode == 1 and "--force" in refused_again.stderr
        forced = jiuzhu(var2, "restore", str(archive), "--force")
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert len(list(var2.glob("pg.before-restore-*"))) == 1  # moved aside, not deleted

        second = ChaosSystem(var2, workers=0)
        second.start_postgres()
        await second.start_temporal()
        assert await snapshot(second.url) == before
        client = await second.client()
        statuses = {
            wid: (await client.get_workflow_handle(wid).describe()).status
            for wid in (workflow_id_for(DONE), workflow_id_for(OPEN), emergency_workflow_id(EVENT))
        }
        assert statuses == {
            workflow_id_for(DONE): WorkflowExecutionStatus.COMPLETED,
            workflow_id_for(OPEN): WorkflowExecutionStatus.RUNNING,
            emergency_workflow_id(EVENT): WorkflowExecutionStatus.RUNNING,
        }
        found = await client.count_workflows("WorkflowType = 'ReviewWorkflow'")
        assert found.count == 2

        # The restored system is live: the open case and the open event carry on to their end.
        pool = await create_pool(second.url, max_size=4)
        async with build_worker(client, pool):
            h = client.get_workflow_handle(workflow_id_for(OPEN), result_type=CaseOutcome)
            today = (await retry.query(h, ReviewNames.STATE, CaseState)).clock.accepted_on
            for i, (name, arg) in enumerate(
                [
                    (Action.HOME_VISIT, home_visit(today)),
                    (Action.NEIGHBOUR_INTERVIEW, interview(today)),
                    (Action.HEARING, hearing(today)),
                    (Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=False, reasons="收入高于标准")),
                ]
            ):
                await retry.update(h, name, arg, update_id=f"after-{i}", result_type=ActionAck)
            await deliver_refusal(retry, h, today, update_id="after-delivered")
            assert (await h.result()).stage == "refused"
            e = client.get_workflow_handle(emergency_workflow_id(EVENT), result_type=EmergencyState)
            cadre = actor("shipo_cun1")
            for i, (name, arg) in enumerate(
                [
                    (update_of(EmergencyAction.APPROVE), PaymentApproval(actor=cadre, tier="village", amount=PAYMENT)),
                    (update_of(EmergencyAction.DOCUMENTS), DocumentsRecorded(actor=cadre, items=["火灾证明"])),
                    (update_of(EmergencyAction.CLOSE), CloseEvent(actor=cadre, summary="救助已发放")),
                ]
            ):
                await retry.update(e, name, arg, update_id=f"after-{i}", result_type=EmergencyAck)
            final = await e.result()
            assert (final.status, final.total, final.documents_done) == ("closed", Decimal("600.00"), True)
        await pool.close()
        after = await snapshot(second.url)
        assert sorted(after["payments"]) == [(f"{EVENT}-pay-001", 30000), (f"{EVENT}-pay-002", 30000)]
        assert [k for c, k in after["events"] if c == OPEN][-2:] == ["0008-refused", "0009-refusal_delivered"]
        assert {c: s for c, _, s in after["cases"]} == {DONE: "refused", OPEN: "refused"}
    finally:
        await first.stop()
        if second is not None:
            await second.stop()


async def _revision(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("select version_num from alembic_version")
    finally:
        await conn.close()


def _emergency_start():
    from datetime import date

    from schemas.emergency import EmergencyHousehold, EmergencyKind, EmergencyStart
    from tests.support.factories import resident_id

    return EmergencyStart(
        event_id=EVENT,
        kind=EmergencyKind.FIRE,
        description="夜间房屋失火，家中财物烧毁",
        household=EmergencyHousehold(
            name="赵六",
            id_number=resident_id(date(1975, 6, 1)),
            township_code="341503106",
            village_code="341503106201",
            address="示范村一 赵家湾 3 号",
            members=4,
        ),
        registered_by=actor("shipo_cun1"),
    )
