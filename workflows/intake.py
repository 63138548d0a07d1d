"""One 12349 request (一门受理): a resident asks once; staff triage it into kinds of help; each need
becomes a review case, an emergency-aid event or a referral to its bureau; the request closes when
every need has its answer, and the resident is told. Its answer date (working days from the day it was received)
is counted again when the calendar changes (signal `CALENDAR_CHANGED`, from `infra.calendar_news`)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

from workflows.common import ACTIVITY, CALENDAR_UPDATED, recounted, refuse, today, working_days
from workflows.documents import RecordsDocuments
from workflows.frontdoor import FrontDoorSubject

# A person with an open emergency event is helped in it: no second event is started (the event's own rule).
EMERGENCY_OPEN_EVENT = "intake-emergency-open-event"
# Since: the open event is named only to the township that holds it; elsewhere, only that there is one.
EMERGENCY_OPEN_ELSEWHERE = "intake-emergency-open-elsewhere"
OPEN_ELSEWHERE_TEXT = "此人已有未办结的急难事件（由其他单位办理），请联系区民政局在该事件中继续救助"
# Since: a calendar import counts the answer date of a request not yet answered again, from the day it was received
# (while the date has not passed); a moved one (or one no longer provisional) is logged, which writes it to the row,
# and the watch of the date moves with it.
ANSWER_RECOUNTED = "intake-answer-recounted"

with workflow.unsafe.imports_passed_through():
    from rules.actions import ActorView
    from rules.clock import end_of
    from rules.frontdoor_actions import REQUEST_ACTIONS, RequestAction, RequestView, request_refusal, review_needs
    from rules.needs import BY_CODE, Route
    from schemas.contracts import FrontDoorContract
    from schemas.emergency import (
        EmergencyHousehold,
        EmergencyKind,
        EmergencyNames,
        EmergencyStart,
        OpenEventFound,
        OpenEventQuery,
        emergency_workflow_id,
    )
    from schemas.frontdoor import (
        ComplaintNames,
        ComplaintStart,
        ComplaintState,
        EnquiryAnswer,
        IntakeNames,
        IntakeStart,
        IntakeState,
        LinkCase,
        NeedState,
        ReferralNames,
        ReferralOutcome,
        ReferralStart,
        RequestKind,
        Triage,
        complaint_workflow_id,
        referral_workflow_id,
    )
    from schemas.identity import mask_id
    from schemas.policy import CALENDAR_CHANGED, FrontDoorPolicy
    from schemas.staff import Actor, Bureau

TRIAGE, LINK_CASE, ANSWER = (
    REQUEST_ACTIONS[a] for a in (RequestAction.TRIAGE, RequestAction.LINK_CASE, RequestAction.ANSWER)
)
CHANNEL_LABELS = {"portal": "网上申请", "hotline": "12349 热线", "window": "窗口"}
OUTCOMES = {"helped": "已给予帮助", "not_eligible": "经审核不符合条件", "declined": "不予帮助"}


@workflow.defn(name=IntakeNames.WORKFLOW)
class IntakeWorkflow(FrontDoorSubject, RecordsDocuments):
    @workflow.init
    def __init__(self, start: IntakeStart) -> None:
        super().__init__("request", start.request_no, "received")
        self.start = start
        self.policy: FrontDoorPolicy | None = None
        self.received_on: date | None = None
        self.answer_due: date | None = None
        self.answer_provisional = False  # the answer date runs through a year without a holiday notice (暂定)
        self.recount_requested = False
        self.needs: list[NeedState] = []
        self.answer: str | None = None
        self.escalated = False
        self.waiting: list[asyncio.Task] = []  # one per referral, until its bureau answers

    @workflow.run
    async def run(self, start: IntakeStart) -> IntakeState:
        on = self.received_on = today()
        self.policy = await workflow.execute_activity_method(FrontDoorContract.front_door_policy, on, **ACTIVITY)
        await workflow.execute_activity_method(FrontDoorContract.record_request, start, **ACTIVITY)
        due = await working_days(on, self.policy.answer_working_days)
        self.answer_due, self.answer_provisional = due.deadline, due.provisional
        req = start.request
        self.journal.note(
            "received",
            start.received_by,
            {"channel": start.channel.value, "needs": req.needs},
            f"收到{req.kind.label}（{CHANNEL_LABELS[start.channel.value]}）：{req.description}",
        )
        await self.journal.persist()
        await self.notify(
            "received",
            f"phone:{req.phone}",
            "12349 已收到您的诉求",
            f"编号 {start.request_no}，预计 {self.answer_due} 前答复。凭编号、身份证号和手机号可查询进度。",
        )
        complaint = req.kind is RequestKind.COMPLAINT
        clock = asyncio.create_task(self.watch_answer_due(escalates=not complaint))
        if complaint:
            await self.file_complaint()
        else:
            await workflow.wait_condition(lambda: self.finished)
        await clock
        await self.close()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def watch_answer_due(self, escalates: bool = True) -> None:
        """Until the request is answered: tell the district if its answer date passes first (`escalates`; a
        complaint's limits are its unit's, watched by the complaint itself), and count the date again when the
        calendar changes."""
        while True:
            assert self.answer_due is not None
            late = max(end_of(self.answer_due) - workflow.now(), timedelta(0)) if escalates else None
            try:
                await workflow.wait_condition(lambda: self.finished or self.recount_requested, timeout=late)
            except TimeoutError:
                await self.escalate()
                return
            if self.finished:
                return
            await self.recount()

    async def escalate(self) -> None:
        self.escalated = True
        text = f"12349 诉求 {self.subject_id} 未在 {self.answer_due} 前答复完毕"
        key = self.journal.note("escalated_answer", None, {"due": str(self.answer_due)}, text)
        await self.journal.persist()
        await self.notify(key, f"role:district_officer@{self.start.request.township_code[:6]}", "12349 诉求超期", text)

    @workflow.signal(name=CALENDAR_CHANGED)
    def calendar_changed(self) -> None:
        """A calendar import changed the working days: the answer date is counted again. Asked for behind the patch
        here, in the handler, so that a signal an earlier release received (and left unhandled) wakes nothing when
        its history is replayed."""
        if workflow.patched(ANSWER_RECOUNTED):
            self.recount_requested = True

    async def recount(self) -> None:
        """The answer date, while it has not passed and the request is not answered, counted again from the day the
        request was received; a moved one (or one no longer provisional) is logged, which writes it to the row."""
        self.recount_requested = False
        assert self.policy is not None and self.received_on is not None and self.answer_due is not None
        if self.finished or workflow.now() >= end_of(self.answer_due):
            return
        due = await working_days(self.received_on, self.policy.answer_working_days)
        was, now = (self.answer_due, self.answer_provisional), (due.deadline, due.provisional)
        if now == was or self.finished:
            return
        self.answer_due, self.answer_provisional = now
        payload = {"answer_due": str(due.deadline), "answer_provisional": due.provisional}
        self.journal.note("limits_recomputed", None, payload, CALENDAR_UPDATED + recounted("答复期限", was, now))
        await self.journal.persist()

    def log_due(self) -> tuple[date | None, bool]:
        return self.answer_due, self.answer_provisional

    def accepts_documents(self) -> bool:
        return self.status != "closed"

    @property
    def finished(self) -> bool:
        return self.answer is not None or (bool(self.needs) and all(n.status == "answered" for n in self.needs))

    async def close(self) -> None:
        if self.answer is None:
            self.answer = "；".join(f"{n.plain}：{n.answer}" for n in self.needs)
        self.status = "closed"
        key = self.journal.note("closed", None, {"answer": self.answer}, f"答复完毕：{self.answer}")
        await self.journal.persist()
        if self.start.request.kind is not RequestKind.COMPLAINT:  # the complaint's unit already told them
            await self.notify(key, f"phone:{self.start.request.phone}", "12349 诉求答复", self.answer)

    # ---- complaints go straight to their unit ----------------------------------------------------

    async def file_complaint(self) -> None:
        req = self.start.request
        no = f"TS-{self.subject_id.removeprefix('12349-')}"
        complaint = ComplaintStart(
            complaint_no=no,
            request_no=self.subject_id,
            complainant=req.name,
            phone=req.phone,
            township_code=req.township_code,
            # checked before this intake started: a case of the complaint's own township, as recorded, or none
            # (webapp.frontdoor.rows.case_complained_of, for the portal's, the desk's and the API's requests)
            about_case_id=req.about_case_id,
            about_person=req.about_person,
            content=req.description,
            unit_code=req.township_code[:6] if req.to_district else req.township_code,
            registered_by=self.start.received_by,
            district_reason=self.start.district_reason if req.to_district else None,
        )
        self.needs = [NeedState(code="complaint", plain="投诉", route="complaint", status="in_progress", target_id=no)]
        self.status = "triaged"
        self.journal.note("complaint_filed", None, {"complaint_no": no}, f"投诉转承办单位办理（{no}）")
        await self.journal.persist()
        result = await workflow.execute_child_workflow(
            ComplaintNames.WORKFLOW, complaint, id=complaint_workflow_id(no), result_type=ComplaintState
        )
        self.answer = result.reply

    # ---- triage ----------------------------------------------------------------------------------

    @workflow.update(name=TRIAGE.update)
    async def triage(self, t: Triage) -> IntakeState:
        req = self.start.request
        self.status = "triaged"
        self.needs = [
            NeedState(code=c, plain=BY_CODE[c].plain, route=BY_CODE[c].route.value, status="waiting")
            for c in dict.fromkeys(t.needs)
        ]
        self.journal.note(
            TRIAGE.kind,
            t.actor,
            {"needs": t.needs, "note": t.note},
            "分办：" + "、".join(f"{BY_CODE[c].plain}→{BY_CODE[c].help_kind}" for c in t.needs),
        )
        await self.journal.persist()
        for n in self.needs:
            spec = BY_CODE[n.code]
            if spec.route is Route.REVIEW:
                n.status = "in_progress"
                await self.notify(
                    f"review-{n.code}",
                    f"role:township_caseworker@{req.township_code}",
                    "12349 转来申请",
                    f"{req.name}（{req.phone}）申请{spec.help_kind}，请联系申请人受理：{req.description}",
                )
            elif spec.route is Route.EMERGENCY:
                event_id = f"JJN-{self.subject_id.removeprefix('12349-')}"
                assert req.village_code is not None
                found = await self.open_event_of(req.id_number, req.township_code)
                if found.event_id is not None:  # one open event per person: the help goes on there
                    text = f"此人已有未办结的急难事件 {found.event_id}，在该事件中继续救助"
                    self.answered(n, found.event_id, text)
                    continue
                if found.elsewhere:  # in another township: neither its id nor its place is told here
                    self.answered(n, None, OPEN_ELSEWHERE_TEXT)
                    continue
                await workflow.start_child_workflow(
                    EmergencyNames.WORKFLOW,
                    EmergencyStart(
                        event_id=event_id,
                        kind=EmergencyKind(t.emergency_kind),
                        description=req.description,
                        household=EmergencyHousehold(
                            name=req.name,
                            id_number=req.id_number,
                            phone=req.phone,
                            township_code=req.township_code,
                            village_code=req.village_code,
                            address=req.address or "（12349 登记）",
                        ),
                        registered_by=t.actor,
                        channel="12349",
                    ),
                    id=emergency_workflow_id(event_id),
                    parent_close_policy=ParentClosePolicy.ABANDON,
                )
                self.answered(n, event_id, f"已登记急难事件 {event_id}，由村（社区）救急难互助社先行救助")
            else:
                referral_id = f"ZJ-{self.subject_id.removeprefix('12349-')}-{spec.code}"
                handle = await workflow.start_child_workflow(
                    ReferralNames.WORKFLOW,
                    ReferralStart(
                        referral_id=referral_id,
                        request_no=self.subject_id,
                        need=spec.code,
                        help_kind=spec.help_kind,
                        bureau=Bureau(spec.bureau),
                        name=req.name,
                        id_masked=mask_id(req.id_number),
                        phone=req.phone,
                        township_code=req.township_code,
                        address=req.address,
                        description=req.description,
                        policy=self.policy,
                    ),
                    id=referral_workflow_id(referral_id),
                    result_type=ReferralOutcome,
                )
                n.status, n.target_id = "in_progress", referral_id
                self.waiting.append(asyncio.create_task(self.await_referral(n, handle)))
        await self.journal.persist()
        return self.state()

    async def await_referral(self, n: NeedState, handle) -> None:
        try:
            outcome: ReferralOutcome = await handle
        except ChildWorkflowError:
            self.answered(n, n.target_id, "转介未能办结，请联系 12349")
        else:
            money = f"（{outcome.amount} 元）" if outcome.amount else ""
            self.answered(n, n.target_id, f"{OUTCOMES[outcome.outcome]}{money}：{outcome.help_given}")
        await self.journal.persist()

    async def open_event_of(self, id_number: str, township: str) -> OpenEventFound:
        """The person's open emergency event, as the triage of `township` may know it."""
        if workflow.patched(EMERGENCY_OPEN_ELSEWHERE):
            q = OpenEventQuery(id_number=id_number, township_code=township)
            return await workflow.execute_activity_method(FrontDoorContract.open_emergency_in, q, **ACTIVITY)
        if workflow.patched(EMERGENCY_OPEN_EVENT):  # histories from before: the event named wherever it is
            event = await workflow.execute_activity_method(FrontDoorContract.open_emergency_of, id_number, **ACTIVITY)
            return OpenEventFound(event_id=event)
        return OpenEventFound()

    def answered(self, n: NeedState, target: str | None, text: str) -> None:
        n.status, n.target_id, n.answer, n.answered_at = "answered", target, text, workflow.now()
        self.journal.note(
            "need_answered", None, {"need": n.code, "target": target, "answer": text}, f"{n.plain}：{text}"
        )

    def check_action(self, action: RequestAction, actor: Actor, need: str | None = None) -> None:
        req = self.start.request
        view = RequestView(
            status=self.status,
            kind=req.kind.value,
            township=req.township_code,
            ready=self.policy is not None,
            answered=self.answer is not None,
            review_needs=review_needs(self.needs),
        )
        self.check(request_refusal(action, view, ActorView.of(actor), need=need), actor)

    @triage.validator
    def _v_triage(self, t: Triage) -> None:
        self.check_action(RequestAction.TRIAGE, t.actor)
        unknown = [c for c in t.needs if c not in BY_CODE]
        if unknown:
            raise refuse("invalid", f"未知的求助事项：{'、'.join(unknown)}")
        if any(BY_CODE[c].route is Route.EMERGENCY for c in t.needs):
            if not self.start.request.village_code:
                raise refuse("invalid", "急难救助须先确定所在村（社区）")
            if t.emergency_kind not in {k.value for k in EmergencyKind}:
                raise refuse("invalid", "请选择急难类型")

    @workflow.update(name=LINK_CASE.update)
    async def link_case(self, a: LinkCase) -> IntakeState:
        n = next(n for n in self.needs if n.code == a.need)
        self.answered(
            n, a.case_id, f"已受理{BY_CODE[a.need].help_kind}申请，案件编号 {a.case_id}，20 个工作日内审核确认"
        )
        await self.journal.persist()
        return self.state()

    @link_case.validator
    def _v_link_case(self, a: LinkCase) -> None:
        self.check_action(RequestAction.LINK_CASE, a.actor, a.need)

    @workflow.update(name=ANSWER.update)
    async def answer_enquiry(self, a: EnquiryAnswer) -> IntakeState:
        self.answer = a.text
        await self.record(ANSWER, a.actor, {"answer": a.text}, f"答复咨询：{a.text}")
        return self.state()

    @answer_enquiry.validator
    def _v_answer(self, a: EnquiryAnswer) -> None:
        self.check_action(RequestAction.ANSWER, a.actor)

    @workflow.query(name=IntakeNames.STATE)
    def state(self) -> IntakeState:
        req = self.start.request
        return IntakeState(
            request_no=self.subject_id,
            kind=req.kind,
            status=self.status,  # type: ignore[arg-type]
            township_code=req.township_code,
            name=req.name,
            answer_due=self.answer_due,
            answer_provisional=self.answer_provisional,
            needs=self.needs,
            answer=self.answer,
            log=self.journal.as_log(),
        )
