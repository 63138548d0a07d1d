"""Closing a review case before enrolment: 撤回 (the caseworker, at the applicant's signed request) and 终止
(the approver, with written reasons). Both are updates of `ReviewWorkflow` whose validators refuse at once;
the handler hands the closure to `run()`, which stops the clock, moves the case to its final stage and
records the event, and answers with that event's key. No public notice follows and nothing is enrolled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflows.common import refuse, today
from workflows.journal import Journal
from workflows.review_patches import CLOSED_EARLY, since

with workflow.unsafe.imports_passed_through():
    from rules.actions import APPEAL_RIGHT
    from rules.stages import Action, Stage
    from schemas.review import ActionAck, CaseError, CaseOutcome, Decision, Termination, Withdrawal
    from schemas.staff import Actor

if TYPE_CHECKING:
    from workflows.review_clock import ReviewClock

ALREADY_CLOSING = "案件正在撤回或终止，不能重复办理"
NOTICE_OVER = "公示期已结束，案件正在纳入保障，不能撤回或终止"
REFUSAL_DECIDED = "已决定不予批准，案件按不予批准办结，不能撤回或终止"
CLOSED_OTHERWISE = "案件已按其他结果办结，未能撤回或终止"


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
    closed: bool
    notice_ends_at: datetime | None
    decision: Decision | None
    steps: list[str]
    steps_taken: int
    check: Callable[[Action, Actor], None]
    ack: Callable[[str], ActionAck]
    move: Callable[[Stage], None]
    send: Callable[..., Awaitable[None]]
    applicant_name: str
    kind_label: str

    def check_closing(self, action: Action, actor: Actor) -> None:
        """The action rules, and not once another closing is under way, a refusal is decided (its notice follows)
        or the notice has run out (the enrolment follows)."""
        self.check(action, actor)
        if self.closure is not None:
            raise refuse(CaseError.WRONG_STAGE, ALREADY_CLOSING)
        if self.decision is not None and not self.decision.approve:
            raise refuse(CaseError.WRONG_STAGE, REFUSAL_DECIDED)
        if self.notice_ends_at is not None and workflow.now() >= self.notice_ends_at:
            raise refuse(CaseError.WRONG_STAGE, NOTICE_OVER)

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
        self.check_closing(Action.WITHDRAW, a.actor)
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
        self.check_closing(Action.TERMINATE, a.actor)
        if len(a.reasons.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, "终止审核须书面写明理由")

    async def close_early(self, closure: Closure) -> ActionAck:
        """Hand the closure to run() and answer once it is recorded (a second one that passed its validator
        before the first was applied is refused here, and one that came as run() was closing the case another
        way, e.g. refused while the refusal was being written, once run() is done)."""
        if self.closure is not None:
            raise refuse(CaseError.WRONG_STAGE, ALREADY_CLOSING)
        self.closure = closure
        await workflow.wait_condition(lambda: closure.key is not None or self.closed)
        if closure.key is None:
            raise refuse(CaseError.WRONG_STAGE, CLOSED_OTHERWISE)
        return self.ack(closure.key)

    async def closed_early(self) -> CaseOutcome:
        """run()'s part: steps handed over but not taken are dropped, the clock stops, the case moves to its
        final stage and the event is recorded; a terminated case's applicant is told in writing."""
        closure = self.closure
        assert closure is not None
        since(CLOSED_EARLY)
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
                f"您的{self.kind_label}申请已终止审核。理由：{closure.payload['reasons']}。{APPEAL_RIGHT}",
            )
        closure.key = key
        return CaseOutcome(case_id=self.case_id, stage=self.stage.value)
