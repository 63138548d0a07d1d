"""A complaint (投诉): assigned to the unit concerned, never handled by the person complained about,
accepted and concluded within the policy's days (petition-style limits), the complainant told the reply.
A complaint about a case still in review makes the district visit that household itself."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.common import ACTIVITY, calendar_period_end, today
from workflows.frontdoor import DatedSubject

with workflow.unsafe.imports_passed_through():
    from rules.actions import ActorView
    from rules.frontdoor_actions import COMPLAINT_ACTIONS, ComplaintAction, ComplaintView, complaint_refusal
    from schemas.contracts import FrontDoorContract
    from schemas.frontdoor import (
        ComplaintAccept,
        ComplaintConclude,
        ComplaintNames,
        ComplaintStart,
        ComplaintState,
    )
    from schemas.policy import FrontDoorPolicy
    from schemas.review import DeadlineInfo, ReviewNames, workflow_id_for
    from schemas.staff import Actor

ACCEPT, CONCLUDE = COMPLAINT_ACTIONS[ComplaintAction.ACCEPT], COMPLAINT_ACTIONS[ComplaintAction.CONCLUDE]

# Since: the complaint's limits in calendar days end on a working day (Civil Code art. 203).
LIMITS_ART_203 = "complaint-limits-art-203"
# Since: those who handled the case a complaint concerns are kept from it by user name (not only the name the
# complainant wrote), and the notice to the unit carries neither the complainant nor the content.
RECUSAL_BY_USER = "complaint-recusal-by-user"
# Since: the case's handlers are read before the limits are set and written, so that a complaint whose limits
# show is one they are already kept from (read after, an update could come before them: see `not_ready`).
HANDLERS_FIRST = "complaint-handlers-first"


@workflow.defn(name=ComplaintNames.WORKFLOW)
class ComplaintWorkflow(DatedSubject):
    waiting, final, done = "registered", "conclude", "concluded"
    final_due_key, owed = "conclude_due", {"accept": "受理", "conclude": "办结"}

    @workflow.init
    def __init__(self, start: ComplaintStart) -> None:
        super().__init__("complaint", start.complaint_no, start)
        self.reply: str | None = None
        self.policy: FrontDoorPolicy | None = None
        # of the case it concerns (rules.recusal); None until read, and no one may act before
        self.case_handlers: frozenset[str] | None = None

    @workflow.run
    async def run(self, start: ComplaintStart) -> ComplaintState:
        on = today()
        policy = await workflow.execute_activity_method(FrontDoorContract.front_door_policy, on, **ACTIVITY)
        await workflow.execute_activity_method(FrontDoorContract.open_complaint, start, **ACTIVITY)
        if workflow.patched(HANDLERS_FIRST):
            await self.read_case_handlers()
        self.policy = policy
        if not await self.set_limits(on):
            self.accept_due = on + timedelta(days=policy.complaint_accept_days)
            self.final_due = on + timedelta(days=policy.complaint_conclude_days)
        about = f"（涉及案件 {start.about_case_id}）" if start.about_case_id else ""
        # why the district handles it (rules.recusal); only complaints registered with a reason have one
        why = {"district_reason": start.district_reason} if start.district_reason else {}
        self.journal.note(
            "registered",
            start.registered_by,
            {
                "accept_due": str(self.accept_due),
                "conclude_due": str(self.final_due),
                "unit": start.unit_code,
                # 暂定 on the row until a calendar import settles them
                "accept_provisional": self.accept_provisional,
                "conclude_provisional": self.final_provisional,
            }
            | why,
            f"收到投诉{about}：{start.content}；应于 {self.accept_due} 前受理、{self.final_due} 前办结"
            + (f"；{start.district_reason}" if start.district_reason else ""),
        )
        await self.journal.persist()
        if workflow.patched(RECUSAL_BY_USER):
            if self.case_handlers is None:
                await self.read_case_handlers()
            # the notice carries neither complainant nor content (the desk shows it to those who may handle
            # it); one about a person or a case goes to the district, not to the unit's role, which may
            # include the one it is about
            body = f"收到投诉 {start.complaint_no}，请登录系统查看并办理"
            concerns = bool((start.about_person or "").strip() or start.about_case_id)
            audience = f"role:district_officer@{start.unit_code[:6]}" if concerns else self.unit_audience
        else:
            self.case_handlers = frozenset()
            body, audience = f"{start.complainant}：{start.content}", self.unit_audience
        await self.notify("registered", audience, "新的投诉", body)
        if start.about_case_id:
            await self.flag_case(start.about_case_id)
        await self.until(lambda: self.status == "concluded")
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def read_case_handlers(self) -> None:
        """Who handled the case the complaint concerns (nobody, if it concerns none): they may not act on it."""
        case_id = self.start.about_case_id
        handlers = (
            await workflow.execute_activity_method(FrontDoorContract.case_handlers_of, case_id, **ACTIVITY)
            if case_id
            else []
        )
        self.case_handlers = frozenset(handlers)

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

    async def count_limits(self, on: date) -> tuple[DeadlineInfo, DeadlineInfo] | None:
        if not workflow.patched(LIMITS_ART_203):
            return None  # counted in calendar days alone
        # a limit in calendar days whose last day is a day off runs to the next working day (art. 203)
        assert self.policy is not None
        return (
            await calendar_period_end(on, self.policy.complaint_accept_days),
            await calendar_period_end(on, self.policy.complaint_conclude_days),
        )

    def late(self, what: str, due: date | None) -> tuple[str, str]:
        return "投诉超期", f"投诉未在 {due} 前{self.owed[what]}，已上报区民政局"

    # ---- actions -----------------------------------------------------------------------------------

    def check_action(self, action: ComplaintAction, actor: Actor) -> None:
        view = ComplaintView(self.status, self.start.unit_code, self.start.about_person, self.case_handlers)
        self.check(complaint_refusal(action, view, ActorView.of(actor)), actor)

    @workflow.update(name=ACCEPT.update)
    async def accept(self, a: ComplaintAccept) -> str:
        self.move("accepted")
        return await self.record(ACCEPT, a.actor, {"note": a.note}, "投诉已受理")

    @accept.validator
    def _v_accept(self, a: ComplaintAccept) -> None:
        self.check_action(ComplaintAction.ACCEPT, a.actor)

    @workflow.update(name=CONCLUDE.update)
    async def conclude(self, a: ComplaintConclude) -> str:
        self.reply = a.reply
        self.move("concluded")
        finding = {"substantiated": "属实", "partly": "部分属实", "unsubstantiated": "不属实"}[a.finding]
        key = await self.record(
            CONCLUDE, a.actor, {"finding": a.finding, "reply": a.reply}, f"投诉办结（{finding}）：{a.reply}"
        )
        await self.notify(
            key, f"phone:{self.start.phone}", "投诉办理结果", f"您的投诉（{self.subject_id}）经核查{finding}。{a.reply}"
        )
        return key

    @conclude.validator
    def _v_conclude(self, a: ComplaintConclude) -> None:
        self.check_action(ComplaintAction.CONCLUDE, a.actor)

    @workflow.query(name=ComplaintNames.STATE)
    def state(self) -> ComplaintState:
        return ComplaintState(
            complaint_no=self.subject_id,
            unit_code=self.start.unit_code,
            status=self.status,  # type: ignore[arg-type]
            accept_due=self.accept_due,
            conclude_due=self.final_due,
            accept_provisional=self.accept_provisional,
            conclude_provisional=self.final_provisional,
            escalations=self.escalations,
            about_case_id=self.start.about_case_id,
            about_person=self.start.about_person,
            reply=self.reply,
            log=self.journal.as_log(),
        )
