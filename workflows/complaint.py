"""A complaint (投诉): assigned to the unit concerned, never handled by the person complained about,
accepted and concluded within the policy's days (petition-style limits), the complainant told the reply.
A complaint about a case still in review makes the district visit that household itself."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.common import ACTIVITY, refuse, today
from workflows.frontdoor import FrontDoorSubject

with workflow.unsafe.imports_passed_through():
    from rules.access import within
    from rules.clock import end_of
    from rules.recusal import names_person
    from schemas.contracts import FrontDoorContract
    from schemas.frontdoor import (
        ComplaintAccept,
        ComplaintConclude,
        ComplaintNames,
        ComplaintStart,
        ComplaintState,
    )
    from schemas.review import ReviewNames, workflow_id_for
    from schemas.staff import Actor, Role

HANDLERS = {Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER, Role.DISTRICT_OFFICER}


@workflow.defn(name=ComplaintNames.WORKFLOW)
class ComplaintWorkflow(FrontDoorSubject):
    @workflow.init
    def __init__(self, start: ComplaintStart) -> None:
        super().__init__()
        self.subject_type = "complaint"
        self.subject_id = start.complaint_no
        self.start = start
        self.status = "registered"
        self.accept_due: date | None = None
        self.conclude_due: date | None = None
        self.escalations: list[str] = []
        self.reply: str | None = None

    @workflow.run
    async def run(self, start: ComplaintStart) -> ComplaintState:
        on = today()
        policy = await workflow.execute_activity_method(FrontDoorContract.front_door_policy, on, **ACTIVITY)
        await workflow.execute_activity_method(FrontDoorContract.open_complaint, start, **ACTIVITY)
        self.accept_due = on + timedelta(days=policy.complaint_accept_days)
        self.conclude_due = on + timedelta(days=policy.complaint_conclude_days)
        about = f"（涉及案件 {start.about_case_id}）" if start.about_case_id else ""
        self.journal.note(
            "registered",
            start.registered_by,
            {"accept_due": str(self.accept_due), "conclude_due": str(self.conclude_due), "unit": start.unit_code},
            f"收到投诉{about}：{start.content}；应于 {self.accept_due} 前受理、{self.conclude_due} 前办结",
        )
        await self.journal.persist()
        await self.notify("registered", self.unit_audience, "新的投诉", f"{start.complainant}：{start.content}")
        if start.about_case_id:
            await self.flag_case(start.about_case_id)
        await self.until(lambda: self.status == "concluded")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @property
    def unit_audience(self) -> str:
        role = "district_officer" if len(self.start.unit_code) == 6 else "township_approver"
        return f"role:{role}@{self.start.unit_code}"

    async def flag_case(self, case_id: str) -> None:
        """A complaint about a case in review: the district must visit the household itself."""
        handle = workflow.get_external_workflow_handle(workflow_id_for(case_id))
        try:
            await handle.signal(ReviewNames.COMPLAINT_FILED, self.subject_id)
        except ApplicationError:
            self.journal.note(
                "case_not_open", None, {"case_id": case_id}, f"案件 {case_id} 不在审核中，未标记区级入户调查"
            )
        else:
            self.journal.note("case_flagged", None, {"case_id": case_id}, f"已通知案件 {case_id}：须由区民政局入户调查")
        await self.journal.persist()

    def next_deadline(self) -> tuple[datetime, str] | None:
        if self.status == "registered" and "accept" not in self.escalations and self.accept_due:
            return end_of(self.accept_due), "accept"
        if "conclude" not in self.escalations and self.conclude_due:
            return end_of(self.conclude_due), "conclude"
        return None

    async def escalate(self, what: str) -> None:
        self.escalations.append(what)
        due = self.accept_due if what == "accept" else self.conclude_due
        text = f"投诉未在 {due} 前{'受理' if what == 'accept' else '办结'}，已上报区民政局"
        key = self.journal.note(f"escalated_{what}", None, {"due": str(due)}, text)
        await self.journal.persist()
        await self.notify(key, f"role:district_officer@{self.start.township_code[:6]}", "投诉超期", text)

    def check(self, actor: Actor) -> None:
        if self.status == "concluded":
            raise refuse("closed", "该投诉已办结")
        if actor.role not in HANDLERS:
            raise refuse("wrong_role", "投诉由承办单位的工作人员办理")
        if not within(actor.place_code, self.start.unit_code) and actor.role is not Role.DISTRICT_OFFICER:
            raise refuse("out_of_jurisdiction", "该投诉不由您所在单位承办")
        if names_person(self.start.about_person, actor.username, actor.full_name):
            raise refuse("recused", "被投诉人不能办理针对本人的投诉")

    @workflow.update(name=ComplaintNames.ACCEPT)
    async def accept(self, a: ComplaintAccept) -> str:
        self.status = "accepted"
        self.deadlines.replan()
        key = self.journal.note("accepted", a.actor, {"note": a.note}, "投诉已受理")
        await self.journal.persist()
        return key

    @accept.validator
    def _v_accept(self, a: ComplaintAccept) -> None:
        self.check(a.actor)
        if self.status != "registered":
            raise refuse("wrong_stage", "该投诉已受理")

    @workflow.update(name=ComplaintNames.CONCLUDE)
    async def conclude(self, a: ComplaintConclude) -> str:
        self.status = "concluded"
        self.reply = a.reply
        self.deadlines.replan()
        finding = {"substantiated": "属实", "partly": "部分属实", "unsubstantiated": "不属实"}[a.finding]
        key = self.journal.note(
            "concluded", a.actor, {"finding": a.finding, "reply": a.reply}, f"投诉办结（{finding}）：{a.reply}"
        )
        await self.journal.persist()
        await self.notify(
            key, f"phone:{self.start.phone}", "投诉办理结果", f"您的投诉（{self.subject_id}）经核查{finding}。{a.reply}"
        )
        return key

    @conclude.validator
    def _v_conclude(self, a: ComplaintConclude) -> None:
        self.check(a.actor)
        if self.status != "accepted":
            raise refuse("wrong_stage", "请先受理投诉，再办结")

    @workflow.query(name=ComplaintNames.STATE)
    def state(self) -> ComplaintState:
        return ComplaintState(
            complaint_no=self.subject_id,
            unit_code=self.start.unit_code,
            status=self.status,  # type: ignore[arg-type]
            accept_due=self.accept_due,
            conclude_due=self.conclude_due,
            escalations=self.escalations,
            about_case_id=self.start.about_case_id,
            about_person=self.start.about_person,
            reply=self.reply,
            log=self.journal.as_log(),
        )
