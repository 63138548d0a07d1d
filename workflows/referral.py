"""A referral (转介) to the partner bureau that owns a kind of help: delivered through the bureau's
adapter, then the bureau owes acceptance and a result by their deadlines, or the district hears of it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.common import ACTIVITY, refuse, today, working_days
from workflows.frontdoor import FrontDoorSubject

with workflow.unsafe.imports_passed_through():
    from rules.clock import end_of
    from schemas.contracts import FrontDoorContract
    from schemas.frontdoor import (
        DeliveryIn,
        ReferralAccept,
        ReferralAck,
        ReferralInfoRequest,
        ReferralInfoSupplied,
        ReferralNames,
        ReferralOutcome,
        ReferralResult,
        ReferralStart,
        ReferralState,
    )
    from schemas.staff import Actor, Role

DELIVERY_WINDOW = timedelta(hours=2)
FRONT_DESK = {Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER, Role.DISTRICT_OFFICER}


@workflow.defn(name=ReferralNames.WORKFLOW)
class ReferralWorkflow(FrontDoorSubject):
    @workflow.init
    def __init__(self, start: ReferralStart) -> None:
        super().__init__()
        self.subject_type = "referral"
        self.subject_id = start.referral_id
        self.start = start
        self.status = "delivered"
        self.accept_due: date | None = None
        self.result_due: date | None = None
        self.escalations: list[str] = []
        self.result: ReferralResult | None = None
        self.ready = False

    @workflow.run
    async def run(self, start: ReferralStart) -> ReferralOutcome:
        on = today()
        delivery = DeliveryIn(referral=start, workflow_id=workflow.info().workflow_id)
        await workflow.execute_activity_method(FrontDoorContract.open_referral, delivery, **ACTIVITY)
        # The clock runs from the referral, not from a successful delivery: a bureau's system being down
        # must not hide the deadlines.
        self.accept_due = (await working_days(on, start.policy.referral_accept_working_days)).deadline
        self.result_due = (await working_days(on, start.policy.referral_result_working_days)).deadline
        try:
            adapter = await workflow.execute_activity_method(
                FrontDoorContract.deliver_referral,
                delivery,
                schedule_to_close_timeout=DELIVERY_WINDOW,
                retry_policy=ACTIVITY["retry_policy"],
            )
        except ActivityError:
            adapter = "inbox"
            self.journal.note(
                "delivery_failed",
                None,
                {},
                f"{start.bureau.label}接口在 {DELIVERY_WINDOW} 内未能接收，已转入系统收件箱",
            )
        self.ready = True
        label = start.bureau.label
        self.journal.note(
            "delivered",
            None,
            {"adapter": adapter, "accept_due": str(self.accept_due), "result_due": str(self.result_due)},
            f"转介{label}（{start.help_kind}），应于 {self.accept_due} 前签收、{self.result_due} 前反馈结果",
        )
        await self.journal.persist()
        await self.notify(
            "delivered",
            f"bureau:{start.bureau.value}",
            "新的转介事项",
            f"{start.name}：{start.help_kind}，请于 {self.accept_due} 前签收",
        )
        await self.until(lambda: self.result is not None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return ReferralOutcome(
            referral_id=start.referral_id,
            outcome=self.result.outcome,
            help_given=self.result.help_given,
            amount=self.result.amount,
        )

    def next_deadline(self) -> tuple[datetime, str] | None:
        if self.status == "delivered" and "accept" not in self.escalations and self.accept_due:
            return end_of(self.accept_due), "accept"
        if self.status != "answered" and "result" not in self.escalations and self.result_due:
            return end_of(self.result_due), "result"
        return None

    async def escalate(self, what: str) -> None:
        self.escalations.append(what)
        due = self.accept_due if what == "accept" else self.result_due
        text = f"{self.start.bureau.label}未在 {due} 前{'签收' if what == 'accept' else '反馈结果'}，已上报区民政局"
        key = self.journal.note(f"escalated_{what}", None, {"due": str(due)}, text)
        await self.journal.persist()
        await self.notify(key, f"role:district_officer@{self.start.township_code[:6]}", "转介事项超期", text)

    # ---- actions ---------------------------------------------------------------------------------

    def check_bureau(self, actor: Actor) -> None:
        if not self.ready:
            raise refuse("wrong_stage", "转介正在送达，请稍后再试")
        if self.status == "answered":
            raise refuse("closed", "该转介已反馈结果")
        if actor.role is not Role.BUREAU_STAFF:
            raise refuse("wrong_role", "只有承办部门的工作人员可以办理转介")
        if actor.bureau is not self.start.bureau:
            raise refuse("wrong_bureau", f"该转介由{self.start.bureau.label}承办")

    @workflow.update(name=ReferralNames.ACCEPT)
    async def accept(self, a: ReferralAccept) -> ReferralAck:
        self.status = "accepted"
        self.deadlines.replan()
        key = self.journal.note("accepted", a.actor, {"note": a.note}, f"{self.start.bureau.label}已签收")
        await self.journal.persist()
        return ReferralAck(status=self.status, log_key=key)

    @accept.validator
    def _v_accept(self, a: ReferralAccept) -> None:
        self.check_bureau(a.actor)
        if self.status != "delivered":
            raise refuse("wrong_stage", "该转介已签收")

    @workflow.update(name=ReferralNames.REQUEST_INFO)
    async def request_info(self, a: ReferralInfoRequest) -> ReferralAck:
        self.status = "info_requested"
        self.deadlines.replan()
        key = self.journal.note("info_requested", a.actor, {"question": a.question}, f"需补充信息：{a.question}")
        await self.journal.persist()
        await self.notify(
            key,
            f"role:township_caseworker@{self.start.township_code}",
            "转介部门需要补充信息",
            f"{self.start.name}（{self.start.help_kind}）：{a.question}",
        )
        return ReferralAck(status=self.status, log_key=key)

    @request_info.validator
    def _v_request_info(self, a: ReferralInfoRequest) -> None:
        self.check_bureau(a.actor)
        if self.status != "accepted":
            raise refuse("wrong_stage", "请先签收，再请求补充信息")

    @workflow.update(name=ReferralNames.SUPPLY_INFO)
    async def supply_info(self, a: ReferralInfoSupplied) -> ReferralAck:
        self.status = "accepted"
        self.deadlines.replan()
        key = self.journal.note("info_supplied", a.actor, {"info": a.info}, f"已补充信息：{a.info}")
        await self.journal.persist()
        await self.notify(key, f"bureau:{self.start.bureau.value}", "转介事项已补充信息", a.info)
        return ReferralAck(status=self.status, log_key=key)

    @supply_info.validator
    def _v_supply_info(self, a: ReferralInfoSupplied) -> None:
        if a.actor.role not in FRONT_DESK or not self.start.township_code.startswith(a.actor.place_code):
            raise refuse("wrong_role", "补充信息须由该乡镇（街道）或区民政局工作人员办理")
        if self.status != "info_requested":
            raise refuse("wrong_stage", "承办部门没有请求补充信息")

    @workflow.update(name=ReferralNames.RESULT)
    async def report_result(self, a: ReferralResult) -> ReferralAck:
        self.result = a
        self.status = "answered"
        self.deadlines.replan()
        await workflow.execute_activity_method(
            FrontDoorContract.record_referral_result, args=[self.subject_id, a], **ACTIVITY
        )
        outcome = {"helped": "已给予帮助", "not_eligible": "不符合条件", "declined": "不予帮助"}[a.outcome]
        money = f"，金额 {a.amount} 元" if a.amount else ""
        key = self.journal.note(
            "answered",
            a.actor,
            {"outcome": a.outcome, "help_given": a.help_given, "amount": str(a.amount) if a.amount else None},
            f"{self.start.bureau.label}反馈：{outcome}{money}。{a.help_given}",
        )
        await self.journal.persist()
        return ReferralAck(status=self.status, log_key=key)

    @report_result.validator
    def _v_result(self, a: ReferralResult) -> None:
        self.check_bureau(a.actor)
        if self.status == "delivered":
            raise refuse("wrong_stage", "请先签收转介，再反馈结果")

    @workflow.query(name=ReferralNames.STATE)
    def state(self) -> ReferralState:
        return ReferralState(
            referral_id=self.subject_id,
            request_no=self.start.request_no,
            bureau=self.start.bureau,
            need=self.start.need,
            status=self.status,  # type: ignore[arg-type]
            accept_due=self.accept_due,
            result_due=self.result_due,
            escalations=self.escalations,
            result=self.result,
            log=self.journal.as_log(),
        )
