"""The dibao / tekun review (审核确认): one workflow per application, from acceptance to enrolment or refusal.

Staff actions are updates whose validators refuse at once, with a code and a Chinese reason; every
transition is written to the case event log by an idempotent activity keyed by a workflow sequence
number. The 20-working-day clock runs beside the stages: reminders, then escalation to the district.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from rules.access import within
    from rules.amounts import proposed_monthly_amount
    from rules.clock import BEIJING, REMIND_AT, at_time, beijing_date, end_of
    from rules.stages import ACTION_STAGES, Action, Stage, after_investigation, allowed_roles
    from schemas import search
    from schemas.money import Money
    from schemas.policy import ApprovalLevel, Policy
    from schemas.review import (
        ActionAck,
        CaseError,
        CaseEventIn,
        CaseOpened,
        CaseOutcome,
        CaseState,
        ClockState,
        DeadlineInfo,
        DeadlineRequest,
        Decision,
        Enrolment,
        Escalation,
        EscalationIn,
        Hearing,
        HomeVisit,
        MaterialsSupplied,
        MissingMaterials,
        NeighbourInterview,
        NotificationIn,
        Objection,
        OpenCaseIn,
        RelativesCheckIn,
        RelativesMatch,
        ReviewNames,
        ReviewStart,
        TakeOver,
        TakeOverIn,
        TimelineEntry,
        VerificationAnsweredIn,
        VerificationRequestIn,
        VerificationResult,
    )
    from schemas.staff import Actor, Role

ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=10),  # all are quick database writes; a dead worker costs 10 s
    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
)


def refuse(code: CaseError, message: str) -> ApplicationError:
    return ApplicationError(message, type=code.value, non_retryable=True)


@workflow.defn(name=ReviewNames.WORKFLOW)
class ReviewWorkflow:
    @workflow.init
    def __init__(self, start: ReviewStart) -> None:
        app = start.application
        self.start = start
        self.case_id = app.application_id
        self.place = app.household.village_code or app.household.township_code
        self.stage = Stage.ACCEPTED
        self.policy: Policy | None = None
        self.accepted_on: date | None = None
        self.timeline: list[TimelineEntry] = []
        self.seq = 0
        self.barred: dict[str, RelativesMatch] = {}
        self.handled_by = "township"
        # the clock
        self.deadline: DeadlineInfo | None = None
        self.verification_due: date | None = None
        self.paused_since: date | None = None
        self.paused_periods: list[tuple[date, date]] = []
        self.clock_stopped = False
        self.clock_version = 0
        self.recompute_requested = False
        self.reminders_sent: list[int] = []
        self.overdue = False
        self.escalations: list[Escalation] = []
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
        self.closed = False
        self.complaints: list[str] = []
        self.db_lock = asyncio.Lock()
        self.persisted = 0

    # ---- main line -------------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: ReviewStart) -> CaseOutcome:
        app = start.application
        now = workflow.now()
        self.accepted_on = beijing_date(now)
        if workflow.patched("case-search-attributes"):
            # Whoever starts the case, supervisor lists can filter it by type, township and overdue.
            workflow.upsert_search_attributes(
                [
                    search.ASSISTANCE_TYPE.value_set(app.assistance_type.value),
                    search.TOWNSHIP.value_set(app.household.township_code),
                    search.OVERDUE.value_set(False),
                ]
            )
        opened = await workflow.execute_activity(
            "open_case",
            OpenCaseIn(
                start=start, workflow_id=workflow.info().workflow_id, accepted_at=now, accepted_on=self.accepted_on
            ),
            result_type=CaseOpened,
            **ACTIVITY,
        )
        self.policy = opened.policy
        self.event(
            "accepted",
            start.accepted_by,
            {"channel": app.channel.value, "policy_version": self.policy.version, "attachments": app.attachments},
            f"受理{app.assistance_type.label}申请（{self.start.application.household.applicant.name}）",
        )
        await self.persist()

        matches = await workflow.execute_activity(
            "check_relatives",
            RelativesCheckIn(
                case_id=self.case_id,
                id_numbers=[m.id_number for m in app.household.members],
                declared_staff_names=[r.staff_name for r in app.declared_relatives],
            ),
            result_type=list[RelativesMatch],
            **ACTIVITY,
        )
        if matches:
            self.barred = {m.username: m for m in matches}
            self.event(
                "relatives_matched",
                None,
                {"barred": [m.model_dump() for m in matches]},
                "近亲属备案比对命中："
                + "、".join(f"{m.full_name}（{m.reason}）" for m in matches)
                + "；相关人员回避，须由区民政局入户调查",
            )
            await self.persist()

        await workflow.execute_activity(
            "request_verification",
            VerificationRequestIn(case_id=self.case_id, township_code=app.household.township_code, requested_at=now),
            result_type=str,
            **ACTIVITY,
        )
        await self.recompute_deadline()
        self.move(Stage.INVESTIGATION)
        self.event(
            "verification_requested",
            None,
            {"result_due": str(self.verification_due)},
            f"已向区核对中心发起家庭经济状况核对，结果应于 {self.verification_due} 前反馈",
        )
        await self.persist()

        clock = asyncio.create_task(self.run_clock())
        outcome = await self.review_until_closed()
        self.closed = True
        self.clock_version += 1
        await clock
        await workflow.wait_condition(workflow.all_handlers_finished)
        return outcome

    async def review_until_closed(self) -> CaseOutcome:
        assert self.policy is not None
        while True:
            await workflow.wait_condition(lambda: self.decision is not None)
            decision = self.decision
            assert decision is not None and self.decided_at is not None
            if not decision.approve:
                return await self.close_refused(decision)
            ends = await self.notice_end(beijing_date(self.decided_at))
            self.notice_ends_at = ends
            if not self.policy.review.notice_counts_in_limit:
                self.stop_clock()
            self.move(Stage.PUBLIC_NOTICE)
            self.event(
                "notice_started",
                None,
                {"ends_at": ends.isoformat()},
                f"公示开始，至 {ends.astimezone(BEIJING):%Y-%m-%d %H:%M} 结束",
            )
            await self.persist()
            await self.send(
                f"notice-{self.seq}",
                f"role:village_cadre@{self.place}",
                "公示通知",
                f"{self.start.application.household.applicant.name}家庭{self.kind_label}拟批准，请在村（社区）张榜公示",
            )
            try:
                await workflow.wait_condition(
                    lambda: self.objection is not None, timeout=max(ends - workflow.now(), timedelta(0))
                )
            except TimeoutError:
                return await self.close_enrolled(decision)
            self.objection = None
            if not self.policy.review.notice_counts_in_limit:
                self.clock_stopped = False
                self.clock_version += 1

    async def close_refused(self, decision: Decision) -> CaseOutcome:
        assert self.policy is not None and self.decided_at is not None
        deliver = await self.compute(
            self.policy.review.refusal_notice_working_days, [], start=beijing_date(self.decided_at)
        )
        self.stop_clock()
        self.move(Stage.REFUSED)
        self.event(
            "refused",
            decision.actor,
            {"reasons": decision.reasons, "deliver_by": str(deliver.deadline)},
            f"不予批准，书面通知应于 {deliver.deadline} 前送达：{decision.reasons}",
        )
        await self.persist()
        await self.send(
            "refusal",
            "applicant",
            f"{self.kind_label}申请不予批准通知书",
            f"经审核，您的{self.kind_label}申请不予批准。理由：{decision.reasons}。"
            "如有异议，可依法申请行政复议或提起行政诉讼。",
            deliver_by=deliver.deadline,
        )
        return CaseOutcome(case_id=self.case_id, stage=self.stage.value)

    async def close_enrolled(self, decision: Decision) -> CaseOutcome:
        assert self.decided_at is not None
        amount = self.final_amount(decision)
        decided_on = beijing_date(self.decided_at)
        first_month = date(decided_on.year + decided_on.month // 12, decided_on.month % 12 + 1, 1)
        hh = self.start.application.household
        await workflow.execute_activity(
            "enrol",
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
        self.stop_clock()
        self.move(Stage.ENROLLED)
        self.event(
            "enrolled",
            None,
            {"monthly_amount": str(amount), "first_payment_month": str(first_month), "category": decision.category},
            f"公示无异议，纳入保障：每月 {amount} 元，自 {first_month:%Y年%m月} 起发放",
        )
        await self.persist()
        await self.send(
            "approval",
            "applicant",
            f"{self.kind_label}审核确认通知书",
            f"您的{self.kind_label}申请已批准，每月 {amount} 元，自 {first_month:%Y年%m月} 起发放。",
        )
        return CaseOutcome(
            case_id=self.case_id, stage=self.stage.value, monthly_amount=amount, first_payment_month=first_month
        )

    # ---- the clock -----------------------------------------------------------------------------

    async def run_clock(self) -> None:
        """Sleep until the next reminder, escalation or verification deadline; wake early when they move."""
        while not self.closed:
            if self.recompute_requested:
                self.recompute_requested = False
                await self.recompute_deadline()
                continue
            version = self.clock_version
            due = self.next_clock_event()
            if due is not None and due[0] <= workflow.now():
                await self.fire(due[1], due[2])
                continue
            timeout = None if due is None else due[0] - workflow.now()
            try:
                await workflow.wait_condition(lambda v=version: self.clock_version != v, timeout=timeout)
            except TimeoutError:
                assert due is not None
                await self.fire(due[1], due[2])

    def next_clock_event(self) -> tuple[datetime, str, int] | None:
        assert self.policy is not None
        events: list[tuple[datetime, str, int]] = []
        if self.verification is None and self.verification_due and not self.escalated("verification_overdue"):
            events.append((end_of(self.verification_due), "verification_overdue", 0))
        if self.deadline and not self.clock_stopped and self.paused_since is None:
            for r in self.policy.review.reminders:
                if r.days_left not in self.reminders_sent:
                    day = self.deadline.reminder_days[r.days_left]
                    events.append((at_time(day, REMIND_AT), "reminder", r.days_left))
            if not self.overdue:
                events.append((end_of(self.deadline.deadline), "overdue", 0))
        return min(events, default=None)

    async def fire(self, kind: str, days_left: int) -> None:
        assert (self.policy is not None and self.deadline is not None) or kind == "verification_overdue"
        township = self.start.application.household.township_code
        district = township[:6]
        name = self.start.application.household.applicant.name
        if kind == "reminder":
            rule = next(r for r in self.policy.review.reminders if r.days_left == days_left)
            self.reminders_sent.append(days_left)
            audience = (
                f"role:{rule.audience}@{district}"
                if rule.audience.startswith("district")
                else f"role:{rule.audience}@{township}"
            )
            word = "预警" if rule.severity == "warning" else "提醒"
            self.event(
                "reminder",
                None,
                {"days_left": days_left, "audience": audience, "severity": rule.severity},
                f"时限{word}：距办结时限（{self.deadline.deadline}）还剩 {days_left} 个工作日",
            )
            await self.persist()
            await self.send(
                f"reminder-{days_left}",
                audience,
                f"审核确认时限{word}",
                f"{name}家庭{self.kind_label}申请还剩 {days_left} 个工作日到期（{self.deadline.deadline}）",
            )
            return
        if kind == "overdue":
            self.overdue = True
            deadline = self.deadline.deadline
            workflow.upsert_search_attributes([search.OVERDUE.value_set(True)])
        else:
            assert self.verification_due is not None
            deadline = self.verification_due
        key = f"{self.case_id}-{kind}-{deadline}"
        self.escalations.append(Escalation(kind=kind, at=workflow.now(), deadline=deadline))
        await workflow.execute_activity(
            "escalate",
            EscalationIn(case_id=self.case_id, escalation_key=key, kind=kind, deadline=deadline, at=workflow.now()),
            **ACTIVITY,
        )
        text = (
            f"已超过办结时限（{deadline}），自动上报区民政局"
            if kind == "overdue"
            else f"家庭经济状况核对结果逾期未反馈（应于 {deadline} 前），已上报区民政局"
        )
        self.event("escalated", None, {"kind": kind, "deadline": str(deadline)}, text)
        await self.persist()
        await self.send(
            f"escalation-{kind}",
            f"role:district_officer@{district}",
            "案件超期上报",
            f"{name}家庭{self.kind_label}申请：{text}",
        )

    def escalated(self, kind: str) -> bool:
        return any(e.kind == kind for e in self.escalations)

    async def recompute_deadline(self) -> None:
        assert self.policy is not None
        review = self.policy.review
        if self.verification is None and not self.escalated("verification_overdue"):
            self.verification_due = (await self.compute(review.verification_result_working_days, [])).deadline
        self.deadline = await self.compute(
            review.promised_working_days, self.paused_periods, reminders=[r.days_left for r in review.reminders]
        )
        workflow.upsert_search_attributes([search.DEADLINE_DATE.value_set(at_time(self.deadline.deadline))])
        self.clock_version += 1

    async def compute(
        self,
        days: int,
        paused: list[tuple[date, date]],
        *,
        reminders: list[int] | None = None,
        start: date | None = None,
    ) -> DeadlineInfo:
        start = start or self.accepted_on
        assert start is not None
        return await workflow.execute_activity(
            "compute_deadline",
            DeadlineRequest(accepted_on=start, working_days=days, paused=paused, reminders=reminders or []),
            result_type=DeadlineInfo,
            **ACTIVITY,
        )

    async def notice_end(self, decided_on: date) -> datetime:
        assert self.policy is not None
        review = self.policy.review
        if review.notice_unit == "calendar_days":
            last = decided_on + timedelta(days=review.notice_length)
        else:
            last = (await self.compute(review.notice_length, [], start=decided_on)).deadline
        return end_of(last)

    def stop_clock(self) -> None:
        self.clock_stopped = True
        self.clock_version += 1

    @workflow.signal(name=ReviewNames.CALENDAR_CHANGED)
    def calendar_changed(self) -> None:
        """A calendar import changed the working days: recompute this case's deadline."""
        self.recompute_requested = True
        self.clock_version += 1

    @workflow.signal(name=ReviewNames.COMPLAINT_FILED)
    async def complaint_filed(self, complaint_no: str) -> None:
        """A complaint about this case: the district must now visit the household itself; a case already
        past the investigation goes back to it (a case under public notice keeps its objection route)."""
        await workflow.wait_condition(lambda: self.policy is not None)
        self.complaints.append(complaint_no)
        if self.stage in (Stage.HEARING, Stage.DECISION):
            self.move(Stage.INVESTIGATION)
            self.hearing_done = False
        self.event(
            "complaint_filed",
            None,
            {"complaint_no": complaint_no},
            f"收到关于本案的投诉（{complaint_no}），须由区民政局入户调查",
        )
        await self.persist()

    # ---- validation shared by every action -----------------------------------------------------

    def check(self, action: Action, actor: Actor) -> None:
        if self.policy is None or self.stage not in ACTION_STAGES[action]:
            raise refuse(CaseError.WRONG_STAGE, f"当前阶段为「{self.stage.label}」，不能办理「{action.label}」")
        district_handles = self.handled_by == "district" or (
            action is Action.DECISION
            and self.policy.review.approval_level(self.start.application.household.township_code)
            is ApprovalLevel.DISTRICT
        )
        roles = allowed_roles(action, district_handles=district_handles)
        if actor.role.value not in roles:
            names = "、".join(Role(r).label for r in sorted(roles))
            raise refuse(CaseError.WRONG_ROLE, f"「{action.label}」须由{names}办理，您是{actor.role.label}")
        if not within(actor.place_code, self.place):
            raise refuse(CaseError.OUT_OF_JURISDICTION, "该案件不在您的辖区内")
        if actor.username in self.barred:
            raise refuse(CaseError.RECUSED, "您与申请人家庭存在近亲属关系，依规应当回避，不能办理本案")
        if self.paused_since is not None and action not in (
            Action.MATERIALS_SUPPLIED,
            Action.VERIFICATION_RESULT,
            Action.TAKE_OVER,
        ):
            raise refuse(
                CaseError.PAUSED, f"案件自 {self.paused_since} 起等待申请人补正材料，计时暂停；请先登记材料补齐"
            )

    # ---- actions -------------------------------------------------------------------------------

    @workflow.update(name=ReviewNames.MISSING_MATERIALS)
    async def missing_materials(self, a: MissingMaterials) -> ActionAck:
        self.paused_since = self.today()
        self.clock_version += 1
        key = self.event(
            "materials_missing",
            a.actor,
            {"items": a.items, "note": a.note},
            "一次性告知需补正材料：" + "、".join(a.items) + "；计时暂停",
        )
        await self.persist()
        await self.send(
            f"missing-{key}",
            "applicant",
            "补正材料一次性告知书",
            "请补正以下材料：" + "、".join(a.items) + "。补正期间不计入办理时限。",
        )
        return self.ack(key)

    @missing_materials.validator
    def _v_missing_materials(self, a: MissingMaterials) -> None:
        self.check(Action.MISSING_MATERIALS, a.actor)
        if not [i for i in a.items if i.strip()]:
            raise refuse(CaseError.INCOMPLETE, "请列明需补正的全部材料")

    @workflow.update(name=ReviewNames.MATERIALS_SUPPLIED)
    async def materials_supplied(self, a: MaterialsSupplied) -> ActionAck:
        assert self.paused_since is not None
        today = self.today()
        if today > self.paused_since:
            self.paused_periods.append((self.paused_since + timedelta(days=1), today))
        self.paused_since = None
        await self.recompute_deadline()
        key = self.event(
            "materials_supplied",
            a.actor,
            {"note": a.note},
            f"材料已补齐，恢复计时；办结时限顺延至 {self.deadline.deadline if self.deadline else ''}",
        )
        await self.persist()
        return self.ack(key)

    @materials_supplied.validator
    def _v_materials_supplied(self, a: MaterialsSupplied) -> None:
        self.check(Action.MATERIALS_SUPPLIED, a.actor)
        if self.paused_since is None:
            raise refuse(CaseError.NOT_PAUSED, "案件未处于补正材料暂停状态")

    @workflow.update(name=ReviewNames.VERIFICATION_RESULT)
    async def verification_result(self, a: VerificationResult) -> ActionAck:
        self.verification = a
        self.clock_version += 1
        key = self.event(
            "verification_result",
            a.actor,
            {
                "verified_monthly_income": str(a.verified_monthly_income),
                "assets_within_limits": a.assets_within_limits,
                "findings": a.findings,
                "report_ref": a.report_ref,
            },
            f"核对结果：家庭月收入 {a.verified_monthly_income} 元，"
            f"财产{'符合' if a.assets_within_limits else '超出'}规定；{a.findings}",
        )
        self.advance_if_investigated()
        await workflow.execute_activity(
            "verification_answered",
            VerificationAnsweredIn(case_id=self.case_id, result=a, answered_at=workflow.now()),
            **ACTIVITY,
        )
        await self.persist()
        return self.ack(key)

    @verification_result.validator
    def _v_verification_result(self, a: VerificationResult) -> None:
        self.check(Action.VERIFICATION_RESULT, a.actor)
        if self.verification is not None:
            raise refuse(CaseError.WRONG_STAGE, "核对结果已录入，不能重复录入")

    @workflow.update(name=ReviewNames.HOME_VISIT)
    async def home_visit(self, a: HomeVisit) -> ActionAck:
        self.home_visit_done = True
        self.investigators |= set(a.investigators)
        by_district = a.actor.role is Role.DISTRICT_OFFICER
        self.district_visit_done = self.district_visit_done or by_district
        key = self.event(
            "home_visit",
            a.actor,
            {
                "visited_on": str(a.visited_on),
                "investigators": a.investigators,
                "family_signatures": a.family_signatures,
                "findings": a.findings,
                "by_district": by_district,
            },
            f"{'区民政局' if by_district else ''}入户调查（{a.visited_on}）：调查人员 "
            + "、".join(a.investigators)
            + "；家庭成员签字 "
            + "、".join(a.family_signatures),
        )
        self.advance_if_investigated()
        await self.persist()
        return self.ack(key)

    @home_visit.validator
    def _v_home_visit(self, a: HomeVisit) -> None:
        self.check(Action.HOME_VISIT, a.actor)
        assert self.policy is not None
        people = {i.strip() for i in a.investigators if i.strip()}
        need = self.policy.review.min_investigators
        if len(people) < need:
            raise refuse(CaseError.INCOMPLETE, f"入户调查至少需要 {need} 名调查人员，现为 {len(people)} 名")
        if a.actor.username not in people:
            raise refuse(CaseError.INVALID, "填报人须为调查人员之一")
        related = sorted(people & self.barred.keys())
        if related:
            raise refuse(CaseError.RECUSED, f"调查人员 {'、'.join(related)} 与申请人家庭存在近亲属关系，应当回避")
        if not [s for s in a.family_signatures if s.strip()]:
            raise refuse(CaseError.INCOMPLETE, "入户调查表缺少在场家庭成员签字")
        if len(a.findings.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, "请填写入户调查情况")
        if a.visited_on > self.today() or (self.accepted_on and a.visited_on < self.accepted_on):
            raise refuse(CaseError.INVALID, "调查日期应在受理之后、今天之前")

    @workflow.update(name=ReviewNames.NEIGHBOUR_INTERVIEW)
    async def neighbour_interview(self, a: NeighbourInterview) -> ActionAck:
        self.neighbour_done = True
        key = self.event(
            "neighbour_interview",
            a.actor,
            {
                "interviewed_on": str(a.interviewed_on),
                "interviewees": a.interviewees,
                "findings": a.findings,
                "evidence_requests": a.evidence_requests,
            },
            f"邻里走访（{a.interviewed_on}）：走访 " + "、".join(a.interviewees),
        )
        self.advance_if_investigated()
        await self.persist()
        return self.ack(key)

    @neighbour_interview.validator
    def _v_neighbour_interview(self, a: NeighbourInterview) -> None:
        self.check(Action.NEIGHBOUR_INTERVIEW, a.actor)
        if not [i for i in a.interviewees if i.strip()]:
            raise refuse(CaseError.INCOMPLETE, "请填写走访对象")
        if len(a.findings.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, "请填写走访情况")

    @workflow.update(name=ReviewNames.HEARING)
    async def hearing(self, a: Hearing) -> ActionAck:
        self.hearing_done = True
        self.move(Stage.DECISION)
        opinion = "同意" if a.opinion == "agree" else "不同意"
        key = self.event(
            "hearing",
            a.actor,
            {
                "held_on": str(a.held_on),
                "kind": a.kind,
                "participants": a.participants,
                "opinion": a.opinion,
                "notes": a.summary,  # not "summary": the event log keeps the timeline text under that key
            },
            f"{'听证评议' if a.kind == 'hearing' else '民主评议'}（{a.held_on}），"
            f"{len(a.participants)} 人参加，评议意见：{opinion}",
        )
        await self.persist()
        return self.ack(key)

    @hearing.validator
    def _v_hearing(self, a: Hearing) -> None:
        self.check(Action.HEARING, a.actor)
        if not [p for p in a.participants if p.strip()]:
            raise refuse(CaseError.INCOMPLETE, "请填写参加评议人员")
        if len(a.summary.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, "请填写评议情况")

    @workflow.update(name=ReviewNames.DECIDE)
    async def decide(self, a: Decision) -> ActionAck:
        self.decision = a
        self.decided_at = workflow.now()
        if a.approve:
            amount = self.final_amount(a)
            text = f"审核确认：批准，{a.category or ''}每月 {amount} 元"
            if a.monthly_amount is not None and a.monthly_amount != self.proposed_amount():
                text += f"（测算 {self.proposed_amount()} 元，调整理由：{a.override_reason}）"
        else:
            text = f"审核确认：不予批准。理由：{a.reasons}"
        key = self.event(
            "decision",
            a.actor,
            a.model_dump(mode="json", exclude={"actor"}) | {"proposed_amount": str(self.proposed_amount())},
            text,
        )
        await self.persist()
        return self.ack(key)

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
        if self.start.application.assistance_type.value == "dibao":
            codes = [c.code for c in self.policy.categories]
            if a.category not in codes:
                raise refuse(CaseError.INVALID, f"请选择低保类别：{'、'.join(codes)}")
        proposed = self.proposed_amount()
        if a.monthly_amount is not None and a.monthly_amount != proposed and len(a.override_reason.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, f"核定金额与测算金额（{proposed} 元）不同，须说明调整理由")
        if self.final_amount(a) <= 0:
            raise refuse(CaseError.INVALID, "核定金额为 0：家庭人均收入不低于保障标准，应不予批准或说明调整")

    @workflow.update(name=ReviewNames.OBJECT)
    async def objection_raised(self, a: Objection) -> ActionAck:
        self.objection = a
        self.objections += 1
        self.decision = None
        self.decided_at = None
        self.notice_ends_at = None
        if a.route == "reinvestigate":
            self.home_visit_done = self.neighbour_done = self.hearing_done = False
            self.move(Stage.INVESTIGATION)
            route = "重新调查核实"
        else:
            self.hearing_done = False
            self.move(Stage.HEARING)
            route = "重新民主评议"
        key = self.event(
            "objection",
            a.actor,
            {"objector": a.objector, "content": a.content, "route": a.route},
            f"公示期间收到异议（{a.objector}）：{a.content}；{route}后重新审核确认并公示",
        )
        await self.persist()
        return self.ack(key)

    @objection_raised.validator
    def _v_objection(self, a: Objection) -> None:
        self.check(Action.OBJECTION, a.actor)
        if self.notice_ends_at is not None and workflow.now() >= self.notice_ends_at:
            raise refuse(CaseError.WRONG_STAGE, "公示期已结束")

    @workflow.update(name=ReviewNames.TAKE_OVER)
    async def take_over(self, a: TakeOver) -> ActionAck:
        self.handled_by = "district"
        for e in self.escalations:
            e.taken_over_by = e.taken_over_by or a.actor.username
        await workflow.execute_activity(
            "record_take_over",
            TakeOverIn(case_id=self.case_id, username=a.actor.username, at=workflow.now()),
            **ACTIVITY,
        )
        key = self.event("taken_over", a.actor, {"reason": a.reason}, f"区民政局接管本案：{a.reason}")
        await self.persist()
        return self.ack(key)

    @take_over.validator
    def _v_take_over(self, a: TakeOver) -> None:
        self.check(Action.TAKE_OVER, a.actor)
        if not self.escalations:
            raise refuse(CaseError.WRONG_STAGE, "案件未超期上报，区级不能接管")
        if self.handled_by == "district":
            raise refuse(CaseError.WRONG_STAGE, "案件已由区民政局接管")

    # ---- state -----------------------------------------------------------------------------------

    @workflow.query(name=ReviewNames.STATE)
    def state(self) -> CaseState:
        app = self.start.application
        hh = app.household
        clock = None
        if self.accepted_on and self.policy:
            clock = ClockState(
                accepted_on=self.accepted_on,
                limit_working_days=self.policy.review.promised_working_days,
                deadline=self.deadline.deadline if self.deadline else None,
                provisional=bool(self.deadline and self.deadline.provisional),
                paused=self.paused_since is not None,
                paused_since=self.paused_since,
                paused_periods=self.paused_periods,
                paused_working_days=self.deadline.paused_working_days if self.deadline else 0,
                stopped=self.clock_stopped,
                reminders_sent=self.reminders_sent,
                overdue=self.overdue,
            )
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
            clock=clock,
            handled_by=self.handled_by,  # type: ignore[arg-type]
            barred_staff=sorted(self.barred),
            relatives_match=bool(self.barred),
            district_visit_required=self.district_visit_required,
            district_visit_done=self.district_visit_done,
            verification_done=self.verification is not None,
            home_visit_done=self.home_visit_done,
            neighbour_interview_done=self.neighbour_done,
            hearing_done=self.hearing_done,
            investigators=sorted(self.investigators),
            proposed_amount=self.proposed_amount() if self.policy else None,
            decision=self.decision,
            notice_ends_at=self.notice_ends_at,
            objections=self.objections,
            escalations=self.escalations,
            timeline=self.timeline,
        )

    # ---- helpers ---------------------------------------------------------------------------------

    @property
    def kind_label(self) -> str:
        return self.start.application.assistance_type.label

    @property
    def status(self) -> str:
        return {Stage.ENROLLED: "enrolled", Stage.REFUSED: "refused"}.get(self.stage, "open")

    @property
    def district_visit_required(self) -> bool:
        return bool(self.barred or self.complaints)

    def today(self) -> date:
        return beijing_date(workflow.now())

    def advance_if_investigated(self) -> None:
        assert self.policy is not None
        review = self.policy.review
        done = (
            self.verification is not None
            and self.home_visit_done
            and (self.neighbour_done or not review.neighbour_interview_required)
            and (self.district_visit_done or not self.district_visit_required)
        )
        if done and self.stage is Stage.INVESTIGATION:
            self.move(after_investigation(review.hearing_mandatory))

    def proposed_amount(self) -> Money:
        assert self.policy is not None
        app = self.start.application
        hh = app.household
        income = self.verification.verified_monthly_income if self.verification else hh.monthly_income()
        per_capita = income / len(hh.members)
        standard = getattr(self.policy.standards, f"{app.assistance_type.value}_{hh.hukou_type.value}")
        return proposed_monthly_amount(app.assistance_type.value, standard, per_capita, len(hh.members))

    def final_amount(self, d: Decision) -> Decimal:
        return d.monthly_amount if d.monthly_amount is not None else self.proposed_amount()

    def move(self, stage: Stage) -> None:
        self.stage = stage
        workflow.upsert_search_attributes([search.CASE_STAGE.value_set(stage.value)])

    def event(self, kind: str, actor: Actor | None, payload: dict, summary: str) -> str:
        """Add a timeline entry; its key (case sequence number) makes the database write idempotent."""
        self.seq += 1
        key = f"{self.seq:04d}-{kind}"
        self.timeline.append(
            TimelineEntry(
                event_key=key,
                kind=kind,
                stage=self.stage.value,
                actor=actor.username if actor else None,
                actor_role=actor.role.value if actor else None,
                at=workflow.now(),
                summary=summary,
                payload=payload,
            )
        )
        return key

    async def persist(self) -> None:
        """Write every timeline entry not yet in the database, with the case row's current summary (taken
        when written, so whichever caller holds the lock writes the newest)."""
        async with self.db_lock:
            while self.persisted < len(self.timeline):
                entry = self.timeline[self.persisted]
                await workflow.execute_activity(
                    "record_event",
                    CaseEventIn(
                        case_id=self.case_id,
                        event_key=entry.event_key,
                        kind=entry.kind,
                        stage=self.stage.value,
                        actor=entry.actor,
                        actor_role=entry.actor_role,
                        payload=entry.payload | {"summary": entry.summary},
                        occurred_at=entry.at,
                        deadline=self.deadline.deadline if self.deadline else None,
                        deadline_provisional=bool(self.deadline and self.deadline.provisional),
                        paused_days=self.deadline.paused_working_days if self.deadline else 0,
                        overdue=self.overdue,
                        status=self.status,
                        handled_by=self.handled_by,  # type: ignore[arg-type]
                    ),
                    **ACTIVITY,
                )
                self.persisted += 1

    async def send(self, kind: str, audience: str, subject: str, body: str, deliver_by: date | None = None) -> None:
        await workflow.execute_activity(
            "notify",
            NotificationIn(
                idempotency_key=f"{self.case_id}-{kind}",
                case_id=self.case_id,
                audience=audience,
                kind=kind,
                subject=subject,
                body=body,
                deliver_by=deliver_by,
            ),
            **ACTIVITY,
        )

    def ack(self, key: str) -> ActionAck:
        return ActionAck(
            stage=self.stage.value,
            event_key=key,
            deadline=self.deadline.deadline if self.deadline else None,
            paused=self.paused_since is not None,
        )
