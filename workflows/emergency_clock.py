"""The clocks of an emergency event after its registration (a mixin of `EmergencyWorkflow`).

- **The 24-hour promise** (policy `payment_hours`): from registration to the first payment. At half-time the
  payer of the event's tier is reminded; when it passes, the event is escalated to the township (its approvers
  are told, and the district's overdue list shows it), and `payment_district_hours` later, still unpaid, to the
  district's officers. The first payment stops it.
- **Documents after every payment** (先行救助，事后补齐): each payment opens its own deadline, `documentation_
  working_days` (5) statutory working days after the day it was paid, with a reminder to the township's
  caseworkers at `documentation_reminder_days_left` and an escalation to the district at the close of its last
  day. The event closes only when every payment is documented or waived by a district officer's written
  decision (免于补齐材料).

One `RescheduledTimer` waits for whichever comes first. Events registered before these clocks (no patch marker
in their history) keep the old ones: no payment clock, and only their first payment has a deadline; their later
payments must still be documented (or waived) before they close, which the validators alone decide.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from temporalio import workflow

from workflows.common import CALENDAR_UPDATED, RescheduledTimer, notify, recounted, refuse, remind_at, working_days
from workflows.journal import Journal

with workflow.unsafe.imports_passed_through():
    from rules.caps import Tier
    from rules.clock import BEIJING, beijing_date, end_of
    from rules.emergency_actions import ACTIONS, EmergencyAction
    from schemas.emergency import (
        DocumentationExemption,
        DocumentsRecorded,
        EmergencyAck,
        EmergencyStart,
        PaymentDocumentation,
        PaymentPromise,
        PaymentRecord,
    )
    from schemas.policy import EmergencyPolicy
    from schemas.review import NotificationIn
    from schemas.staff import Actor

DOCUMENTS, EXEMPT = ACTIONS[EmergencyAction.DOCUMENTS], ACTIONS[EmergencyAction.EXEMPT]
# Patches, both taken once at the start of `run`: an event registered before them keeps its old clocks.
DOCUMENTS_PER_PAYMENT = "emergency-documents-per-payment"
PAYMENT_PROMISE = "emergency-payment-promise"

Due = tuple[str, str | None]  # what is due (the kind of its log entry), and for which payment


def _at(t: datetime) -> str:
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


class EmergencyClocks:
    """The payment and documentation clocks; the workflow calls `init_clocks` in its `__init__`, `start_clocks`
    first thing in `run`, `promise_from(policy)` once the policy is read, then runs `self.clock` until it closes,
    and `open_documentation` after each payment."""

    # What the workflow has (see `EmergencyWorkflow`).
    start: EmergencyStart
    event_id: str
    policy: EmergencyPolicy | None
    status: str
    tier: Tier
    journal: Journal

    def check(self, action: EmergencyAction, actor: Actor) -> None: ...
    def ack(self, log_key: str, payment_key: str | None = None) -> EmergencyAck: ...

    def init_clocks(self) -> None:
        self.documentation: list[PaymentDocumentation] = []
        self.promise: PaymentPromise | None = None
        self.promised = False  # the payment clock runs (events registered since it exists)
        self.each_payment_documented = False  # every payment has its own deadline (idem)
        self.clock = RescheduledTimer()
        self.recompute_requested = False  # a calendar import changed the working days

    def start_clocks(self) -> None:
        self.each_payment_documented = workflow.patched(DOCUMENTS_PER_PAYMENT)
        self.promised = workflow.patched(PAYMENT_PROMISE)

    def promise_from(self, policy: EmergencyPolicy, registered_at: datetime) -> None:
        if not self.promised:
            return
        hours = timedelta(hours=policy.payment_hours)
        self.promise = PaymentPromise(
            registered_at=registered_at,
            due_at=registered_at + hours,
            remind_at=registered_at + hours / 2,
            district_at=registered_at + hours + timedelta(hours=policy.payment_district_hours),
        )

    # ---- after each payment -------------------------------------------------------------------------------

    async def open_documentation(self, record: PaymentRecord) -> PaymentDocumentation:
        """The payment's documents are owed from now: its deadline (none of its own for a later payment of an
        event registered before each had one). The first payment keeps the 24-hour promise."""
        paid_at = workflow.now()
        if self.promise is not None and self.promise.first_paid_at is None:
            self.promise.first_paid_at = paid_at
        owed = PaymentDocumentation(
            payment_key=record.payment_key, tier=record.tier, amount=record.amount, paid_at=paid_at
        )
        earlier = any(d.due is not None for d in self.documentation)
        self.documentation.append(owed)
        if earlier and not self.each_payment_documented:
            return owed
        assert self.policy is not None
        days_left = self.policy.documentation_reminder_days_left
        info = await working_days(beijing_date(paid_at), self.policy.documentation_working_days, reminders=[days_left])
        owed.due, owed.remind_on = info.deadline, info.reminder_days[days_left]
        owed.provisional = info.provisional
        self.clock.replan()
        return owed

    def calendar_changed(self) -> None:
        self.recompute_requested = True
        self.clock.replan()

    async def recompute_documentation(self) -> None:
        """The calendar changed: each open documentation deadline not yet passed is counted again; a moved one
        (or one no longer provisional) is noted in the event's log."""
        self.recompute_requested = False
        assert self.policy is not None
        days_left = self.policy.documentation_reminder_days_left
        for d in self.documentation:
            if d.due is None or not d.outstanding or d.overdue:
                continue
            info = await working_days(
                beijing_date(d.paid_at), self.policy.documentation_working_days, reminders=[days_left]
            )
            was, now = (d.due, d.provisional), (info.deadline, info.provisional)
            if now == was:
                continue
            d.due, d.provisional = now
            if not d.reminded:
                d.remind_on = info.reminder_days[days_left]
            n = self.documentation.index(d) + 1
            self.journal.note(
                "documentation_recomputed",
                None,
                {"payment_key": d.payment_key, "due": str(d.due), "provisional": d.provisional},
                CALENDAR_UPDATED + recounted(f"第 {n} 笔发放的材料补齐期限", was, now),
            )
        await self.journal.persist()
        self.clock.replan()

    @property
    def documents_done(self) -> bool:
        """Every payment documented or waived (False before the first)."""
        return bool(self.documentation) and not any(d.outstanding for d in self.documentation)

    @property
    def documentation_due(self) -> date | None:
        """The nearest deadline still open; once none is, the last there was."""
        open_ = [d.due for d in self.documentation if d.due is not None and d.outstanding]
        every = [d.due for d in self.documentation if d.due is not None]
        return min(open_) if open_ else max(every) if every else None

    @property
    def documentation_overdue(self) -> bool:
        return any(d.overdue and d.outstanding for d in self.documentation)

    # ---- the timer -----------------------------------------------------------------------------------------

    def next_due(self) -> tuple[datetime, Due] | None:
        if self.recompute_requested and self.policy is not None:
            return workflow.now(), ("recompute", None)
        due: list[tuple[datetime, Due]] = []
        p = self.promise
        if p is not None and p.first_paid_at is None:
            if not p.reminded:
                due.append((p.remind_at, ("payment_reminder", None)))
            elif p.escalated_to is None:
                due.append((p.due_at, ("payment_overdue", None)))
            elif p.escalated_to == "township":
                due.append((p.district_at, ("payment_escalated", None)))
        for d in self.documentation:
            if d.due is None or not d.outstanding:
                continue
            if not d.reminded and d.remind_on is not None:
                due.append((remind_at(d.remind_on), ("documentation_reminder", d.payment_key)))
            elif not d.overdue:
                due.append((end_of(d.due), ("documentation_overdue", d.payment_key)))
        return min(due, key=lambda t: t[0]) if due else None

    async def fire(self, due: Due) -> None:
        kind, payment_key = due
        if kind == "recompute":
            await self.recompute_documentation()
            return
        if payment_key is None and (self.promise is None or self.promise.first_paid_at is not None):
            return  # paid as the time came
        if payment_key is None:
            subject, (text, audience, payload) = "救急难发放时限提醒", self._promise_fires(kind)
        else:
            subject, (text, audience, payload) = "救急难材料补齐提醒", self._documentation_fires(kind, payment_key)
        key = self.journal.note(kind, None, payload, text)
        await self.journal.persist()
        await notify(
            NotificationIn(
                idempotency_key=f"{self.event_id}-{key}",
                case_id=None,
                audience=audience,
                kind=f"emergency-{kind.replace('_', '-')}",
                subject=subject,
                body=f"{self.start.household.name}（{self.event_id}）：{text}",
            )
        )

    def _documentation_fires(self, kind: str, payment_key: str) -> tuple[str, str, dict]:
        """The documentation clock of a payment: what it says, to whom, and the log entry's payload."""
        owed, township = self.owed_payment(payment_key), self.start.household.township_code
        n = self.documentation.index(owed) + 1
        which = f"第 {n} 笔发放（{Tier(owed.tier).label} {owed.amount} 元）的先行救助材料"
        payload = {"due": str(owed.due), "payment_key": payment_key}
        if kind == "documentation_reminder":
            owed.reminded = True
            return f"{which}应于 {owed.due} 前补齐，请及时办理", f"role:township_caseworker@{township}", payload
        owed.overdue = True
        text = f"{which}逾期未补齐（应于 {owed.due} 前），已上报区民政局"
        return text, f"role:district_officer@{township[:6]}", payload

    def _promise_fires(self, kind: str) -> tuple[str, str, dict]:
        """The payment clock: what it says, to whom, and the log entry's payload."""
        p, policy, hh = self.promise, self.policy, self.start.household
        assert p is not None and policy is not None
        due = _at(p.due_at)
        payload = {"due_at": p.due_at.astimezone(BEIJING).isoformat()}
        if kind == "payment_reminder":
            p.reminded = True
            payer = {
                Tier.VILLAGE: f"role:village_cadre@{hh.village_code}",
                Tier.TOWNSHIP: f"role:township_approver@{hh.township_code}",
                Tier.DISTRICT: f"role:district_officer@{hh.township_code[:6]}",
            }[self.tier]
            return f"登记已过 {policy.payment_hours / 2:g} 小时尚未发放救助金，应于 {due} 前发放", payer, payload
        if kind == "payment_overdue":
            p.escalated_to = "township"
            text = f"登记已满 {policy.payment_hours} 小时仍未发放救助金（应于 {due} 前），已上报乡镇（街道）"
            return text, f"role:township_approver@{hh.township_code}", payload
        p.escalated_to = "district"
        hours = policy.payment_district_hours
        text = f"超过发放时限 {hours} 小时仍未发放救助金（应于 {due} 前），已上报区民政局"
        return text, f"role:district_officer@{hh.township_code[:6]}", payload

    # ---- documents supplied or waived --------------------------------------------------------------------

    def owed_payment(self, payment_key: str) -> PaymentDocumentation:
        return next(d for d in self.documentation if d.payment_key == payment_key)

    def owed(self, payment_key: str | None) -> list[PaymentDocumentation]:
        """The payment named, or every payment whose documents are still owed."""
        if payment_key is not None:
            return [self.owed_payment(payment_key)]
        return [d for d in self.documentation if d.outstanding]

    def check_owed(self, payment_key: str | None) -> None:
        if payment_key is None:
            return
        found = next((d for d in self.documentation if d.payment_key == payment_key), None)
        if found is None:
            raise refuse("unknown_payment", f"本事件没有编号为 {payment_key} 的发放")
        if not found.outstanding:
            raise refuse("documents_complete", f"发放 {payment_key} 的材料已补齐或已免于补齐")

    async def settle(
        self, kind: str, actor: Actor, payment_key: str | None, payload: dict, summary: str, **marks: object
    ) -> EmergencyAck:
        """The documents of the payment named (of every payment owing them if none) supplied or waived: `marks`
        set on each, the clock planned again, the entry `kind` logged with the payments it settled."""
        settled = self.owed(payment_key)
        for d in settled:
            for field, value in marks.items():
                setattr(d, field, value)
        self.clock.replan()
        keys = [d.payment_key for d in settled]
        key = self.journal.note(kind, actor, payload | {"payments": keys}, f"{summary}（{'、'.join(keys) or '—'}）")
        await self.journal.persist()
        return self.ack(key)

    @workflow.update(name=DOCUMENTS.update)
    async def record_documents(self, a: DocumentsRecorded) -> EmergencyAck:
        payload, summary = {"items": a.items, "note": a.note}, "补齐材料：" + "、".join(a.items)
        by = {"documented_at": workflow.now(), "documented_by": a.actor.username}
        return await self.settle(DOCUMENTS.kind, a.actor, a.payment_key, payload, summary, **by)

    @record_documents.validator
    def _v_documents(self, a: DocumentsRecorded) -> None:
        self.check(EmergencyAction.DOCUMENTS, a.actor)
        self.check_owed(a.payment_key)

    @workflow.update(name=EXEMPT.update)
    async def exempt_documents(self, a: DocumentationExemption) -> EmergencyAck:
        payload = {"decision_no": a.decision_no, "reason": a.reason}
        summary = f"区民政局书面决定（{a.decision_no}）免于补齐材料：{a.reason}"
        by = {"exempted_at": workflow.now(), "exempted_by": a.actor.username, "exemption_no": a.decision_no}
        return await self.settle(EXEMPT.kind, a.actor, a.payment_key, payload, summary, **by)

    @exempt_documents.validator
    def _v_exempt(self, a: DocumentationExemption) -> None:
        self.check(EmergencyAction.EXEMPT, a.actor)
        self.check_owed(a.payment_key)
