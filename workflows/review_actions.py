"""What staff do in a review case: one update per action of `rules.stages.ACTIONS`, named by it (the signals of
a complaint, an objection through 12349 or a calendar change are in `workflows.review_news`).

Each validator refuses at once what the action rules refuse (`rules.stages.refusal`) and what is wrong in
the action's content; each handler records what was done in the case file and its journal, hands the
step over to the process (`ReviewWorkflow.hand_over`, which moves the case on if the step does) and
answers with the case's stage and the event's key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows.common import ACTIVITY, refuse, today
from workflows.journal import Journal
from workflows.review_decision import ALREADY_DECIDED, ReviewDecision
from workflows.review_patches import EXTEND_ONCE

with workflow.unsafe.imports_passed_through():
    from rules.investigators import names, team_refusal
    from rules.stages import Action, ActorView, CaseView, Refusal, Stage, refusal
    from schemas.contracts import ReviewContract
    from schemas.policy import ApprovalLevel, Policy
    from schemas.relatives import Namesake, RelativesMatch, unsettled
    from schemas.review import (
        ActionAck,
        CaseError,
        DeadlineExtension,
        Decision,
        Hearing,
        HomeVisit,
        MaterialsSupplied,
        MissingMaterials,
        NeighbourInterview,
        Objection,
        ReviewStart,
        TakeOver,
        VerificationResult,
    )
    from schemas.review_records import TakeOverIn, VerificationAnsweredIn
    from schemas.staff import Actor, Role


if TYPE_CHECKING:
    from workflows.review_clock import ReviewClock


class ReviewActions(ReviewDecision):
    """The update handlers of `ReviewWorkflow`, which holds the state they read and record."""

    start: ReviewStart
    case_id: str
    place: str
    stage: Stage
    policy: Policy | None
    accepted_on: date | None
    journal: Journal
    clock: ReviewClock
    barred: dict[str, RelativesMatch]
    namesakes: list[Namesake]
    handled_by: str
    verification: VerificationResult | None
    home_visit_done: bool
    district_visit_done: bool
    neighbour_done: bool
    hearing_done: bool
    investigators: set[str]
    decision: Decision | None
    decided_at: datetime | None
    objection: Objection | None
    objections: int
    notice_ends_at: datetime | None
    complaints: list[str]
    hand_over: Callable[[str], Awaitable[None]]
    send: Callable[..., Awaitable[None]]

    # ---- what every action is checked against ------------------------------------------------------

    def check_met(self, action: Action, actor: Actor, people: list[str], who: str, found: str, what: str) -> None:
        """`check`, then: a record of a meeting names the people met (`who`) and says what was found (`what`)."""
        self.check(action, actor)
        if not [p for p in people if p.strip()]:
            raise refuse(CaseError.INCOMPLETE, f"请填写{who}")
        if len(found.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, f"请填写{what}")

    def check_date(self, on: date, what: str) -> None:
        """A step's date lies between the acceptance and today (Beijing)."""
        if on > today() or (self.accepted_on and on < self.accepted_on):
            raise refuse(CaseError.INVALID, f"{what}应在受理之后、今天之前")

    def check(self, action: Action, actor: Actor) -> None:
        """Refuse at once what the rules of `rules.stages` refuse, with its code and a Chinese reason."""
        if self.policy is None:
            raise refuse(CaseError.WRONG_STAGE, f"当前阶段为「{self.stage.label}」，不能办理「{action.label}」")
        township = self.start.application.household.township_code
        case = CaseView(
            stage=self.stage,
            place=self.place,
            paused=self.clock.paused_since is not None,
            handled_by=self.handled_by,
            district_approves=self.district_approval
            or self.policy.review.approval_level(township) == ApprovalLevel.DISTRICT,
            barred=frozenset(self.barred) | unsettled(self.namesakes),
            verified=self.verification is not None,
            escalated=bool(self.clock.escalations),
            decided=self.decision is not None,
            extended=self.clock.extended,
            delivered=self.refusal_delivery is not None,
        )
        why = refusal(action, case, ActorView(actor.username, actor.role.value, actor.place_code))
        if why is not None:
            raise refuse(why.code, self.refusal_text(action, actor, why))

    def refusal_text(self, action: Action, actor: Actor, why: Refusal) -> str:
        match why.code, why.reason:
            case "wrong_role", _:
                names = "、".join(Role(r).label for r in sorted(why.roles))
                return f"「{action.label}」须由{names}办理，您是{actor.role.label}"
            case "out_of_jurisdiction", _:
                return "该案件不在您的辖区内"
            case "recused", _ if actor.username not in self.barred:
                return "您与申请人申报的近亲属同名，同名提示核实之前不能办理本案"
            case "recused", _:
                return "您与申请人家庭存在近亲属关系，依规应当回避，不能办理本案"
            case "paused", _:
                return f"案件自 {self.clock.paused_since} 起等待申请人补正材料，计时暂停；请先登记材料补齐"
            case "not_paused", _:
                return "案件未处于补正材料暂停状态"
            case "wrong_stage", "verified":
                return "核对结果已录入，不能重复录入"
            case "wrong_stage", "not_escalated":
                return "案件未超期上报，区级不能接管"
            case "wrong_stage", "taken_over":
                return "案件已由区民政局接管"
            case "already_decided", _:
                return ALREADY_DECIDED
            case "wrong_stage", "extended":
                return f"法定办理时限已延长至 {self.clock.statutory_working_days} 个工作日，不能再次延长"
            case "wrong_stage", "delivered":
                return "不予批准通知书的送达情况已登记"
        return f"当前阶段为「{self.stage.label}」，不能办理「{action.label}」"

    def ack(self, key: str) -> ActionAck:
        deadline = self.clock.deadline
        return ActionAck(
            stage=self.stage.value,
            event_key=key,
            deadline=deadline.deadline if deadline else None,
            paused=self.clock.paused_since is not None,
        )

    # ---- the clock waits for the applicant -----------------------------------------------------------

    @workflow.update(name=Action.MISSING_MATERIALS.value)
    async def missing_materials(self, a: MissingMaterials) -> ActionAck:
        self.clock.pause(today())
        key = self.journal.note(
            Action.MISSING_MATERIALS,
            a.actor,
            {"items": a.items, "note": a.note},
            "一次性告知需补正材料：" + "、".join(a.items) + "；计时暂停",
        )
        await self.journal.persist()
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

    @workflow.update(name=Action.MATERIALS_SUPPLIED.value)
    async def materials_supplied(self, a: MaterialsSupplied) -> ActionAck:
        await self.clock.resume(today())
        deadline = self.clock.deadline
        return self.ack(
            await self.journal.record(
                Action.MATERIALS_SUPPLIED,
                a.actor,
                {"note": a.note},
                f"材料已补齐，恢复计时；办结时限顺延至 {deadline.deadline if deadline else ''}",
            )
        )

    @materials_supplied.validator
    def _v_materials_supplied(self, a: MaterialsSupplied) -> None:
        self.check(Action.MATERIALS_SUPPLIED, a.actor)

    # ---- the investigation -------------------------------------------------------------------------

    @workflow.update(name=Action.VERIFICATION_RESULT.value)
    async def verification_result(self, a: VerificationResult) -> ActionAck:
        self.verification = a
        self.clock.timer.replan()
        key = self.journal.note(
            Action.VERIFICATION_RESULT,
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
        await self.hand_over(Action.VERIFICATION_RESULT)
        await workflow.execute_activity_method(
            ReviewContract.verification_answered,
            VerificationAnsweredIn(case_id=self.case_id, result=a, answered_at=workflow.now()),
            **ACTIVITY,
        )
        await self.journal.persist()
        return self.ack(key)

    @verification_result.validator
    def _v_verification_result(self, a: VerificationResult) -> None:
        self.check(Action.VERIFICATION_RESULT, a.actor)

    @workflow.update(name=Action.HOME_VISIT.value)
    async def home_visit(self, a: HomeVisit) -> ActionAck:
        self.home_visit_done = True
        self.investigators |= set(a.investigators)
        by_district = a.actor.role is Role.DISTRICT_OFFICER
        self.district_visit_done = self.district_visit_done or by_district
        helpers = names(a.assistants)
        key = self.journal.note(
            Action.HOME_VISIT,
            a.actor,
            {
                "visited_on": str(a.visited_on),
                "investigators": a.investigators,
                "family_signatures": a.family_signatures,
                "findings": a.findings,
                "by_district": by_district,
            }
            | ({"assistants": helpers} if helpers else {}),
            f"{'区民政局' if by_district else ''}入户调查（{a.visited_on}）：调查人员 "
            + "、".join(a.investigators)
            + (f"；协助人员 {'、'.join(helpers)}" if helpers else "")
            + "；家庭成员签字 "
            + "、".join(a.family_signatures),
        )
        await self.hand_over(Action.HOME_VISIT)
        await self.journal.persist()
        return self.ack(key)

    @home_visit.validator
    def _v_home_visit(self, a: HomeVisit) -> None:
        """Investigators are caseworkers or district officers responsible for the case's place, at least the
        policy's number of them; village cadres of the place only assist (`rules.investigators`). The workflow
        cannot read the users table: the web app resolves every name into `investigator_staff`."""
        self.check(Action.HOME_VISIT, a.actor)
        assert self.policy is not None
        staff = {s.username: s for s in a.investigator_staff}
        team = team_refusal(a.investigators, a.assistants, staff, self.place, self.policy.review.min_investigators)
        if team is not None:
            raise refuse(team.code, team.message)
        people = set(names(a.investigators)) | set(names(a.assistants))
        if a.actor.username not in people:
            raise refuse(CaseError.INVALID, "填报人须为调查人员或协助人员之一")
        related = sorted(people & self.barred.keys())
        if related:
            raise refuse(CaseError.RECUSED, f"调查人员 {'、'.join(related)} 与申请人家庭存在近亲属关系，应当回避")
        if namesakes := sorted(people & unsettled(self.namesakes)):
            who = "、".join(namesakes)
            raise refuse(CaseError.RECUSED, f"调查人员 {who} 与申请人申报的近亲属同名，同名提示核实之前不能参与调查")
        if not [s for s in a.family_signatures if s.strip()]:
            raise refuse(CaseError.INCOMPLETE, "入户调查表缺少在场家庭成员签字")
        if len(a.findings.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, "请填写入户调查情况")
        self.check_date(a.visited_on, "调查日期")

    @workflow.update(name=Action.NEIGHBOUR_INTERVIEW.value)
    async def neighbour_interview(self, a: NeighbourInterview) -> ActionAck:
        self.neighbour_done = True
        self.investigators.add(a.actor.username)  # field work: the interviewer may not approve the case
        key = self.journal.note(
            Action.NEIGHBOUR_INTERVIEW,
            a.actor,
            {
                "interviewed_on": str(a.interviewed_on),
                "interviewees": a.interviewees,
                "findings": a.findings,
                "evidence_requests": a.evidence_requests,
            },
            f"邻里走访（{a.interviewed_on}）：走访 " + "、".join(a.interviewees),
        )
        await self.hand_over(Action.NEIGHBOUR_INTERVIEW)
        await self.journal.persist()
        return self.ack(key)

    @neighbour_interview.validator
    def _v_neighbour_interview(self, a: NeighbourInterview) -> None:
        self.check_met(Action.NEIGHBOUR_INTERVIEW, a.actor, a.interviewees, "走访对象", a.findings, "走访情况")
        self.check_date(a.interviewed_on, "走访日期")

    # ---- hearing, decision, public notice -----------------------------------------------------------

    @workflow.update(name=Action.HEARING.value)
    async def hearing(self, a: Hearing) -> ActionAck:
        self.hearing_done = True
        await self.hand_over(Action.HEARING)
        opinion = "同意" if a.opinion == "agree" else "不同意"
        return self.ack(
            await self.journal.record(
                Action.HEARING,
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
        )

    @hearing.validator
    def _v_hearing(self, a: Hearing) -> None:
        self.check_met(Action.HEARING, a.actor, a.participants, "参加评议人员", a.summary, "评议情况")
        self.check_date(a.held_on, "评议日期")

    @workflow.update(name=Action.OBJECTION.value)
    async def objection_raised(self, a: Objection) -> ActionAck:
        self.objection = a
        self.objections += 1
        self.decision = None
        self.decided_at = None
        self.notice_ends_at = None
        if a.route == "reinvestigate":
            self.home_visit_done = self.neighbour_done = self.hearing_done = False
            route = "重新调查核实"
        else:
            self.hearing_done = False
            route = "重新民主评议"
        await self.hand_over(Action.OBJECTION)
        return self.ack(
            await self.journal.record(
                Action.OBJECTION,
                a.actor,
                {"objector": a.objector, "content": a.content, "route": a.route},
                f"公示期间收到异议（{a.objector}）：{a.content}；{route}后重新审核确认并公示",
            )
        )

    @objection_raised.validator
    def _v_objection(self, a: Objection) -> None:
        self.check(Action.OBJECTION, a.actor)
        if self.notice_ends_at is not None and workflow.now() >= self.notice_ends_at:
            raise refuse(CaseError.WRONG_STAGE, "公示期已结束")

    # The update name the objection had before each action had one name: cases started earlier carry it in
    # their histories, and clients of the previous release may still call it.
    @workflow.update(name="object")
    async def object_by_old_name(self, a: Objection) -> ActionAck:
        return await self.objection_raised(a)

    @object_by_old_name.validator
    def _v_object_by_old_name(self, a: Objection) -> None:
        self._v_objection(a)

    # ---- the district --------------------------------------------------------------------------------

    @workflow.update(name=Action.TAKE_OVER.value)
    async def take_over(self, a: TakeOver) -> ActionAck:
        self.handled_by = "district"
        for e in self.clock.escalations:
            e.taken_over_by = e.taken_over_by or a.actor.username
        await workflow.execute_activity_method(
            ReviewContract.record_take_over,
            TakeOverIn(case_id=self.case_id, username=a.actor.username, at=workflow.now()),
            **ACTIVITY,
        )
        return self.ack(
            await self.journal.record(Action.TAKE_OVER, a.actor, {"reason": a.reason}, f"区民政局接管本案：{a.reason}")
        )

    @take_over.validator
    def _v_take_over(self, a: TakeOver) -> None:
        self.check(Action.TAKE_OVER, a.actor)

    @workflow.update(name=Action.EXTEND_DEADLINE.value)
    async def extend_deadline(self, a: DeadlineExtension) -> ActionAck:
        # Two requests may pass their validators before either is applied (a double click): one extension only.
        if workflow.patched(EXTEND_ONCE):
            self.check(Action.EXTEND_DEADLINE, a.actor)
        await self.clock.extend()
        n, due = self.clock.statutory_working_days, self.clock.statutory_deadline
        return self.ack(
            await self.journal.record(
                Action.EXTEND_DEADLINE,
                a.actor,
                {"reasons": a.reasons, "statutory_working_days": n, "statutory_deadline": str(due)},
                f"区民政局延长法定办理时限至 {n} 个工作日（{due}）。理由：{a.reasons}",
            )
        )

    @extend_deadline.validator
    def _v_extend_deadline(self, a: DeadlineExtension) -> None:
        self.check(Action.EXTEND_DEADLINE, a.actor)
        if len(a.reasons.strip()) < 4:
            raise refuse(CaseError.INCOMPLETE, "延长法定办理时限须书面写明理由")
