"""The dibao / tekun review (审核确认): one workflow per application, from acceptance to enrolment or refusal.

`run()` is the process, top to bottom. Staff actions are updates (`workflows.review_actions`) whose
validators refuse at once, with a code and a Chinese reason; they record what was done, and the steps they
record move the case along the stage graph of `rules.stages`. Every entry of the case's journal is written
to the case event log by an idempotent activity keyed by its sequence number. The 20-working-day clock
(`workflows.review_clock`) runs beside the stages: reminders, then escalation to the district.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta

from temporalio import workflow

from workflows.common import ACTIVITY, calendar_period_end, notify, today, working_days
from workflows.documents import RecordsDocuments
from workflows.journal import Entry, Journal
from workflows.review_actions import ReviewActions
from workflows.review_clock import ReviewClock
from workflows.review_closure import Closure, ReviewClosure
from workflows.review_news import ReviewNews
from workflows.review_patches import (
    CASE_SEARCH_ATTRIBUTES,
    NOTICE_ART_203,
    NOTICE_EXCLUDED,
    REFUSAL_DELIVERY,
    STAGES_MOVED_BY_RUN,
    SearchIndex,
    since,
)
from workflows.review_relatives import ReviewRelatives

with workflow.unsafe.imports_passed_through():
    from rules.actions import APPEAL_RIGHT
    from rules.clock import BEIJING, beijing_date, end_of
    from rules.stages import MOVED_BY_STEPS, Stage, can_move, investigation_complete, next_stage
    from schemas import search
    from schemas.contracts import ReviewContract
    from schemas.policy import Policy
    from schemas.relatives import RelativesMatch
    from schemas.review import (
        CaseOutcome,
        CaseState,
        Decision,
        NotificationIn,
        Objection,
        RefusalDelivered,
        ReviewNames,
        ReviewStart,
        VerificationResult,
    )
    from schemas.review_records import CaseEventIn, Enrolment, OpenCaseIn, VerificationRequestIn


@workflow.defn(name=ReviewNames.WORKFLOW)
class ReviewWorkflow(ReviewActions, ReviewNews, ReviewRelatives, ReviewClosure, RecordsDocuments):
    @workflow.init
    def __init__(self, start: ReviewStart) -> None:
        app = start.application
        self.start = start
        self.case_id = app.application_id
        self.place = app.household.village_code or app.household.township_code
        self.stage = Stage.ACCEPTED
        self.policy: Policy | None = None
        self.accepted_at: datetime | None = None
        self.accepted_on: date | None = None
        self.journal = Journal(self.write, stage=lambda: self.stage.value)
        self.clock = ReviewClock(self)
        self.index = SearchIndex()
        self.barred: dict[str, RelativesMatch] = {}
        self.namesakes = []  # warnings about users named like a declared relative
        self.relatives_filed = []  # declared relatives no account matches
        self.relatives_declared = False  # the applicant declared relatives among staff: the district visits
        self.handled_by = "township"
        self.complaints: list[str] = []
        # the file
        self.verification: VerificationResult | None = None
        self.home_visit_done = False
        self.district_visit_done = False
        self.neighbour_done = False
        self.hearing_done = False
        self.investigators: set[str] = set()
        self.decision: Decision | None = None
        self.decided_at: datetime | None = None
        self.objection: Objection | None = None
        self.objections = 0
        self.notice_ends_at: datetime | None = None
        self.refusal_deliver_by: date | None = None
        self.refusal_delivery: RefusalDelivered | None = None
        self.district_approval = False  # the township referred an approval the means test does not support
        self.closed = False
        self.closure: Closure | None = None  # a withdrawal or termination for run() to record
        # the steps staff recorded that move the case on, and how many of them run() has taken
        self.handlers_move = False
        self.steps: list[str] = []
        self.steps_taken = 0

    # ---- the process -----------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: ReviewStart) -> CaseOutcome:
        self.handlers_move = not since(STAGES_MOVED_BY_RUN)
        self.accepted_at = workflow.now()
        self.accepted_on = today()
        if since(CASE_SEARCH_ATTRIBUTES):  # whoever starts the case, supervisors filter by type, township, overdue
            app = start.application
            given = search.at_start(app.assistance_type.value, app.household.township_code)
            self.index.set_missing(*(p.key.value_set(p.value) for p in given if p.key != search.CASE_STAGE))
        await self.accept()
        await self.check_relatives()
        await self.start_investigation()
        clock = asyncio.create_task(self.clock.run())
        outcome = await self.review()
        self.closed = True
        self.clock.timer.replan()
        await clock
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome

    async def accept(self) -> None:
        """受理: the case row, once, and the policy in force that day, which the case keeps."""
        app = self.start.application
        assert self.accepted_at is not None and self.accepted_on is not None
        opened = await workflow.execute_activity_method(
            ReviewContract.open_case,
            OpenCaseIn(
                start=self.start,
                workflow_id=workflow.info().workflow_id,
                accepted_at=self.accepted_at,
                accepted_on=self.accepted_on,
            ),
            **ACTIVITY,
        )
        self.policy = opened.policy
        self.journal.note(
            "accepted",
            self.start.accepted_by,
            {"channel": app.channel.value, "policy_version": self.policy.version, "attachments": app.attachments},
            f"受理{app.assistance_type.label}申请（{self.applicant_name}）",
        )
        await self.journal.persist()

    async def start_investigation(self) -> None:
        """调查核实 begins with the request to the verification centre; the clock starts."""
        assert self.accepted_at is not None
        await workflow.execute_activity_method(
            ReviewContract.request_verification,
            VerificationRequestIn(
                case_id=self.case_id,
                township_code=self.start.application.household.township_code,
                requested_at=self.accepted_at,
            ),
            **ACTIVITY,
        )
        await self.clock.recompute()
        self.move(Stage.INVESTIGATION)
        self.journal.note(
            "verification_requested",
            None,
            {"result_due": str(self.clock.verification_due)},
            f"已向区核对中心发起家庭经济状况核对，结果应于 {self.clock.verification_due} 前反馈",
        )
        await self.journal.persist()

    async def review(self) -> CaseOutcome:
        """调查核实 → 民主评议 (where the policy makes it mandatory) → 审核确认 → 公示 → 纳入保障, or 不予批准.
        A complaint sends the case back from the hearing or the decision, an objection from the notice; until
        enrolment the case may be withdrawn or terminated (`workflows.review_closure`)."""
        while True:
            if self.closure is not None:
                return await self.closed_early()
            if self.stage in MOVED_BY_STEPS:
                await self.moved_on()
                continue
            assert self.stage is Stage.DECISION
            decision = await self.decided()
            if decision is None or self.closure is not None:
                continue  # a complaint sent the case back, or it is being closed
            if not decision.approve:
                return await self.close_refused(decision)
            ends = await self.open_notice()
            if not await self.objected(ends):
                return await self.close_enrolled(decision)

    async def moved_on(self) -> None:
        """Until a step recorded moves the case to another stage (cases whose handlers move it: until they do)."""
        stage = self.stage
        await workflow.wait_condition(
            lambda: len(self.steps) > self.steps_taken or self.stage is not stage or self.closure is not None
        )
        self.take_steps()

    async def decided(self) -> Decision | None:
        """审核确认: the decision, or None if a complaint sent the case back first."""
        await workflow.wait_condition(
            lambda: (
                self.decision is not None
                or len(self.steps) > self.steps_taken
                or self.stage is not Stage.DECISION
                or self.closure is not None
            )
        )
        self.take_steps()
        return self.decision if self.stage is Stage.DECISION else None

    async def open_notice(self) -> datetime:
        """公示: the decision is posted in the village until the end of the notice period; returns that end."""
        assert self.policy is not None and self.decided_at is not None
        ends = await self.notice_end(beijing_date(self.decided_at))
        self.notice_ends_at = ends
        if not self.policy.review.notice_counts_in_limit:
            if since(NOTICE_EXCLUDED):
                self.clock.exclude_from(beijing_date(self.decided_at))
            else:
                self.clock.stop()
        self.move(Stage.PUBLIC_NOTICE)
        self.journal.note(
            "notice_started",
            None,
            {"ends_at": ends.isoformat()},
            f"公示开始，至 {ends.astimezone(BEIJING):%Y-%m-%d %H:%M} 结束",
        )
        await self.journal.persist()
        await self.send(
            f"notice-{len(self.journal.entries)}",
            f"role:village_cadre@{self.place}",
            "公示通知",
            f"{self.applicant_name}家庭{self.kind_label}拟批准，请在村（社区）张榜公示",
        )
        return ends

    async def objected(self, ends: datetime) -> bool:
        """Whether an objection during the notice (at the counter, or a complaint or objection through 12349)
        sent the case back (to the investigation or the hearing)."""
        assert self.policy is not None
        try:
            await workflow.wait_condition(
                lambda: self.objection is not None or len(self.steps) > self.steps_taken or self.closure is not None,
                timeout=max(ends - workflow.now(), timedelta(0)),
            )
        except TimeoutError:
            return False
        if self.closure is not None:
            return True  # withdrawn or terminated during the notice: run() closes it
        self.take_steps()
        self.objection = None
        if not self.policy.review.notice_counts_in_limit:
            if self.clock.notice_since is not None:
                await self.clock.include_from(today())
            else:
                self.clock.restart()
        return True

    async def notice_end(self, decided_on: date) -> datetime:
        assert self.policy is not None
        review = self.policy.review
        if review.notice_unit == "calendar_days" and since(NOTICE_ART_203):
            last = (await calendar_period_end(decided_on, review.notice_length)).deadline
        elif review.notice_unit == "calendar_days":
            last = decided_on + timedelta(days=review.notice_length)
        else:
            last = (await working_days(decided_on, review.notice_length)).deadline
        return end_of(last)

    async def close_refused(self, decision: Decision) -> CaseOutcome:
        """不予批准: the applicant is told in writing, with the reasons, within the policy's working days."""
        deliver = await self.count_refusal_due()
        self.clock.stop()
        self.move(Stage.REFUSED)
        self.journal.note(
            "refused",
            decision.actor,
            {"reasons": decision.reasons, "deliver_by": str(deliver.deadline)},
            f"不予批准，书面通知应于 {deliver.deadline} 前送达：{decision.reasons}",
        )
        await self.journal.persist()
        await self.send(
            "refusal",
            "applicant",
            f"{self.kind_label}申请不予批准通知书",
            f"经审核，您的{self.kind_label}申请不予批准。理由：{decision.reasons}。{APPEAL_RIGHT}",
            deliver_by=deliver.deadline,
        )
        if since(REFUSAL_DELIVERY):
            await self.refusal_notice_delivered(deliver)
        return CaseOutcome(case_id=self.case_id, stage=self.stage.value)

    async def close_enrolled(self, decision: Decision) -> CaseOutcome:
        """纳入保障: the household enters the recipients register from the month after the decision."""
        assert self.decided_at is not None
        amount = self.final_amount(decision)
        decided_on = beijing_date(self.decided_at)
        first_month = date(decided_on.year + decided_on.month // 12, decided_on.month % 12 + 1, 1)
        hh = self.start.application.household
        enrolled = await workflow.execute_activity_method(
            ReviewContract.enrol,
            Enrolment(
                case_id=self.case_id,
                assistance_type=self.start.application.assistance_type,
                township_code=hh.township_code,
                category=decision.category,
                monthly_amount=amount,
                people=len(hh.members),
                first_payment_month=first_month,
                decided_at=self.decided_at,
            ),
            **ACTIVITY,
        )
        held = enrolled.held_reason if enrolled else None  # a member is a recipient already (None: older histories)
        self.clock.stop()
        self.move(Stage.ENROLLED)
        paid = f"每月 {amount} 元，自 {first_month:%Y年%m月} 起发放"
        self.journal.note(
            "enrolled",
            None,
            {"monthly_amount": str(amount), "first_payment_month": str(first_month), "category": decision.category},
            f"公示无异议，纳入保障：{paid}" + (f"；{held}" if held else ""),
        )
        await self.journal.persist()
        await self.send(
            "approval",
            "applicant",
            f"{self.kind_label}审核确认通知书",
            f"您的{self.kind_label}申请已批准，{paid}。"
            if not held
            else f"您的{self.kind_label}申请经审核确认符合条件，但家庭成员已在其他家庭享受{self.kind_label}，同一人不能"
            f"重复享受，本户暂不发放，待区民政局核实后另行告知。{APPEAL_RIGHT}",
        )
        return CaseOutcome(
            case_id=self.case_id, stage=self.stage.value, monthly_amount=amount, first_payment_month=first_month
        )

    # ---- the stage graph -------------------------------------------------------------------------

    def move(self, stage: Stage) -> None:
        """The one place the stage changes, along the stage graph only (anything else is a bug: the
        workflow task fails and retries until the code is fixed)."""
        if not can_move(self.stage, stage):
            raise RuntimeError(f"the stage graph has no move from {self.stage} to {stage}")
        self.stage = stage
        self.index.set(search.CASE_STAGE.value_set(stage.value))
        self.index.flush()

    def where_next(self, step: str) -> Stage | None:
        assert self.policy is not None
        return next_stage(
            self.stage,
            step,
            investigated=self.investigated,
            route=self.policy.review,
            reinvestigate=self.objection is not None and self.objection.route == "reinvestigate",
        )

    async def hand_over(self, step: str) -> None:
        """After an action (or a complaint) is recorded: if it moves the case on, the process moves it before
        the action is written, so the event and the case row carry the new stage."""
        stage = self.where_next(step)
        if stage is None:
            return
        if self.handlers_move:
            self.move(stage)
            return
        self.steps.append(step)
        taken = len(self.steps)
        await workflow.wait_condition(lambda: self.steps_taken >= taken)

    def take_steps(self) -> None:
        """Move the case on for each step handed over since run() last looked."""
        while self.steps_taken < len(self.steps):
            stage = self.where_next(self.steps[self.steps_taken])
            self.steps_taken += 1
            if stage is not None:
                self.move(stage)

    @property
    def investigated(self) -> bool:
        assert self.policy is not None
        return investigation_complete(
            verified=self.verification is not None,
            home_visit=self.home_visit_done,
            neighbour_interview=self.neighbour_done,
            neighbour_interview_required=self.policy.review.neighbour_interview_required,
            district_visit=self.district_visit_done,
            district_visit_required=self.district_visit_required,
        )

    # ---- state ----------------------------------------------------------------------------------

    @workflow.query(name=ReviewNames.STATE)
    def state(self) -> CaseState:
        app = self.start.application
        hh = app.household
        return CaseState(
            case_id=self.case_id,
            workflow_id=workflow.info().workflow_id,
            assistance_type=app.assistance_type,
            township_code=hh.township_code,
            village_code=hh.village_code,
            applicant_name=hh.applicant.name,
            stage=self.stage.value,
            stage_label=self.stage.label,
            policy_version=self.policy.version if self.policy else None,
            clock=self.clock.state(),
            handled_by=self.handled_by,  # type: ignore[arg-type]
            barred_staff=sorted(self.barred),
            relatives_match=bool(self.barred) or self.relatives_declared,
            district_visit_required=self.district_visit_required,
            district_visit_done=self.district_visit_done,
            verification_done=self.verification is not None,
            home_visit_done=self.home_visit_done,
            neighbour_interview_done=self.neighbour_done,
            hearing_done=self.hearing_done,
            investigators=sorted(self.investigators),
            proposed_amount=self.proposed_amount() if self.policy else None,
            eligibility=self.eligibility() if self.policy else None,
            district_approval=self.district_approval,
            decision=self.decision,
            notice_ends_at=self.notice_ends_at,
            objections=self.objections,
            escalations=self.clock.escalations,
            refusal_deliver_by=self.refusal_deliver_by,
            refusal_provisional=self.refusal_provisional,
            refusal_delivery=self.refusal_delivery,
            timeline=self.journal.timeline(),
            namesakes=self.namesakes,
            relatives_filed=self.relatives_filed,
        )

    @property
    def applicant_name(self) -> str:
        return self.start.application.household.applicant.name

    @property
    def kind_label(self) -> str:
        return self.start.application.assistance_type.label

    @property
    def status(self) -> str:
        return self.stage.value if self.stage.closed else "open"

    def accepts_documents(self) -> bool:
        return not self.closed

    def documents_ready(self) -> bool:
        return self.policy is not None  # accepted: the case row exists

    @property
    def district_visit_required(self) -> bool:
        return bool(self.barred or self.complaints) or self.relatives_declared

    async def write(self, entry: Entry) -> None:
        """Write one journal entry to the case event log, with the case row's summary as it is now."""
        self.index.flush()
        deadline = self.clock.deadline
        await workflow.execute_activity_method(
            ReviewContract.record_event,
            CaseEventIn(
                case_id=self.case_id,
                event_key=entry.key,
                kind=entry.kind,
                stage=self.stage.value,
                actor=entry.actor,
                actor_role=entry.actor_role,
                payload=entry.payload | {"summary": entry.summary},
                occurred_at=entry.at,
                deadline=deadline.deadline if deadline else None,
                deadline_provisional=bool(deadline and deadline.provisional),
                paused_days=deadline.paused_working_days if deadline else 0,
                overdue=self.clock.overdue,
                status=self.status,  # type: ignore[arg-type]
                handled_by=self.handled_by,  # type: ignore[arg-type]
            ),
            **ACTIVITY,
        )

    async def send(self, kind: str, audience: str, subject: str, body: str, deliver_by: date | None = None) -> None:
        await notify(
            NotificationIn(
                idempotency_key=f"{self.case_id}-{kind}",
                case_id=self.case_id,
                audience=audience,
                kind=kind,
                subject=subject,
                body=body,
                deliver_by=deliver_by,
            )
        )
