"""One person's emergency aid across events (issue 15, point 2): what the person received in the policy's
period before an event, shown to whoever approves and counted against the caps where they hold per person
(`EmergencyPolicy.caps_per`); and, where they hold per event, the township's approval of a second event within
the period before the village pays (`approve_repeat`).

A person has at most one open event: the registration activity does not register a second one (`duplicate_of`);
the workflow of such a registration ends at once, and the web app answers with the open event.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows.journal import Journal

with workflow.unsafe.imports_passed_through():
    from rules.caps import Caps, Tier, Totals, counted
    from rules.emergency_actions import ACTIONS, EmergencyAction
    from schemas.emergency import EmergencyAck, EmergencyPath, EmergencyStart, PriorAid, RepeatApproval
    from schemas.policy import EmergencyPolicy

if TYPE_CHECKING:
    from collections.abc import Callable

REPEAT = ACTIONS[EmergencyAction.APPROVE_REPEAT]
# Registrations that find the person's open event end at once, registering nothing (the activity's answer).
ONE_OPEN_EVENT_PER_PERSON = "emergency-one-open-event-per-person"


class EmergencyPerson:
    """The person's earlier aid and the township's approval of a repeat, for `EmergencyWorkflow`."""

    start: EmergencyStart
    policy: EmergencyPolicy | None
    journal: Journal
    totals: Totals
    prior: PriorAid | None
    repeat_pending: bool
    ack: Callable[..., EmergencyAck]
    check: Callable[..., None]

    @property
    def caps(self) -> Caps | None:
        """The caps of the event's policy, once it has been read."""
        return Caps.of(self.policy) if self.policy is not None else None

    @property
    def prior_totals(self) -> Totals:
        p = self.prior
        return Totals() if p is None else Totals(village=p.village, township=p.township, district=p.district)

    def counted(self) -> Totals:
        """What the caps are checked against: per person, with what the person received in the period before."""
        assert self.caps is not None
        return counted(self.caps, self.totals, self.prior_totals)

    def note_prior(self, prior: PriorAid | None, policy: EmergencyPolicy) -> None:
        """Keep what the person received in the period before, and whether the township must approve first."""
        self.prior = prior
        if prior is None or not prior.events:
            return
        self.repeat_pending = (
            policy.repeat_needs_township
            and policy.caps_per == "event"
            and prior.total > 0
            and self.start.path is EmergencyPath.URGENT
        )
        events = "、".join(f"{e.event_id}（{e.total} 元）" for e in prior.events)
        text = (
            f"本户（申请人及登记的家庭成员） {prior.since} 以来已获救助 {prior.total} 元"
            f"（村级 {prior.village} 元、乡镇 {prior.township} 元、"
            f"区级 {prior.district} 元；事件 {events}）"
        )
        if policy.caps_per == "person_period":
            text += "；按本户周期内累计封顶"
        if self.repeat_pending:
            text += "；本次为再次救助，须经乡镇（街道）审批同意后方可由村级发放"
        payload = prior.model_dump(mode="json") | {"repeat_pending": self.repeat_pending, "caps_per": policy.caps_per}
        self.journal.note("prior_aid", None, payload, text)

    @workflow.update(name=REPEAT.update)
    async def approve_repeat(self, a: RepeatApproval) -> EmergencyAck:
        self.repeat_pending = False
        total = self.prior.total if self.prior else Decimal("0")
        key = self.journal.note(
            REPEAT.kind, a.actor, {"note": a.note}, f"乡镇审批同意再次救助（周期内已获 {total} 元）：{a.note}"
        )
        await self.journal.persist()
        return self.ack(key)

    @approve_repeat.validator
    def _v_approve_repeat(self, a: RepeatApproval) -> None:
        self.check(EmergencyAction.APPROVE_REPEAT, a.actor)


def first_tier(start: EmergencyStart) -> Tier:
    """Where an event starts: 支出型 at the township (applied for there), 急难型 at the village society."""
    return Tier.TOWNSHIP if start.path is EmergencyPath.EXPENSE else Tier.VILLAGE


def registered_summary(start: EmergencyStart) -> str:
    hh = start.household
    if start.expense is None:
        return f"登记急难事件（{start.kind.label}）：{hh.name}，{start.description}"
    x = start.expense
    return (
        f"登记支出型临时救助（{x.kind.label}）：{hh.name}，近 12 个月{x.kind.label} {x.expense} 元，"
        f"已报销或已获救助 {x.covered} 元，自付 {x.self_paid} 元；家庭近 12 个月收入 {x.income_12m} 元；"
        f"{start.description}"
    )
