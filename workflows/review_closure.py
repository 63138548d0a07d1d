"""Closing a review case before enrolment: 撤回 (the caseworker, at the applicant's signed request) and 终止
(the approver, with written reasons). Both are updates of `ReviewWorkflow` whose validators refuse at once;
the handler hands the closure to `run()`, which stops the clock, moves the case to its final stage and
records the event, and answers with that event's key. No public notice follows and nothing is enrolled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflows.common import refuse, today
from workflows.journal import Journal

with workflow.unsafe.imports_passed_through():
    from rules.stages import Action, Stage
    from schemas.review import ActionAck, CaseError, CaseOutcome, Termination, Withdrawal
    from schemas.staff import Actor

if TYPE_CHECKING:
    from workflows.review_clock import ReviewClock

# Since: a case may be withdrawn or terminated before enrolment (run() ends it where it waits).
CLOSED_EARLY = "review-withdraw-terminate"
ALREADY_CLOSING = "案件正在撤回或终止，不能重复办理"


@dataclass
class Closure:
    """A withdrawal or termination handed to run(): what to record, and (once recorded) the event's key."""

    action: Action
    actor: Actor
    payload: dict[str, Any]
    summary: str
    key: str | None = None


class ReviewClosure:
    """The withdraw and terminate updates of `ReviewWorkflow`, which holds the state they read and record."""

    case_id: str
    stage: Stage
    accepted_on: date | None
    journal: Journal
    clock: ReviewClock
    closure: Closure | None
    steps: list[str]
    steps_taken: int
    check: Callable[[Action, Actor], None]
    ack: Callable[[str], ActionAck]
    move: Callable[[Stage], None]
    send: Callable[..., Awaitable[None]]
    applicant_name: str
    kind_label: str

    @workflow.update(name=Action.WITHDRAW.value)
    async def withdraw(self, a: Withdrawal) -> ActionAck:
        payload = {"statement_signed_on": str(a.statement_signed_on), "statement_ref": a.statement_ref}
        summary = f"申请人申请撤回（撤回申请书 {a.statement_ref}，{a.statement_signed_on} 签署）"
        if a.reason.strip():
            payload["reason"] = a.reason.strip()
            summary += f"：{a.reason.strip()}"
        return await self.close_early(Closure(Action.WITHDRAW, a.actor, payload, summary + "；案件办结"))

    @withdraw.validator
    def _v_withdraw(self, a: Withdrawal) -> None:
        self.check(Action.WITHDRAW, a.actor)
        if self.closure is not None:
            raise refuse(CaseError.WRONG_STAGE, ALREADY_CLOSING)
        if not a.statement_ref.strip():
            raise refuse(CaseError.INCOMPLETE, "请填写申请人签署的撤回申请书编号")
        if a.statement_signed_on > today() or (self.accepted_on and a.statement_signed_on < self.accepted_on):
            raise refuse(CaseError.INVALID, "撤回申请书的签署日期应在受理之后、今天之前")

    @workflow.update(name=Action.TERMINATE.value)
    async def terminate(self, a: Termination) -> ActionAck:
        reasons = a.reasons.strip()
        closure = Closure(Action.TERMINATE, a.actor, {"reasons": reasons}, f"终止审核，案件办结。理由：{reasons}")
        return await self.close_early(closure)

    @terminate.validator
    def _v_terminate(self, a: Termination) -> None:
        self.check(Action.TERMINATE, a.actor)
        if self.closure is not None:
            raise refuse(CaseError.WRONG_STAGE, ALREADY_CLOSING)
        if len(a.reasons.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, "终止审核须书面写明理由")

    async def close_early(self, closure: Closure) -> ActionAck:
        """Hand the closure to run() and answer once it is recorded (a second one that passed its validator
        before the first was applied is refused here)."""
        if self.closure is not None:
            raise refuse(CaseError.WRONG_STAGE, ALREADY_CLOSING)
        self.closure = closure
        await workflow.wait_condition(lambda: closure.key is not None)
        assert closure.key is not None
        return self.ack(closure.key)

    async def closed_early(self) -> CaseOutcome:
        """run()'s part: steps handed over but not taken are dropped, the clock stops, the case moves to its
        final stage and the event is recorded; a terminated case's applicant is told in writing."""
        closure = self.closure
        assert closure is not None
        workflow.patched(CLOSED_EARLY)
        self.steps_taken = len(self.steps)
        self.clock.stop()
        self.move(Stage.WITHDRAWN if closure.action is Action.WITHDRAW else Stage.TERMINATED)
        key = self.journal.note(closure.action, closure.actor, closure.payload, closure.summary)
        await self.journal.persist()
        if closure.action is Action.TERMINATE:
            await self.send(
                "terminated",
                "applicant",
                f"{self.kind_label}申请终止审核通知书",
                f"您的{self.kind_label}申请已终止审核。理由：{closure.payload['reasons']}。"
                "如有异议，可依法申请行政复议或提起行政诉讼。",
            )
        closure.key = key
        return CaseOutcome(case_id=self.case_id, stage=self.stage.value)
