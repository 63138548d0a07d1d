"""审核确认: the decision update of a review case, checked against what the rules say of the application.

One decision per round: the first applied wins and any other is refused with `already_decided` (a new round
opens only through an objection). A tekun approval needs every criterion of 民发〔2021〕43号 to hold; a dibao
household that fails the asset test, or whose computed amount is 0, cannot be approved by the township: the
township approver may refuse it, or refer it with written reasons to the district, which approves it (with
reasons, at most the policy's upper bound) or refuses it. Such approvals are marked for the re-check sample.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows.common import CALENDAR_UPDATED, recounted, refuse, today, working_days
from workflows.journal import Journal
from workflows.review_patches import MEANS_TEST_TO_DISTRICT, since

with workflow.unsafe.imports_passed_through():
    from rules.clock import beijing_date, end_of
    from rules.progress import REFERRED_TO_DISTRICT
    from rules.stages import Action
    from schemas.money import Money
    from schemas.policy import Policy
    from schemas.review import (
        ActionAck,
        AssistanceType,
        CaseError,
        DeadlineInfo,
        Decision,
        Eligibility,
        RefusalDelivered,
        ReviewStart,
        VerificationResult,
    )
    from schemas.staff import Actor, Role
    from workflows.eligibility import assess  # pure, and its schemas must be the ones the converter uses

if TYPE_CHECKING:
    from workflows.review_clock import ReviewClock

ALREADY_DECIDED = "本轮审核确认已作出决定，不能重复决定；如有异议，应在公示期间提出"
ZERO_AMOUNT = "核定金额为 0：家庭人均收入不低于保障标准，应不予批准或填写核定金额并说明理由"


class ReviewDecision:
    """The decision update of `ReviewWorkflow`, which holds the state it reads and records."""

    start: ReviewStart
    policy: Policy | None
    accepted_on: date | None
    journal: Journal
    clock: ReviewClock
    verification: VerificationResult | None
    investigators: set[str]
    decision: Decision | None
    decided_at: datetime | None
    district_approval: bool
    refusal_delivery: RefusalDelivered | None
    refusal_deliver_by: date | None
    refusal_provisional = False  # the refusal notice's delivery date runs through a year without a holiday notice
    applicant_name: str
    kind_label: str
    send: Callable[..., Awaitable[None]]
    check: Callable[[Action, Actor], None]
    ack: Callable[[str], ActionAck]

    # ---- what the rules say of the application -------------------------------------------------------

    def eligibility(self) -> Eligibility:
        """The criteria and the amount under the case's policy version, on the day of acceptance, with the
        verification centre's findings once they are in."""
        assert self.policy is not None and self.accepted_on is not None
        v = self.verification
        return assess(
            self.start.application,
            self.policy,
            on=self.accepted_on,
            verified_monthly_income=v.verified_monthly_income if v else None,
            verified_assets_ok=v.assets_within_limits if v else None,
        )

    def proposed_amount(self) -> Money:
        return self.eligibility().amount

    def final_amount(self, d: Decision) -> Decimal:
        return d.monthly_amount if d.monthly_amount is not None else self.proposed_amount()

    def refers_to_district(self, a: Decision) -> bool:
        """A township approval that the means test does not support: it goes to the district instead."""
        return (
            a.approve
            and a.actor.role is Role.TOWNSHIP_APPROVER
            and not self.district_approval
            and self.eligibility().needs_district
        )

    # ---- the update -------------------------------------------------------------------------------

    @workflow.update(name=Action.DECISION.value)
    async def decide(self, a: Decision) -> ActionAck:
        # Two decisions may pass their validators before either is applied (a double click, two approvers):
        # the first one applied wins, the other is refused here, before anything is recorded.
        if self.decision is not None:
            raise refuse(CaseError.ALREADY_DECIDED, ALREADY_DECIDED)
        if self.refers_to_district(a) and since(MEANS_TEST_TO_DISTRICT):
            return await self.refer_to_district(a)
        self.decision = a
        self.decided_at = workflow.now()
        eligibility = self.eligibility()
        proposed = eligibility.amount
        override = a.approve and (eligibility.needs_district or (a.monthly_amount not in (None, proposed)))
        if a.approve:
            amount = self.final_amount(a)
            text = f"审核确认：批准，{a.category or ''}每月 {amount} 元"
            if a.monthly_amount is not None and a.monthly_amount != proposed:
                text += f"（测算 {proposed} 元，调整理由：{a.override_reason}）"
            elif eligibility.needs_district:
                text += f"（{self.unmet(eligibility)}；理由：{a.override_reason}）"
        else:
            text = f"审核确认：不予批准。理由：{a.reasons}"
        return self.ack(
            await self.journal.record(
                Action.DECISION,
                a.actor,
                a.model_dump(mode="json", exclude={"actor"})
                | {"proposed_amount": str(proposed), "means_test_override": bool(override)},
                text,
            )
        )

    async def refer_to_district(self, a: Decision) -> ActionAck:
        self.district_approval = True
        return self.ack(
            await self.journal.record(
                REFERRED_TO_DISTRICT,
                a.actor,
                {"reason": a.override_reason, "unmet": [c.code for c in self.eligibility().criteria if not c.holds]},
                f"{self.unmet(self.eligibility())}，乡镇不能直接批准，报区民政局审核确认。理由：{a.override_reason}",
            )
        )

    @decide.validator
    def _v_decide(self, a: Decision) -> None:
        self.check(Action.DECISION, a.actor)
        assert self.policy is not None
        if a.actor.username in self.investigators:
            raise refuse(CaseError.INVESTIGATOR_APPROVER, "审批人不得是本案的调查人员")
        if not a.approve:
            if len(a.reasons.strip()) < 4:
                raise refuse(CaseError.INCOMPLETE, "不予批准必须书面写明理由")
            return
        eligibility = self.eligibility()
        if self.start.application.assistance_type is AssistanceType.TEKUN:
            if not eligibility.holds:
                raise refuse(CaseError.CRITERIA_NOT_MET, f"不符合特困人员认定条件：{self.unmet(eligibility)}")
        else:
            codes = [c.code for c in self.policy.categories]
            if a.category not in codes:
                raise refuse(CaseError.INVALID, f"请选择低保类别：{'、'.join(codes)}")
        if eligibility.needs_district and len(a.override_reason.strip()) < 4:
            where = "报区民政局审核确认" if self.refers_to_district(a) else "批准"
            raise refuse(
                CaseError.INCOMPLETE,
                f"{self.unmet(eligibility)}：须书面说明理由后{where}，或不予批准",
            )
        if self.refers_to_district(a):
            return  # the amount is the district's to set
        proposed = eligibility.amount
        if a.monthly_amount is not None and a.monthly_amount != proposed and len(a.override_reason.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, f"核定金额与测算金额（{proposed} 元）不同，须说明调整理由")
        amount = self.final_amount(a)
        if amount <= 0:
            raise refuse(
                CaseError.INVALID, "核定金额为 0：家庭人均收入不低于保障标准，应不予批准或填写核定金额并说明理由"
            )
        if eligibility.max_override is not None and amount > eligibility.max_override:
            raise refuse(CaseError.INVALID, f"核定金额不得超过 {eligibility.max_override} 元（政策规定的上限）")

    @staticmethod
    def unmet(eligibility: Eligibility) -> str:
        """The criteria that do not hold, each with why."""
        return (
            "；".join(f"不符合「{c.label}」（{c.reason}）" for c in eligibility.criteria if not c.holds) or "金额为 0"
        )

    # ---- after a refusal: the notice's delivery -------------------------------------------------------

    @workflow.update(name=Action.REFUSAL_DELIVERED.value)
    async def refusal_delivered(self, a: RefusalDelivered) -> ActionAck:
        self.refusal_delivery = a
        return self.ack(
            await self.journal.record(
                Action.REFUSAL_DELIVERED,
                a.actor,
                {
                    "method": a.method.value,
                    "delivered_on": str(a.delivered_on),
                    "recipient": a.recipient,
                    "note": a.note,
                },
                f"不予批准通知书已{a.method.label}（{a.delivered_on}），签收人：{a.recipient}",
            )
        )

    @refusal_delivered.validator
    def _v_refusal_delivered(self, a: RefusalDelivered) -> None:
        self.check(Action.REFUSAL_DELIVERED, a.actor)
        decided_on = beijing_date(self.decided_at) if self.decided_at else None
        if a.delivered_on > today() or (decided_on and a.delivered_on < decided_on):
            raise refuse(CaseError.INVALID, "送达日期应在决定之后、今天之前")
        if not a.recipient.strip():
            raise refuse(CaseError.INCOMPLETE, "请填写签收人")

    async def count_refusal_due(self) -> DeadlineInfo:
        """The day the refusal notice is to be delivered by: the policy's working days after the day of the
        decision, by the calendar as it is now."""
        assert self.policy is not None and self.decided_at is not None
        return await working_days(beijing_date(self.decided_at), self.policy.review.refusal_notice_working_days)

    async def refusal_notice_delivered(self, deliver: DeadlineInfo) -> None:
        """Until the delivery of the refusal notice is recorded: past its day (`deliver`, or the day a calendar
        change counted since) the approver is reminded and the district told, once."""
        self.refusal_deliver_by, self.refusal_provisional = deliver.deadline, deliver.provisional
        while True:
            deliver_by = self.refusal_deliver_by
            try:
                await workflow.wait_condition(
                    lambda due=deliver_by: self.refusal_delivery is not None or self.refusal_deliver_by != due,
                    timeout=max(end_of(deliver_by) - workflow.now(), timedelta(0)),
                )
            except TimeoutError:
                break
            if self.refusal_delivery is not None:
                return
        text = f"不予批准通知书应于 {deliver_by} 前送达，尚未登记送达情况"
        self.journal.note("refusal_delivery_overdue", None, {"deliver_by": str(deliver_by)}, text)
        await self.journal.persist()
        township = self.start.application.household.township_code
        await self.send(
            "refusal-delivery-reminder",
            f"role:township_approver@{township}",
            "不予批准通知书送达提醒",
            f"{self.applicant_name}家庭{self.kind_label}申请：{text}，请尽快送达并登记",
        )
        await self.send(
            "refusal-delivery-overdue",
            f"role:district_officer@{township[:6]}",
            "不予批准通知书逾期未送达",
            f"{self.applicant_name}家庭{self.kind_label}申请：{text}",
        )
        await workflow.wait_condition(lambda: self.refusal_delivery is not None)

    @property
    def refusal_overdue(self) -> bool:
        return any(e.kind == "refusal_delivery_overdue" for e in self.journal.entries)

    async def recount_refusal_due(self) -> None:
        """The calendar changed: the refusal notice's delivery date, while it has not passed and the delivery is
        not recorded, counted again from the decision; a moved one (or one no longer provisional) is noted in the
        timeline, and the wait for the delivery moves with it."""
        if self.refusal_delivery is not None or self.refusal_overdue or self.refusal_deliver_by is None:
            return
        due = await self.count_refusal_due()
        was, now = (self.refusal_deliver_by, self.refusal_provisional), (due.deadline, due.provisional)
        if now == was or self.refusal_delivery is not None or self.refusal_overdue:
            return
        self.refusal_deliver_by, self.refusal_provisional = now
        self.journal.note(
            "refusal_deliver_by_recomputed",
            None,
            {"deliver_by": str(due.deadline), "provisional": due.provisional, "previous_deliver_by": str(was[0])},
            CALENDAR_UPDATED + recounted("不予批准通知书送达期限", was, now),
        )
        await self.journal.persist()

    # The update name the decision had before each action had one name: cases started earlier carry it in
    # their histories, and clients of the previous release may still call it.
    @workflow.update(name="decide")
    async def decide_by_old_name(self, a: Decision) -> ActionAck:
        return await self.decide(a)

    @decide_by_old_name.validator
    def _v_decide_by_old_name(self, a: Decision) -> None:
        self._v_decide(a)
