"""Ongoing review (动态管理) of one recipient household, on the policy's cadence, for as long as it
receives help: remind the township when a review is due, take the caseworker's proposed outcome (continue,
adjust, stop with written reasons) and the approver's decision on it (rules/ongoing_actions.py: never the
proposer, never staff related to the household; a change beyond the township's bounds goes on to the
district), apply it with a written decision titled for the kind of assistance, then continue as new so the
history stays small over the years.

A review not concluded `overdue_working_days` working days after its due day (policy; the statutory calendar)
is overdue: the township's approvers and the district are told once, and the case's log says so (patch
`ongoing-overdue-escalation`; cycles already open then are listed by the daily digest only). The staff barred
from the household (近亲属回避) are read again at each proposal and decision (patch `ongoing-recusal-reload`), so
a register entry made after the review fell due bars its author.

Cycles that were already due when propose/decide shipped (patch `ongoing-propose-decide`) load the facts of
the household when the first proposal comes instead of when the cycle falls due; the old one-person update
`record_review` keeps its handler for their recorded histories and refuses every new call.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.common import ACTIVITY, RescheduledTimer, notify, refuse, refused, remind_at, today, working_days

with workflow.unsafe.imports_passed_through():
    from rules.actions import ActorView, Refusal
    from rules.clock import beijing_date, end_of
    from rules.months import add_months
    from rules.ongoing_actions import (
        ACTIONS,
        RECUSED,
        Level,
        OngoingAction,
        ReviewView,
        beyond_township,
        content_refusal,
        notice,
        refusal,
    )
    from rules.payroll import first_payment_month
    from schemas.contracts import SupervisionContract
    from schemas.review import DeadlineInfo, NotificationIn
    from schemas.staff import Actor
    from schemas.supervision import (
        OngoingApplied,
        OngoingFacts,
        OngoingStart,
        OngoingState,
        OngoingStep,
        ReviewDecision,
        ReviewFinding,
        SupervisionNames,
    )

PROPOSE_DECIDE = "ongoing-propose-decide"
OVERDUE = "ongoing-overdue-escalation"
RECUSAL_RELOAD = "ongoing-recusal-reload"


@workflow.defn(name=SupervisionNames.ONGOING)
class OngoingReviewWorkflow:
    @workflow.init
    def __init__(self, start: OngoingStart) -> None:
        self.start = start
        self.finding: ReviewFinding | None = None  # the outcome applied: the cycle is over
        self.due = False
        self.facts: OngoingFacts | None = None
        self.proposal: ReviewFinding | None = None  # waiting for a decision
        self.level = Level.TOWNSHIP
        self.endorsed_by: Actor | None = None  # the township approver who agreed to a change beyond its bounds
        self.deciding = False
        self.decided_at: datetime | None = None  # when the decision being applied was taken (its update accepted)
        self.steps = 0
        self.overdue: DeadlineInfo | None = None  # the close of its last day: the review is overdue
        self.escalated = False
        self.timer = RescheduledTimer()

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
        if workflow.patched(PROPOSE_DECIDE):
            await self.load_facts()
        if workflow.patched(OVERDUE):
            await self.watch_overdue()
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

    async def load_facts(self) -> OngoingFacts:
        """The household's kind of assistance, who decides and within which bounds, and who is barred from it."""
        facts = await workflow.execute_activity_method(
            SupervisionContract.ongoing_facts, args=[self.start.case_id, self.start.due_on], **ACTIVITY
        )
        if self.facts is None:
            self.facts = facts
            self.level = Level(facts.approval_level)
        return self.facts

    # ---- overdue ---------------------------------------------------------------------------------------

    async def watch_overdue(self) -> None:
        """Until the outcome is applied: once the review's last working day has closed with no outcome (no
        proposal, or one not decided), escalate it."""
        facts = self.facts
        assert facts is not None
        self.overdue = await working_days(self.start.due_on, facts.overdue_working_days)
        await self.timer.run(lambda: self.finding is not None or self.escalated, self.next_overdue, self.overdue_passed)

    def next_overdue(self) -> tuple[datetime, None] | None:
        return None if self.overdue is None else (end_of(self.overdue.deadline), None)

    async def overdue_passed(self, _: None) -> None:
        assert self.overdue is not None and self.facts is not None
        if self.overdue.provisional:  # counted in a year without holiday data: count again with the calendar now
            self.overdue = await working_days(self.start.due_on, self.facts.overdue_working_days)
            if end_of(self.overdue.deadline) > workflow.now():
                return
        await workflow.wait_condition(lambda: not self.deciding)  # a decision under way at the close
        if self.finding is None:
            await self.escalate()

    async def escalate(self) -> None:
        """Tell the township's approvers and the district that the review is overdue, and what it waits on."""
        assert self.overdue is not None and self.facts is not None
        self.escalated = True
        deadline, days = self.overdue.deadline, self.facts.overdue_working_days
        waiting = f"复核意见待{self.level.label}审批" if self.proposal else "经办人尚未提出复核意见"
        text = f"动态管理复核（{self.start.due_on} 到期）超过 {days} 个工作日（{deadline}）仍未办结，{waiting}"
        await self.note(
            "ongoing_overdue",
            None,
            text,
            {"deadline": str(deadline), "waiting_on": "decision" if self.proposal else "proposal"},
        )
        township, body = self.start.township_code, f"{self.start.applicant_name}家庭{text}"
        for who, audience in (
            ("township", f"role:township_approver@{township}"),
            ("district", f"role:district_officer@{township[:6]}"),
        ):
            key = f"ongoing-overdue-{self.key}-{who}"
            await self.send(key, audience, "ongoing-review-overdue", "动态管理复核超期", body)

    async def send(self, key: str, audience: str, kind: str, subject: str, body: str) -> None:
        """A message about the household's case through the outbox, once by `key`."""
        n = NotificationIn(
            idempotency_key=key, case_id=self.start.case_id, audience=audience, kind=kind, subject=subject, body=body
        )
        await notify(n)

    @property
    def decided_on(self) -> date:
        """The Beijing day of the decision being applied: the change takes effect from the month after it."""
        return beijing_date(self.decided_at) if self.decided_at else today()

    @property
    def key(self) -> str:
        return f"{self.start.case_id}-{self.start.cycle}"

    def view(self) -> ReviewView:
        status = "waiting" if not self.due else "due" if self.proposal is None else "proposed"
        if self.finding is not None:
            status = "stopped" if self.finding.outcome == "stop" else "decided"
        return ReviewView(
            status=status,
            place=self.start.township_code,
            due_on=str(self.start.due_on),
            level=self.level,
            proposer=self.proposal.actor.username if self.proposal else None,
            barred=frozenset(m.username for m in self.facts.barred) if self.facts else frozenset(),
        )

    def check(self, action: OngoingAction, actor: Actor) -> None:
        if why := refusal(action, self.view(), ActorView.of(actor)):
            raise refused(why, actor)

    async def note(self, kind: str, actor: Actor | None, summary: str, payload: dict | None = None) -> None:
        self.steps += 1
        await workflow.execute_activity_method(
            SupervisionContract.record_ongoing_step,
            OngoingStep(
                case_id=self.start.case_id,
                event_key=f"ongoing-{self.key}-{self.steps}-{kind}",
                kind=kind,
                actor=actor,
                summary=summary,
                payload=payload or {},
            ),
            **ACTIVITY,
        )

    # ---- propose --------------------------------------------------------------------------------------

    @workflow.update(name=SupervisionNames.PROPOSE_REVIEW)
    async def propose(self, p: ReviewFinding) -> OngoingState:
        if self.proposal is not None:  # another proposal validated in the same workflow task came first
            raise refuse("wrong_stage", "本次复核已有待审批的复核意见，请等待审批")
        self.proposal = p
        if self.facts is None:  # a cycle already due when propose/decide shipped
            await self.load_facts()
            if why := refusal(OngoingAction.PROPOSE, self.view(), ActorView.of(p.actor)):
                self.proposal = None
                raise refused(why, p.actor)
        elif workflow.patched(RECUSAL_RELOAD):
            try:
                await self.reload_barred(p.actor)
            except ApplicationError:
                self.proposal = None
                raise
        facts = self.facts
        assert facts is not None
        words = _outcome_words(p)
        await self.note(
            ACTIONS[OngoingAction.PROPOSE].kind,
            p.actor,
            f"动态管理复核（{self.start.due_on}）：经办人提出{words}。{p.reasons or p.findings}",
            {"outcome": p.outcome, "new_amount": str(p.new_amount) if p.new_amount else None, "reasons": p.reasons},
        )
        await self.ask_decision(f"{self.start.applicant_name}家庭动态管理复核意见待审批：{words}")
        return self.state()

    @propose.validator
    def _v_propose(self, p: ReviewFinding) -> None:
        self.check(OngoingAction.PROPOSE, p.actor)
        self.check_content(p)

    def check_content(self, p: ReviewFinding) -> None:
        cap = self.facts.max_amount if self.facts else None
        if why := content_refusal(p.outcome, self.start.monthly_amount, p.new_amount, p.reasons, cap):
            raise refused(why, p.actor)

    async def reload_barred(self, actor: Actor) -> None:
        """The staff barred from the household as the register says now (read at each proposal and decision: an
        entry made since the review fell due bars its author); `actor` among them is refused."""
        assert self.facts is not None
        barred = await workflow.execute_activity_method(
            SupervisionContract.ongoing_barred, self.start.case_id, **ACTIVITY
        )
        self.facts = self.facts.model_copy(update={"barred": barred})
        if actor.username in {m.username for m in barred}:
            raise refused(Refusal("recused", RECUSED), actor)

    async def ask_decision(self, body: str) -> None:
        district = self.start.township_code[:6]
        audience = (
            f"role:district_officer@{district}"
            if self.level is Level.DISTRICT
            else f"role:township_approver@{self.start.township_code}"
        )
        key = f"ongoing-decide-{self.key}-{self.steps}"
        await self.send(key, audience, "ongoing-review-proposed", "动态管理复核意见待审批", body)

    # ---- decide ---------------------------------------------------------------------------------------

    @workflow.update(name=SupervisionNames.DECIDE_REVIEW)
    async def decide(self, d: ReviewDecision) -> OngoingState:
        p = self.proposal
        if p is None or self.deciding:  # another decision validated in the same workflow task came first
            raise refuse("wrong_stage", "本次复核意见正在审批或已审批")
        self.deciding = True
        self.decided_at = workflow.now()
        try:
            if self.facts is not None and workflow.patched(RECUSAL_RELOAD):
                await self.reload_barred(d.actor)
            if not d.agree:
                await self.return_proposal(p, d)
            elif self.level is Level.TOWNSHIP and self.beyond_bounds(p):
                await self.refer(p, d)
            else:
                await self.apply(p, d)
        finally:
            self.deciding = False
        return self.state()

    @decide.validator
    def _v_decide(self, d: ReviewDecision) -> None:
        self.check(OngoingAction.DECIDE, d.actor)
        if self.deciding:
            raise refuse("wrong_stage", "本次复核意见正在审批")
        if not d.agree and len(d.opinion.strip()) < 4:
            raise refuse("incomplete", "退回复核意见须写明审批意见")

    def beyond_bounds(self, p: ReviewFinding) -> bool:
        facts = self.facts
        assert facts is not None
        if p.outcome != "adjust" or p.new_amount is None:
            return False
        return beyond_township(self.start.monthly_amount, p.new_amount, facts.max_change, facts.max_change_ratio)

    async def return_proposal(self, p: ReviewFinding, d: ReviewDecision) -> None:
        self.proposal = None
        self.level = Level(self.facts.approval_level) if self.facts else Level.TOWNSHIP
        self.endorsed_by = None
        await self.note(
            "ongoing_returned",
            d.actor,
            f"动态管理复核（{self.start.due_on}）：审批人退回复核意见（{_outcome_words(p)}）。审批意见：{d.opinion}",
            {"proposed_by": p.actor.username, "opinion": d.opinion},
        )
        await notify(
            NotificationIn(
                idempotency_key=f"ongoing-returned-{self.key}-{self.steps}",
                case_id=self.start.case_id,
                audience=f"user:{p.actor.username}",
                kind="ongoing-review-returned",
                subject="动态管理复核意见被退回",
                body=f"{self.start.applicant_name}家庭的复核意见被退回：{d.opinion}",
            )
        )

    async def refer(self, p: ReviewFinding, d: ReviewDecision) -> None:
        """The township agrees to a change beyond its bounds: the district decides it."""
        self.level = Level.DISTRICT
        self.endorsed_by = d.actor
        facts = self.facts
        assert facts is not None
        bounds = f"乡镇（街道）可决定的调整不超过 {facts.max_change} 元且不超过原金额的 {facts.max_change_ratio:.0%}"
        await self.note(
            "ongoing_referred",
            d.actor,
            f"动态管理复核（{self.start.due_on}）：乡镇审批人同意{_outcome_words(p)}（原每月 "
            f"{self.start.monthly_amount} 元），超出{bounds}，报区民政局决定。{d.opinion}".rstrip(),
            {"old_amount": str(self.start.monthly_amount), "new_amount": str(p.new_amount), "opinion": d.opinion},
        )
        await self.ask_decision(f"{self.start.applicant_name}家庭动态管理复核：{_outcome_words(p)}，超出乡镇审批权限")

    async def apply(self, p: ReviewFinding, d: ReviewDecision | None) -> None:
        """Apply the outcome to the register and send the written decision where the benefit changes."""
        await workflow.execute_activity_method(
            SupervisionContract.apply_review,
            OngoingApplied(
                review_key=self.key,
                case_id=self.start.case_id,
                due_on=self.start.due_on,
                finding=p,
                old_amount=self.start.monthly_amount,
                decision=d,
                level=self.level.value if d else None,
                decided_at=self.decided_at,
            ),
            **ACTIVITY,
        )
        if p.outcome != "continue":
            kind = self.facts.assistance_type if self.facts else "dibao"
            subject, body = notice(kind, p.outcome, p.new_amount, p.reasons, first_payment_month(self.decided_on))
            await notify(
                NotificationIn(
                    idempotency_key=f"ongoing-decision-{self.start.case_id}-{self.start.cycle}",
                    case_id=self.start.case_id,
                    audience="applicant",
                    kind=f"ongoing-{p.outcome}",
                    subject=subject,
                    body=body,
                )
            )
        self.finding = p
        self.timer.replan()  # the overdue watch ends

    # ---- before propose/decide ----------------------------------------------------------------------------

    @workflow.update(name=SupervisionNames.RECORD_REVIEW)
    async def record_review(self, f: ReviewFinding) -> OngoingState:
        """The one-person review of cycles due before propose/decide: replayed from their histories only."""
        self.decided_at = workflow.now()
        await self.apply(f, None)
        return self.state()

    @record_review.validator
    def _v_review(self, f: ReviewFinding) -> None:
        raise refuse("superseded", "动态管理复核须由经办人提出意见、审批人决定，请使用「提出复核意见」")

    @workflow.query(name=SupervisionNames.STATE)
    def state(self) -> OngoingState:
        view = self.view()
        status = view.status if view.status != "decided" else "due"
        return OngoingState(
            case_id=self.start.case_id,
            cycle=self.start.cycle,
            due_on=self.start.due_on,
            monthly_amount=self.start.monthly_amount,
            status=status,  # type: ignore[arg-type]
            history_cycles=self.start.cycle - 1,
            proposal=self.proposal if self.finding is None else None,
            level=self.level.value,
            endorsed_by=self.endorsed_by.username if self.endorsed_by else None,
            assistance_type=self.facts.assistance_type if self.facts else None,
            max_amount=self.facts.max_amount if self.facts else None,
            overdue_on=self.overdue.deadline if self.overdue else None,
            escalated=self.escalated,
        )


def _outcome_words(p: ReviewFinding) -> str:
    return {"continue": "继续保障", "adjust": f"调整为每月 {p.new_amount} 元", "stop": "停发"}[p.outcome]
