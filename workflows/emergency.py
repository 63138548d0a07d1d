"""Emergency aid (救急难): help first, paperwork after, within the tiers' hard caps.

One workflow per emergency event of a household. Payments are updates: the validator refuses what
is plainly wrong (role, tier, cap), and the handler checks the cap again and reserves the amount
before its first await, so two approvals racing past a cap cannot both pass. The payment key is
generated here, so a retried or replayed payment activity never pays twice.

The person's earlier aid, the one open event per person and the township's approval of a repeat are in
`workflows/emergency_person.py`; the relatives check (recusal) in `workflows/emergency_relatives.py`.
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import ACTIVITY, refuse, refused, today
from workflows.documents import RecordsDocuments
from workflows.emergency_clock import EmergencyClocks
from workflows.emergency_person import (
    ONE_OPEN_EVENT_PER_PERSON,
    EmergencyPerson,
    first_tier,
    registered_summary,
)
from workflows.emergency_relatives import EmergencyRelatives
from workflows.journal import Entry, Journal

with workflow.unsafe.imports_passed_through():
    from rules.actions import ActorView
    from rules.caps import CapExceeded, Grounds, Tier, Totals, check_expense, check_payment, grounds_of
    from rules.emergency_actions import ACTIONS, EmergencyAction, EventView, refusal
    from schemas.contracts import EmergencyContract
    from schemas.emergency import (
        CloseEvent,
        EmergencyAck,
        EmergencyLogIn,
        EmergencyNames,
        EmergencyStart,
        EmergencyState,
        Escalation,
        OpenEmergencyIn,
        PaymentApproval,
        PaymentIn,
        PaymentRecord,
        PriorAid,
    )
    from schemas.policy import CALENDAR_CHANGED, EmergencyPolicy
    from schemas.relatives import FiledRelative, Namesake, RelativesMatch
    from schemas.staff import Actor

# The actions' specs, whose update names and log kinds the handlers below use.
APPROVE, ESCALATE = ACTIONS[EmergencyAction.APPROVE], ACTIONS[EmergencyAction.ESCALATE]
CLOSE = ACTIONS[EmergencyAction.CLOSE]
# A payment refused for funds gives its number back (events started before numbered on past it).
REFUSAL_LEAVES_NO_TRACE = "emergency-refusal-leaves-no-trace"


@workflow.defn(name=EmergencyNames.WORKFLOW)
class EmergencyWorkflow(EmergencyClocks, EmergencyPerson, EmergencyRelatives, RecordsDocuments):
    @workflow.init
    def __init__(self, start: EmergencyStart) -> None:
        self.journal = Journal(self.write)
        self.start = start
        self.event_id = start.event_id
        self.policy: EmergencyPolicy | None = None
        self.tier = first_tier(start)
        self.totals = Totals()  # paid plus reserved by payments in flight
        self.payments: list[PaymentRecord] = []
        self.status = "open"
        self.pay_seq = 0  # payment numbers given out (a refused payment gives its number back if it was the last)
        self.in_flight = 0  # payments being made now
        self.fund_short: set[Tier] = set()  # tiers whose fund could not pay a payment of this event
        self.init_clocks()  # the payment and documentation clocks (workflows/emergency_clock.py)
        self.prior: PriorAid | None = None  # what the person received in the period before this event
        self.repeat_pending = False  # a repeat within the period waits for the township's approval
        self.duplicate_of: str | None = None  # the person's open event: this registration is that event
        self.barred: dict[str, RelativesMatch] = {}  # staff related to the household
        self.namesakes: list[Namesake] = []
        self.relatives_filed: list[FiledRelative] = []

    @workflow.run
    async def run(self, start: EmergencyStart) -> EmergencyState:
        self.start_clocks()
        registered_at = workflow.now()
        opened = await workflow.execute_activity_method(
            EmergencyContract.open_emergency,
            OpenEmergencyIn(start=start, registered_at=registered_at, registered_on=today()),
            **ACTIVITY,
        )
        if opened.duplicate_of is not None and workflow.patched(ONE_OPEN_EVENT_PER_PERSON):
            self.duplicate_of, self.status = opened.duplicate_of, "closed"  # nothing registered: the other event
            return self.state()
        relatives = await self.check_relatives()
        self.policy = opened.policy
        self.promise_from(opened.policy, registered_at)
        registered = {
            "kind": start.kind.value,
            "description": start.description,
            "channel": start.channel,
            "policy_version": opened.policy_version,
        }
        if start.expense is not None:
            registered |= {"path": start.path.value, "expense": start.expense.model_dump(mode="json")}
        self.journal.note("registered", start.registered_by, registered, registered_summary(start))
        self.note_prior(opened.prior, opened.policy)
        self.note_relatives(relatives)
        await self.journal.persist()
        await self.clock.run(lambda: self.status != "open", self.next_due, self.fire)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    @workflow.signal(name=CALENDAR_CHANGED)
    def on_calendar_changed(self) -> None:
        """A calendar import changed the working days: the documentation deadlines are counted again."""
        self.calendar_changed()

    # ---- actions ---------------------------------------------------------------------------------

    def check(
        self, action: EmergencyAction, actor: Actor, tier: Tier | None = None, grounds: Grounds | None = None
    ) -> None:
        """Refuse at once what the rules of `rules.emergency_actions` refuse, with their code and Chinese reason."""
        why = refusal(action, self.view(), ActorView.of(actor), tier=tier, grounds=grounds)
        if why is not None:
            raise refused(why, actor)

    def view(self) -> EventView:
        return EventView(
            status=self.status,
            tier=self.tier,
            place=self.start.household.village_code,
            caps=self.caps,
            totals=self.counted() if self.caps is not None else self.totals,
            paid=bool(self.payments),
            documents_done=self.documents_done,
            paying=self.in_flight > 0,
            fund_short=frozenset(self.fund_short),
            path=self.start.path.value,
            barred=frozenset(self.barred),
            repeat_pending=self.repeat_pending,
            prior_total=self.prior.total if self.prior else Decimal("0"),
            namesakes_pending=any(n.resolution == "pending" for n in self.namesakes),
        )

    def check_cap(self, tier: Tier, amount: Decimal) -> None:
        assert self.caps is not None
        try:
            check_payment(self.caps, self.counted(), tier, amount)
            if self.start.expense is not None:
                check_expense(self.start.expense.self_paid, self.totals.total, amount)
        except CapExceeded as e:
            raise refuse("cap_exceeded", str(e)) from None

    @workflow.update(name=APPROVE.update)
    async def approve_payment(self, a: PaymentApproval) -> EmergencyAck:
        tier = Tier(a.tier)
        self.check_cap(tier, a.amount)  # again: another approval may have been accepted meanwhile
        self.totals = self.totals.plus(tier, a.amount)
        self.pay_seq += 1
        seq = self.pay_seq
        key = f"{self.event_id}-pay-{seq:03d}"
        hh = self.start.household
        fund_place = {
            Tier.VILLAGE: hh.village_code,
            Tier.TOWNSHIP: hh.township_code,
            Tier.DISTRICT: hh.township_code[:6],
        }[tier]
        approved_at = workflow.now()
        self.in_flight += 1
        try:
            out = await workflow.execute_activity_method(
                EmergencyContract.pay,
                PaymentIn(
                    payment_key=key,
                    event_id=self.event_id,
                    tier=tier.value,
                    fund_place=fund_place,
                    amount=a.amount,
                    approved_by=a.actor.username,
                    approved_at=approved_at,
                    payee_name=hh.name,
                    payee_id_number=hh.id_number,
                    note=a.note,
                ),
                **ACTIVITY,
            )
        except ActivityError as e:
            self.totals = self.totals.plus(tier, -a.amount)
            cause = e.cause
            if isinstance(cause, ApplicationError) and cause.type in ("fund_insufficient", "no_fund"):
                # nothing was paid: no trace in the counters, and the tier may now escalate for want of funds
                if workflow.patched(REFUSAL_LEAVES_NO_TRACE):
                    if self.pay_seq == seq:
                        self.pay_seq -= 1
                    if cause.type == "fund_insufficient":
                        self.fund_short.add(tier)
                raise refuse(cause.type, cause.message) from None
            raise
        finally:
            self.in_flight -= 1
        self.fund_short.discard(tier)
        record = PaymentRecord(
            payment_key=key,
            tier=tier.value,
            amount=a.amount,
            fund_code=out.fund_code,
            approved_by=a.actor.username,
            approved_at=approved_at,
            transfer_ref=out.transfer_ref,
        )
        self.payments.append(record)
        owed = await self.open_documentation(record)  # its own documentation deadline (workflows/emergency_clock.py)
        due = owed.due or self.documentation_due
        log_key = await self.journal.record(
            APPROVE.kind,
            a.actor,
            {"payment_key": key, "tier": tier.value, "amount": str(a.amount), "fund": out.fund_code, "note": a.note},
            f"{tier.label}发放 {a.amount} 元（累计 {self.total} 元）；材料应于 {due} 前补齐",
        )
        return self.ack(log_key, key)

    @approve_payment.validator
    def _v_approve(self, a: PaymentApproval) -> None:
        tier = Tier(a.tier)
        self.check(EmergencyAction.APPROVE, a.actor, tier)
        self.check_cap(tier, a.amount)

    @workflow.update(name=ESCALATE.update)
    async def escalate(self, a: Escalation) -> EmergencyAck:
        nxt = self.tier.next
        assert nxt is not None and self.caps is not None
        expense = self.start.expense is not None
        grounds = (
            Grounds(a.grounds) if a.grounds else grounds_of(self.caps, self.counted(), self.tier, from_township=expense)
        )
        short = "（本级资金不足）" if grounds is Grounds.FUND_INSUFFICIENT else ""
        self.tier = nxt
        key = await self.journal.record(
            ESCALATE.kind,
            a.actor,
            {"to": nxt.value, "reason": a.reason, "grounds": grounds.value},
            f"申报{nxt.label}{short}：{a.reason}",
        )
        return self.ack(key)

    @escalate.validator
    def _v_escalate(self, a: Escalation) -> None:
        self.check(EmergencyAction.ESCALATE, a.actor, grounds=Grounds(a.grounds) if a.grounds else None)

    @workflow.update(name=CLOSE.update)
    async def close(self, a: CloseEvent) -> EmergencyAck:
        self.status = "closed"
        self.clock.replan()
        summary = f"办结：{a.summary}（累计救助 {self.total} 元）"
        key = await self.journal.record(CLOSE.kind, a.actor, {"summary": a.summary}, summary)
        return self.ack(key)

    @close.validator
    def _v_close(self, a: CloseEvent) -> None:
        self.check(EmergencyAction.CLOSE, a.actor)

    # ---- state ---------------------------------------------------------------------------------

    def accepts_documents(self) -> bool:
        return self.status == "open" and self.duplicate_of is None

    @property
    def total(self) -> Decimal:
        return self.totals.village + self.totals.township + self.totals.district

    @workflow.query(name=EmergencyNames.STATE)
    def state(self) -> EmergencyState:
        hh = self.start.household
        return EmergencyState(
            event_id=self.event_id,
            kind=self.start.kind,
            household_name=hh.name,
            township_code=hh.township_code,
            village_code=hh.village_code,
            tier=self.tier.value,
            status=self.status,  # type: ignore[arg-type]
            village_total=self.totals.village,
            township_total=self.totals.township,
            district_total=self.totals.district,
            total=self.total,
            payments=self.payments,
            documentation_due=self.documentation_due,
            documents_done=self.documents_done,
            documentation_overdue=self.documentation_overdue,
            log=self.journal.as_log(),
            fund_short=sorted(t.value for t in self.fund_short),
            documentation=self.documentation,
            payment_promise=self.promise,
            path=self.start.path,
            expense=self.start.expense,
            members=hh.members,
            prior=self.prior,
            repeat_pending=self.repeat_pending,
            barred_staff=sorted(self.barred),
            namesakes=self.namesakes,
            relatives_filed=self.relatives_filed,
            duplicate_of=self.duplicate_of,
        )

    def ack(self, log_key: str, payment_key: str | None = None) -> EmergencyAck:
        return EmergencyAck(tier=self.tier.value, total=self.total, log_key=log_key, payment_key=payment_key)

    async def write(self, entry: Entry) -> None:
        """Write one log entry, with the event row's summary as it is now."""
        await workflow.execute_activity_method(
            EmergencyContract.log_emergency,
            EmergencyLogIn(
                event_id=self.event_id,
                log_key=entry.key,
                kind=entry.kind,
                actor=entry.actor,
                payload=entry.payload | {"summary": entry.summary},
                occurred_at=entry.at,
                tier=self.tier.value,
                status=self.status,  # type: ignore[arg-type]
                village_total=self.paid(Tier.VILLAGE),
                township_total=self.paid(Tier.TOWNSHIP),
                district_total=self.paid(Tier.DISTRICT),
                documentation_due=self.documentation_due,
                documents_done=self.documents_done,
                documentation_overdue=self.documentation_overdue,
                documentation=self.documentation,
                payment_due=self.promise.due_at if self.promise else None,
                first_paid_at=self.promise.first_paid_at if self.promise else None,
                payment_overdue=self.promise.overdue if self.promise else False,
                payment_escalated_to=self.promise.escalated_to if self.promise else None,
            ),
            **ACTIVITY,
        )

    def paid(self, tier: Tier) -> Decimal:
        """Money actually paid (the totals also hold amounts reserved by payments in flight)."""
        return sum((p.amount for p in self.payments if p.tier == tier.value), Decimal("0"))
