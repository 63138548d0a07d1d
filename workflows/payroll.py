"""The monthly payroll (发放) as workflows: each month the Schedule's run starts one payroll per township with
recipients to pay (`payroll-<township>-<YYYY-MM>-0`); a payroll drafts its 发放花名册 from the register, waits
for the township's check and the district's confirmation (two people), then for the bank's answers until every
line has one. A supplementary run (`…-<seq>`, seq ≥ 1) pays again what failed once the account is fixed.

No personal data in these payloads: the lines stay in the database; the workflow knows the payroll's id and
totals.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from workflows.common import ACTIVITY, refuse, today

with workflow.unsafe.imports_passed_through():
    from rules.payroll import refusal
    from schemas.contracts import PayrollContract
    from schemas.payroll import (
        BankReturn,
        PayrollCheck,
        PayrollConfirm,
        PayrollMonthResult,
        PayrollNames,
        PayrollStart,
        PayrollState,
        PayrollStep,
    )
    from schemas.staff import Actor

# The draft and the bank's answer are one statement each over a township's register (thousands of rows).
BULK = dict(
    start_to_close_timeout=timedelta(minutes=5), retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30))
)


@workflow.defn(name=PayrollNames.MONTH)
class PayrollMonthWorkflow:
    """The Schedule's run: one payroll workflow per township with recipients to pay this month."""

    @workflow.run
    async def run(self, month: str | None = None) -> PayrollMonthResult:
        month = month or f"{today():%Y-%m}"
        townships = await workflow.execute_activity_method(PayrollContract.payroll_townships, month, **BULK)
        started = await workflow.execute_activity_method(
            PayrollContract.start_payrolls, args=[month, townships], **BULK
        )
        return PayrollMonthResult(month=month, townships=townships, started=started)


@workflow.defn(name=PayrollNames.WORKFLOW)
class PayrollWorkflow:
    @workflow.init
    def __init__(self, start: PayrollStart) -> None:
        self.s = PayrollState(start=start)

    @workflow.run
    async def run(self, start: PayrollStart) -> PayrollState:
        drafted = await workflow.execute_activity_method(PayrollContract.draft_payroll, start, **BULK)
        self.s.totals, self.s.payroll_id = drafted, drafted.payroll_id
        if drafted.payroll_id is None:
            self.s.status = "empty"
            return self.s
        self.s.status = "draft"
        await workflow.wait_condition(lambda: self.s.status == "reconciled" and workflow.all_handlers_finished())
        return self.s

    def _refuse(self, action, actor: Actor) -> None:
        why = refusal(
            action,
            self.s.status,
            actor.role.value,
            actor.place_code,
            self.s.start.township_code,
            actor.username,
            self.s.checked_by.username if self.s.checked_by else None,
        )
        if why:
            raise refuse(*why)

    async def _step(self, action, actor: Actor, note: str) -> None:
        assert self.s.payroll_id is not None
        step = PayrollStep(payroll_id=self.s.payroll_id, action=action, actor=actor, note=note, at=workflow.now())
        await workflow.execute_activity_method(PayrollContract.record_payroll_step, step, **ACTIVITY)

    @workflow.update(name=PayrollNames.CHECK)
    async def check(self, c: PayrollCheck) -> PayrollState:
        self.s.status, self.s.checked_by = "checked", c.actor  # at once: a second check is refused meanwhile
        await self._step("check", c.actor, c.note)
        return self.s

    @check.validator
    def _v_check(self, c: PayrollCheck) -> None:
        self._refuse("check", c.actor)

    @workflow.update(name=PayrollNames.CONFIRM)
    async def confirm(self, c: PayrollConfirm) -> PayrollState:
        self.s.status, self.s.confirmed_by = "confirmed", c.actor
        await self._step("confirm", c.actor, c.note)
        totals = self.s.totals
        if totals is not None and totals.lines == totals.held_lines:  # nothing goes to the bank
            self.s.status = "reconciled"
        return self.s

    @confirm.validator
    def _v_confirm(self, c: PayrollConfirm) -> None:
        self._refuse("confirm", c.actor)

    @workflow.update(name=PayrollNames.BANK_RETURN)
    async def bank_return(self, r: BankReturn) -> PayrollState:
        assert self.s.payroll_id is not None
        applied = await workflow.execute_activity_method(
            PayrollContract.apply_bank_return, args=[self.s.payroll_id, r.return_id], **BULK
        )
        self.s.returns.append(applied)
        if applied.outstanding == 0:
            self.s.status = "reconciled"
        return self.s

    @bank_return.validator
    def _v_bank_return(self, r: BankReturn) -> None:
        self._refuse("bank_return", r.actor)

    @workflow.query(name=PayrollNames.STATE)
    def state(self) -> PayrollState:
        return self.s
