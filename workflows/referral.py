"""A referral (转介) to the partner bureau that owns a kind of help: delivered through the bureau's
adapter, then the bureau owes acceptance and a result by their deadlines, or the district hears of it."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.common import ACTIVITY, today, working_days
from workflows.frontdoor import DatedSubject

with workflow.unsafe.imports_passed_through():
    from rules.actions import ActorView
    from rules.frontdoor_actions import REFERRAL_ACTIONS, ReferralAction, ReferralView, referral_refusal
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
    from schemas.review import DeadlineInfo
    from schemas.staff import Actor

DELIVERY_WINDOW = timedelta(hours=2)
ACCEPT, REQUEST_INFO = REFERRAL_ACTIONS[ReferralAction.ACCEPT], REFERRAL_ACTIONS[ReferralAction.REQUEST_INFO]
SUPPLY_INFO, RESULT = REFERRAL_ACTIONS[ReferralAction.SUPPLY_INFO], REFERRAL_ACTIONS[ReferralAction.RESULT]


@workflow.defn(name=ReferralNames.WORKFLOW)
class ReferralWorkflow(DatedSubject):
    waiting, final, done = "delivered", "result", "answered"
    final_due_key, owed = "result_due", {"accept": "签收", "result": "反馈结果"}

    @workflow.init
    def __init__(self, start: ReferralStart) -> None:
        super().__init__("referral", start.referral_id, start)
        self.result: ReferralResult | None = None
        self.ready = False

    @workflow.run
    async def run(self, start: ReferralStart) -> ReferralOutcome:
        on = today()
        delivery = DeliveryIn(referral=start, workflow_id=workflow.info().workflow_id)
        await workflow.execute_activity_method(FrontDoorContract.open_referral, delivery, **ACTIVITY)
        # The clock runs from the referral, not from a successful delivery: a bureau's system being down
        # must not hide the deadlines.
        await self.set_limits(on)
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
            {
                "adapter": adapter,
                "accept_due": str(self.accept_due),
                "result_due": str(self.final_due),
                # 暂定 on the row until a calendar import settles them
                "accept_provisional": self.accept_provisional,
                "result_provisional": self.final_provisional,
            },
            f"转介{label}（{start.help_kind}），应于 {self.accept_due} 前签收、{self.final_due} 前反馈结果",
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

    async def count_limits(self, on: date) -> tuple[DeadlineInfo, DeadlineInfo]:
        policy = self.start.policy
        return (
            await working_days(on, policy.referral_accept_working_days),
            await working_days(on, policy.referral_result_working_days),
        )

    def late(self, what: str, due: date | None) -> tuple[str, str]:
        return "转介事项超期", f"{self.start.bureau.label}未在 {due} 前{self.owed[what]}，已上报区民政局"

    # ---- actions: the bureau's, and the information the township supplies -------------------------

    def check_action(self, action: ReferralAction, actor: Actor) -> None:
        view = ReferralView(self.status, self.start.bureau.value, self.start.township_code, self.ready)
        self.check(referral_refusal(action, view, ActorView.of(actor)), actor, self.start.bureau.label)

    def ack(self, key: str) -> ReferralAck:
        return ReferralAck(status=self.status, log_key=key)

    @workflow.update(name=ACCEPT.update)
    async def accept(self, a: ReferralAccept) -> ReferralAck:
        self.move("accepted")
        return self.ack(await self.record(ACCEPT, a.actor, {"note": a.note}, f"{self.start.bureau.label}已签收"))

    @accept.validator
    def _v_accept(self, a: ReferralAccept) -> None:
        self.check_action(ReferralAction.ACCEPT, a.actor)

    @workflow.update(name=REQUEST_INFO.update)
    async def request_info(self, a: ReferralInfoRequest) -> ReferralAck:
        self.move("info_requested")
        key = await self.record(REQUEST_INFO, a.actor, {"question": a.question}, f"需补充信息：{a.question}")
        await self.notify(
            key,
            f"role:township_caseworker@{self.start.township_code}",
            "转介部门需要补充信息",
            f"{self.start.name}（{self.start.help_kind}）：{a.question}",
        )
        return self.ack(key)

    @request_info.validator
    def _v_request_info(self, a: ReferralInfoRequest) -> None:
        self.check_action(ReferralAction.REQUEST_INFO, a.actor)

    @workflow.update(name=SUPPLY_INFO.update)
    async def supply_info(self, a: ReferralInfoSupplied) -> ReferralAck:
        self.move("accepted")
        key = await self.record(SUPPLY_INFO, a.actor, {"info": a.info}, f"已补充信息：{a.info}")
        await self.notify(key, f"bureau:{self.start.bureau.value}", "转介事项已补充信息", a.info)
        return self.ack(key)

    @supply_info.validator
    def _v_supply_info(self, a: ReferralInfoSupplied) -> None:
        self.check_action(ReferralAction.SUPPLY_INFO, a.actor)

    @workflow.update(name=RESULT.update)
    async def report_result(self, a: ReferralResult) -> ReferralAck:
        self.result = a
        self.move("answered")
        await workflow.execute_activity_method(
            FrontDoorContract.record_referral_result, args=[self.subject_id, a], **ACTIVITY
        )
        outcome = {"helped": "已给予帮助", "not_eligible": "不符合条件", "declined": "不予帮助"}[a.outcome]
        money = f"，金额 {a.amount} 元" if a.amount else ""
        key = await self.record(
            RESULT,
            a.actor,
            {"outcome": a.outcome, "help_given": a.help_given, "amount": str(a.amount) if a.amount else None},
            f"{self.start.bureau.label}反馈：{outcome}{money}。{a.help_given}",
        )
        return self.ack(key)

    @report_result.validator
    def _v_result(self, a: ReferralResult) -> None:
        self.check_action(ReferralAction.RESULT, a.actor)

    @workflow.query(name=ReferralNames.STATE)
    def state(self) -> ReferralState:
        return ReferralState(
            referral_id=self.subject_id,
            request_no=self.start.request_no,
            bureau=self.start.bureau,
            need=self.start.need,
            status=self.status,  # type: ignore[arg-type]
            accept_due=self.accept_due,
            result_due=self.final_due,
            accept_provisional=self.accept_provisional,
            result_provisional=self.final_provisional,
            escalations=self.escalations,
            result=self.result,
            log=self.journal.as_log(),
        )
