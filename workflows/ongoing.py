"""Ongoing review (动态管理) of one recipient household, on the policy's cadence, for as long as it
receives help: remind the township when a review is due, apply its finding (continue, adjust, stop
with written reasons), then continue as new so the history stays small over the years."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from workflows.common import ACTIVITY, notify, refuse, remind_at

with workflow.unsafe.imports_passed_through():
    from rules.access import within
    from rules.months import add_months
    from schemas.contracts import SupervisionContract
    from schemas.review import NotificationIn
    from schemas.staff import Role
    from schemas.supervision import OngoingApplied, OngoingStart, OngoingState, ReviewFinding, SupervisionNames

REVIEWERS = {Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER, Role.DISTRICT_OFFICER}


@workflow.defn(name=SupervisionNames.ONGOING)
class OngoingReviewWorkflow:
    @workflow.init
    def __init__(self, start: OngoingStart) -> None:
        self.start = start
        self.finding: ReviewFinding | None = None
        self.due = False

    @workflow.run
    async def run(self, start: OngoingStart) -> OngoingState:
        await workflow.sleep(max(remind_at(start.due_on) - workflow.now(), timedelta(0)))
        self.due = True
        await notify(
            NotificationIn(
                idempotency_key=f"ongoing-{start.case_id}-{start.cycle}",
                case_id=start.case_id,
                audience=f"role:township_caseworker@{start.township_code}",
                kind="ongoing-review-due",
                subject="动态管理复核到期",
                body=f"{start.applicant_name}家庭第 {start.cycle} 次复核到期（{start.due_on}），请入户核查",
            )
        )
        await workflow.wait_condition(lambda: self.finding is not None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        finding = self.finding
        assert finding is not None
        if finding.outcome == "stop":
            return self.state()
        amount = finding.new_amount if finding.outcome == "adjust" and finding.new_amount else start.monthly_amount
        workflow.continue_as_new(
            start.model_copy(
                update={
                    "cycle": start.cycle + 1,
                    "due_on": add_months(start.due_on, start.cadence_months),
                    "monthly_amount": amount,
                }
            )
        )

    @workflow.update(name=SupervisionNames.RECORD_REVIEW)
    async def record_review(self, f: ReviewFinding) -> OngoingState:
        await workflow.execute_activity_method(
            SupervisionContract.apply_review,
            OngoingApplied(
                review_key=f"{self.start.case_id}-{self.start.cycle}",
                case_id=self.start.case_id,
                due_on=self.start.due_on,
                finding=f,
                old_amount=self.start.monthly_amount,
            ),
            **ACTIVITY,
        )
        if f.outcome != "continue":
            words = "停发" if f.outcome == "stop" else f"调整为每月 {f.new_amount} 元"
            await notify(
                NotificationIn(
                    idempotency_key=f"ongoing-decision-{self.start.case_id}-{self.start.cycle}",
                    case_id=self.start.case_id,
                    audience="applicant",
                    kind=f"ongoing-{f.outcome}",
                    subject="最低生活保障变更决定书",
                    body=f"经复核，您家的保障金{words}。理由：{f.reasons}",
                )
            )
        self.finding = f
        return self.state()

    @record_review.validator
    def _v_review(self, f: ReviewFinding) -> None:
        if not self.due:
            raise refuse("wrong_stage", f"本次复核 {self.start.due_on} 到期，尚未到期")
        if self.finding is not None:
            raise refuse("closed", "本次复核已办理")
        if f.actor.role not in REVIEWERS or not within(f.actor.place_code, self.start.township_code):
            raise refuse("wrong_role", "复核由本乡镇（街道）或区民政局工作人员办理")
        if f.outcome in ("adjust", "stop") and len(f.reasons.strip()) < 4:
            raise refuse("incomplete", "调整或停发须书面写明理由")
        if f.outcome == "adjust" and not f.new_amount:
            raise refuse("incomplete", "请填写调整后的金额")

    @workflow.query(name=SupervisionNames.STATE)
    def state(self) -> OngoingState:
        status = "stopped" if self.finding and self.finding.outcome == "stop" else ("due" if self.due else "waiting")
        return OngoingState(
            case_id=self.start.case_id,
            cycle=self.start.cycle,
            due_on=self.start.due_on,
            monthly_amount=self.start.monthly_amount,
            status=status,  # type: ignore[arg-type]
            history_cycles=self.start.cycle - 1,
        )
