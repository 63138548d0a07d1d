"""Side effects of the monthly payroll (db/payroll_repo.py): the townships to pay, one payroll workflow each
(started once whatever the retries), the draft, the check and confirmation, the bank's answer with its tasks
and escalations. Idempotent: a retry writes nothing twice."""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.common import start_each
from db import cases_repo, payroll_repo, policy_repo
from rules.clock import beijing_date
from rules.payroll import payroll_workflow_id
from schemas.contracts import PayrollContract
from schemas.payroll import PayrollDrafted, PayrollNames, PayrollStart, PayrollStep, ReturnApplied
from schemas.review import NotificationIn

log = structlog.get_logger(__name__)


class PayrollActivities(PayrollContract):
    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.client = client

    @activity.defn
    async def payroll_townships(self, month: str) -> list[str]:
        async with self.pool.acquire() as conn:
            return await payroll_repo.townships_to_pay(conn, month)

    @activity.defn
    async def start_payrolls(self, month: str, townships: list[str]) -> int:
        """Each township's payroll of the month as a workflow of its own (`payroll-<township>-<month>-0`)."""
        starts = [(PayrollStart(township_code=t, month=month), payroll_workflow_id(t, month)) for t in townships]
        return await start_each(self.client, PayrollNames.WORKFLOW, starts)

    @activity.defn
    async def draft_payroll(self, start: PayrollStart) -> PayrollDrafted:
        wid = payroll_workflow_id(start.township_code, start.month, start.seq)
        async with self.pool.acquire() as conn:
            drafted = await payroll_repo.draft(conn, start, wid)
        log.info("payroll drafted", workflow_id=wid, lines=drafted.lines, held=drafted.held_lines)
        return drafted

    @activity.defn
    async def record_payroll_step(self, step: PayrollStep) -> None:
        async with self.pool.acquire() as conn:
            try:
                await payroll_repo.record_step(conn, step)
            except payroll_repo.WrongStatus as exc:
                raise ApplicationError(f"payroll is {exc.status}", type="wrong_status", non_retryable=True) from None

    @activity.defn
    async def apply_bank_return(self, payroll_id: int, return_id: int) -> ReturnApplied:
        """Mark the lines, open the township's tasks (and tell its caseworkers), and escalate to the district the
        recipients unpaid for the policy's number of months in a row."""
        now = activity.info().current_attempt_scheduled_time  # the server's clock (time-skipping in tests)
        async with self.pool.acquire() as conn, conn.transaction():
            applied = await payroll_repo.apply_return(conn, payroll_id, return_id)
            months = (await policy_repo.in_force(conn, beijing_date(now))).payroll.unpaid_escalation_months
            escalations = await payroll_repo.escalate_unpaid(conn, payroll_id, months, now)
            for escalation, notice, event in escalations:
                await cases_repo.add_escalation(conn, escalation)
                await cases_repo.queue_notification(conn, notice)
                await cases_repo.append_events(conn, [event])
            township = await payroll_repo.township_of(conn, payroll_id)
            if applied.tasks:
                await cases_repo.queue_notification(
                    conn,
                    NotificationIn(
                        idempotency_key=f"payroll-return-{return_id}",
                        case_id=None,
                        audience=f"role:township_caseworker@{township}",
                        kind="payroll-failed",
                        subject="保障金发放失败待处理",
                        body=f"银行回盘有 {applied.tasks} 笔发放失败，请核实并更正发放账户，下次补充发放时补发",
                    ),
                )
        log.info(
            "bank return applied",
            payroll_id=payroll_id,
            return_id=return_id,
            paid=applied.paid,
            failed=applied.failed,
            escalated=len(escalations),
        )
        return applied.model_copy(update={"escalated": len(escalations)})
