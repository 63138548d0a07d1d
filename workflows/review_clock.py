"""The review's clocks, beside the stages: the promised limit (Yu'an: 20 working days) and the statutory one
(30 working days, which the district may extend to 45 with reasons). They pause while the applicant owes
materials (and, where the policy leaves the public notice out of the limit, during every notice period);
the clock reminds at the policy's days left, escalates to the district at the close of the last day of
either limit (and when the verification centre has not answered in time), and recomputes when the calendar
changes."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import date, datetime, timedelta
from typing import Protocol

from temporalio import workflow

from workflows.common import ACTIVITY, RescheduledTimer, remind_at, working_days
from workflows.journal import Journal
from workflows.review_patches import DEADLINE_RECORDED, REFUSAL_RECOUNTED, current

with workflow.unsafe.imports_passed_through():
    from rules.clock import at_time, end_of
    from schemas import search
    from schemas.contracts import ReviewContract
    from schemas.policy import Policy
    from schemas.review import ClockState, DeadlineInfo, Escalation, ReviewStart, VerificationResult
    from schemas.review_records import EscalationIn

Due = tuple[str, int]  # what is due: "recompute", "reminder" (with its days left), "overdue", "verification_overdue"


class Case(Protocol):
    """What the clock reads of its case, and how it tells people."""

    start: ReviewStart
    case_id: str
    policy: Policy | None
    accepted_on: date | None
    verification: VerificationResult | None
    closed: bool
    journal: Journal
    applicant_name: str
    kind_label: str
    refusal_deliver_by: date | None

    def send(self, kind: str, audience: str, subject: str, body: str) -> Awaitable[None]: ...
    def recount_refusal_due(self) -> Awaitable[None]: ...


class ReviewClock:
    def __init__(self, case: Case) -> None:
        self.case = case
        self.deadline: DeadlineInfo | None = None
        self.verification_due: date | None = None
        self.paused_since: date | None = None
        self.paused_periods: list[tuple[date, date]] = []
        self.stopped = False
        self.recompute_requested = False
        self.reminders_sent: list[int] = []
        self.overdue = False
        self.escalations: list[Escalation] = []
        self.timer = RescheduledTimer()
        self.statutory_deadline: date | None = None
        self.statutory_overdue = False
        self.extended = False
        self.notice_since: date | None = None  # a notice period that does not count is running since
        self.excluded_periods: list[tuple[date, date]] = []

    async def run(self) -> None:
        """Until the case closes: sleep to the next reminder, escalation or recomputation."""
        await self.timer.run(lambda: self.case.closed, self.next_due, self.fire)

    # ---- what moves the clock --------------------------------------------------------------------

    def pause(self, on: date) -> None:
        self.paused_since = on
        self.timer.replan()

    async def resume(self, on: date) -> None:
        """The materials are in: the days paused do not count, and the deadline moves by them."""
        assert self.paused_since is not None
        if on > self.paused_since:
            self.paused_periods.append((self.paused_since + timedelta(days=1), on))
        self.paused_since = None
        await self.recompute()

    def stop(self) -> None:
        self.stopped = True
        self.timer.replan()

    def exclude_from(self, on: date) -> None:
        """A public notice that does not count in the limits starts (the day `on` itself counts)."""
        self.notice_since = on
        self.stop()

    async def include_from(self, on: date) -> None:
        """The notice was cut short by an objection on `on`: its days do not count, and both limits move."""
        assert self.notice_since is not None
        if on > self.notice_since:
            self.excluded_periods.append((self.notice_since + timedelta(days=1), on))
        self.notice_since = None
        self.stopped = False
        await self.recompute()

    async def extend(self) -> None:
        """The district extends the statutory limit to its maximum."""
        self.extended = True
        self.statutory_overdue = False
        await self.recompute()

    @property
    def statutory_working_days(self) -> int:
        assert self.case.policy is not None
        review = self.case.policy.review
        return review.statutory_extended_working_days if self.extended else review.statutory_working_days

    def restart(self) -> None:
        self.stopped = False
        self.timer.replan()

    def calendar_changed(self) -> None:
        self.recompute_requested = True
        self.timer.replan()

    async def recompute(self) -> None:
        """The deadline (and, while it is awaited, the verification result's) from the calendar as it is now."""
        case = self.case
        assert case.policy is not None and case.accepted_on is not None
        review = case.policy.review
        paused = self.paused_periods + self.excluded_periods
        verifying = case.verification is None and not self.escalated("verification_overdue")
        # nothing paused, the verification result's limit counts alike: one look-up (cases since review-2026-12)
        together = verifying and not paused and current()
        if verifying and not together:
            due = await working_days(case.accepted_on, review.verification_result_working_days)
            self.verification_due = due.deadline
        verification = [review.verification_result_working_days] if together else []
        self.deadline = await working_days(
            case.accepted_on,
            review.promised_working_days,
            paused,
            reminders=[r.days_left for r in review.reminders],
            also=[self.statutory_working_days, *verification],
        )
        if together:
            self.verification_due = self.deadline.also[review.verification_result_working_days]
        # cases whose clock was computed before the statutory limit was kept have none until the next recompute
        self.statutory_deadline = self.deadline.also.get(self.statutory_working_days)
        self.case.index.set(search.DEADLINE_DATE.value_set(at_time(self.deadline.deadline)))
        self.timer.replan()

    # ---- what falls due ----------------------------------------------------------------------------

    def next_due(self) -> tuple[datetime, Due] | None:
        case = self.case
        assert case.policy is not None
        if self.recompute_requested:
            return workflow.now(), ("recompute", 0)
        events: list[tuple[datetime, Due]] = []
        if case.verification is None and self.verification_due and not self.escalated("verification_overdue"):
            events.append((end_of(self.verification_due), ("verification_overdue", 0)))
        if self.deadline and not self.stopped and self.paused_since is None:
            for r in case.policy.review.reminders:
                if r.days_left not in self.reminders_sent:
                    events.append((remind_at(self.deadline.reminder_days[r.days_left]), ("reminder", r.days_left)))
            if not self.overdue:
                events.append((end_of(self.deadline.deadline), ("overdue", 0)))
            if self.statutory_deadline and not self.statutory_overdue:
                events.append((end_of(self.statutory_deadline), ("statutory_overdue", 0)))
        return min(events, default=None)

    async def fire(self, due: Due) -> None:
        kind, days_left = due
        if kind == "recompute":
            self.recompute_requested = False
            if self.case.refusal_deliver_by is not None and workflow.patched(REFUSAL_RECOUNTED):
                await self.case.recount_refusal_due()  # refused: what is still due is the notice's delivery
                return
            before = (self.deadline, self.statutory_deadline)
            await self.recompute()
            if workflow.patched(DEADLINE_RECORDED):
                await self.record_recomputed(*before)
        elif kind == "reminder":
            await self.remind(days_left)
        else:
            await self.escalate(kind)

    async def record_recomputed(self, deadline: DeadlineInfo | None, statutory: date | None) -> None:
        """A calendar import moved the limits (or settled a provisional one): say so in the timeline, which
        writes the new limit to the case row the lists read."""
        new = self.deadline
        if new is None or deadline is None:
            return
        was = (deadline.deadline, deadline.provisional, statutory)
        if (new.deadline, new.provisional, self.statutory_deadline) == was:
            return
        settled = "（暂定：该年度放假安排尚未发布）" if new.provisional else ""
        self.case.journal.note(
            "deadline_recomputed",
            None,
            {
                "deadline": str(new.deadline),
                "provisional": new.provisional,
                "previous_deadline": str(deadline.deadline),
                "statutory_deadline": str(self.statutory_deadline) if self.statutory_deadline else None,
            },
            f"工作日历已更新，办结时限重算为 {new.deadline}{settled}"
            + (f"，法定办理时限为 {self.statutory_deadline}" if self.statutory_deadline else "")
            + f"（原为 {deadline.deadline}{'，暂定' if deadline.provisional else ''}）",
        )
        await self.case.journal.persist()

    async def remind(self, days_left: int) -> None:
        case = self.case
        assert case.policy is not None and self.deadline is not None
        township = case.start.application.household.township_code
        rule = next(r for r in case.policy.review.reminders if r.days_left == days_left)
        self.reminders_sent.append(days_left)
        place = township[:6] if rule.audience.startswith("district") else township
        audience = f"role:{rule.audience}@{place}"
        word = "预警" if rule.severity == "warning" else "提醒"
        case.journal.note(
            "reminder",
            None,
            {"days_left": days_left, "audience": audience, "severity": rule.severity},
            f"时限{word}：距办结时限（{self.deadline.deadline}）还剩 {days_left} 个工作日",
        )
        await case.journal.persist()
        await case.send(
            f"reminder-{days_left}",
            audience,
            f"审核确认时限{word}",
            f"{case.applicant_name}家庭{case.kind_label}申请还剩 {days_left} 个工作日到期（{self.deadline.deadline}）",
        )

    async def escalate(self, kind: str) -> None:
        """Past the deadline (`overdue`) or the verification centre's (`verification_overdue`): the district
        hears of it and may take the case over."""
        case = self.case
        if kind == "overdue":
            assert self.deadline is not None
            self.overdue = True
            deadline = self.deadline.deadline
            case.index.set(search.OVERDUE.value_set(True))
        elif kind == "statutory_overdue":
            assert self.statutory_deadline is not None
            self.statutory_overdue = True
            deadline = self.statutory_deadline
            case.index.set(search.OVERDUE.value_set(True))
        else:
            assert self.verification_due is not None
            deadline = self.verification_due
        self.escalations.append(Escalation(kind=kind, at=workflow.now(), deadline=deadline))  # type: ignore[arg-type]
        await workflow.execute_activity_method(
            ReviewContract.escalate,
            EscalationIn(
                case_id=case.case_id,
                escalation_key=f"{case.case_id}-{kind}-{deadline}",
                kind=kind,
                deadline=deadline,
                at=workflow.now(),
            ),
            **ACTIVITY,
        )
        text = {
            "overdue": f"已超过承诺办结时限（{deadline}），自动上报区民政局",
            "statutory_overdue": f"已超过法定办理时限（{self.statutory_working_days} 个工作日，{deadline}），"
            "自动上报区民政局",
        }.get(kind, f"家庭经济状况核对结果逾期未反馈（应于 {deadline} 前），已上报区民政局")
        case.journal.note("escalated", None, {"kind": kind, "deadline": str(deadline)}, text)
        await case.journal.persist()
        await case.send(
            f"escalation-{kind}",
            f"role:district_officer@{case.start.application.household.township_code[:6]}",
            "案件超期上报",
            f"{case.applicant_name}家庭{case.kind_label}申请：{text}",
        )

    def escalated(self, kind: str) -> bool:
        return any(e.kind == kind for e in self.escalations)

    def state(self) -> ClockState | None:
        case = self.case
        if not (case.accepted_on and case.policy):
            return None
        return ClockState(
            accepted_on=case.accepted_on,
            limit_working_days=case.policy.review.promised_working_days,
            deadline=self.deadline.deadline if self.deadline else None,
            provisional=bool(self.deadline and self.deadline.provisional),
            paused=self.paused_since is not None,
            paused_since=self.paused_since,
            paused_periods=self.paused_periods,
            paused_working_days=self.deadline.paused_working_days if self.deadline else 0,
            stopped=self.stopped,
            reminders_sent=self.reminders_sent,
            overdue=self.overdue,
            statutory_working_days=self.statutory_working_days,
            statutory_deadline=self.statutory_deadline,
            statutory_overdue=self.statutory_overdue,
            extended=self.extended,
            excluded_periods=self.excluded_periods,
        )
