"""The staff actions on an emergency event (救急难) and who may take them. Pure data and functions.

Each action is one `EmergencySpec` (the shape of rules/actions.py): its name is the API path segment and the
page's form, beside its update on `EmergencyWorkflow`, the kind of its log entry and its label. Who pays is
the tier's own payer, and who may move the event up depends on the tier it is at. `refusal()` is what the
workflow's validators raise, `available_actions()` the forms the event's page shows; the amount of a payment
is checked against the caps by the workflow (rules/caps.py), twice.

Staff related to the household (the review's relatives check: the staff register and the applicant's declared
relatives) may take no action on the event (`recused`), nor register it (`register_refusal`). A person who
received aid within the policy's period has their next event's village payments wait for the township's
approval (`approve_repeat`), where the caps hold per event. 支出型临时救助 is registered at the township.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import partial

from rules.access import within
from rules.actions import (
    APPROVER,
    CASE_STAFF,
    CASEWORKER,
    DISTRICT_OFFICER,
    VILLAGE_CADRE,
    ActionSpec,
    ActorView,
    Refusal,
    available,
    table,
)
from rules.caps import Caps, Grounds, Tier, Totals, may_escalate
from rules.recusal import NAMESAKE_RESOLVERS


class EmergencyAction(StrEnum):
    APPROVE = "approve"
    ESCALATE = "escalate"
    DOCUMENTS = "documents"
    EXEMPT = "exempt"
    CLOSE = "close"
    APPROVE_REPEAT = "approve_repeat"
    RESOLVE_NAMESAKE = "resolve_namesake"


@dataclass(frozen=True)
class EmergencySpec(ActionSpec):
    """An action on an emergency event; where the tier decides who may take it, `by_tier` says who at each."""

    by_tier: Mapping[Tier, frozenset[str]] = field(default_factory=dict, hash=False)
    uses_caps: bool = False  # needs the caps of the event's policy, read when the event is registered

    def roles_at(self, tier: Tier) -> frozenset[str]:
        return self.by_tier.get(tier, self.roles)


OPEN = frozenset({"open"})
EVERY_PAYMENT = "每一笔发放都须补齐材料，或经区民政局书面决定免于补齐"


def _by_tier(
    *, name: EmergencyAction, update: str, kind: str, label: str, by_tier: dict[Tier, frozenset[str]]
) -> EmergencySpec:
    """An action taken at the event's tier, by whom `by_tier` names there; it needs the caps to say when."""
    everyone = frozenset().union(*by_tier.values())
    return EmergencySpec(name, update, kind, label, OPEN, everyone, by_tier=by_tier, uses_caps=True)


ACTIONS: dict[EmergencyAction, EmergencySpec] = table(
    # Each tier pays its own share: the village society, the township, the district.
    _by_tier(
        name=EmergencyAction.APPROVE,
        update="approve_payment",
        kind="payment",
        label="审批发放",
        by_tier={
            Tier.VILLAGE: frozenset({VILLAGE_CADRE}),
            Tier.TOWNSHIP: frozenset({APPROVER}),
            Tier.DISTRICT: frozenset({DISTRICT_OFFICER}),
        },
    ),
    # The village and the township move an event up once their caps are reached; at the district only its
    # officers act (and there is nowhere further to go).
    _by_tier(
        name=EmergencyAction.ESCALATE,
        update="escalate",
        kind="escalated",
        label="申报上一级救助",
        by_tier={
            Tier.VILLAGE: frozenset({VILLAGE_CADRE, CASEWORKER, APPROVER}),
            Tier.TOWNSHIP: frozenset({CASEWORKER, APPROVER}),
            Tier.DISTRICT: frozenset({DISTRICT_OFFICER}),
        },
    ),
    EmergencySpec(
        name=EmergencyAction.DOCUMENTS,
        update="record_documents",
        kind="documents",
        label="补齐材料",
        states=OPEN,
        roles=CASE_STAFF,
    ),
    # Documents not supplied may be waived only by a district officer's written decision (书面决定).
    EmergencySpec(
        name=EmergencyAction.EXEMPT,
        update="exempt_documents",
        kind="documents_exempted",
        label="书面决定免于补齐材料",
        states=OPEN,
        roles=frozenset({DISTRICT_OFFICER}),
    ),
    EmergencySpec(
        name=EmergencyAction.CLOSE, update="close", kind="closed", label="办结", states=OPEN, roles=CASE_STAFF
    ),
    # A second event of a person within the period: the township approves before the village pays.
    EmergencySpec(
        name=EmergencyAction.APPROVE_REPEAT,
        update="approve_repeat",
        kind="repeat_approved",
        label="乡镇审批同意再次救助",
        states=OPEN,
        roles=frozenset({APPROVER}),
    ),
    # A namesake warning of the relatives check, settled as in the review (rules.recusal).
    EmergencySpec(
        name=EmergencyAction.RESOLVE_NAMESAKE,
        update="resolve_namesake",
        kind="namesake_resolved",
        label="核实同名提示",
        states=OPEN,
        roles=NAMESAKE_RESOLVERS,
    ),
)

# Who registers each path: 急难型 the village or the township; 支出型 is applied for at the township.
REGISTRARS = {"urgent": frozenset({VILLAGE_CADRE, CASEWORKER, APPROVER}), "expense": frozenset({CASEWORKER, APPROVER})}
RECUSED = Refusal("recused", "您与求助人家庭存在近亲属关系，依规应当回避，不能办理该急难事件")


@dataclass(frozen=True)
class EventView:
    """What the rules need to know about an event to say who may act on it now."""

    status: str  # open, closed
    tier: Tier  # the tier it is handled at
    place: str  # the household's village
    caps: Caps | None  # the caps of its policy; None while it is being registered
    totals: Totals = field(default_factory=Totals)  # paid at each tier (the workflow: and reserved)
    paid: bool = False  # a payment has been made
    documents_done: bool = False  # every payment's documents supplied or waived
    paying: bool = False  # a payment is in flight
    fund_short: frozenset[Tier] = frozenset()  # tiers whose fund could not pay a payment of this event
    path: str = "urgent"  # urgent (急难型) or expense (支出型: started at the township)
    barred: frozenset[str] = frozenset()  # staff related to the household (user names)
    repeat_pending: bool = False  # the person received aid within the period: the township must approve first
    prior_total: Decimal = Decimal("0")  # what the person received within the period before this event
    namesakes_pending: bool = False  # a namesake warning of the relatives check waits to be settled


def refusal(
    action: EmergencyAction,
    event: EventView,
    actor: ActorView,
    *,
    tier: Tier | None = None,
    grounds: Grounds | None = None,
) -> Refusal | None:
    """The first rule that refuses `actor` taking `action` on `event` now, in the order the workflow checks
    them; `tier` is the tier a payment is approved at (the event's own if not given), `grounds` those an
    escalation names (either, if not given). None if the action may be taken (the amount of a payment is
    checked by the workflow)."""
    spec = ACTIONS[action]
    acting = tier or event.tier
    if spec.uses_caps and event.caps is None:
        return Refusal("not_ready", "事件正在登记，请稍后再试")
    if event.status not in spec.states:
        return Refusal("closed", "该急难事件已办结")
    roles = spec.roles_at(acting)
    if actor.role not in roles:
        return spec.wrong_role(roles, f"{acting.label}{spec.label}" if action is EmergencyAction.APPROVE else "")
    if not within(actor.place_code, event.place):
        return Refusal("out_of_jurisdiction", "该急难事件不在您的辖区内")
    if actor.username in event.barred:
        return RECUSED
    if action is EmergencyAction.RESOLVE_NAMESAKE:
        return None if event.namesakes_pending else Refusal("invalid", "本事件没有待核实的同名提示")
    if action is EmergencyAction.APPROVE_REPEAT:
        return None if event.repeat_pending else Refusal("not_needed", "本事件无需或已经乡镇（街道）审批同意再次救助")
    if action is EmergencyAction.APPROVE and event.repeat_pending and acting is Tier.VILLAGE:
        return Refusal(
            "repeat_needs_township",
            f"该户在统计周期内已获救助 {event.prior_total} 元，本次为再次救助，"
            "须经乡镇（街道）审批同意后方可由村级发放",
        )
    if acting is not event.tier:
        return Refusal("wrong_tier", f"本事件当前在{event.tier.label}办理，不能由{acting.label}发放")
    if action is EmergencyAction.ESCALATE and event.caps is not None:
        short = event.tier in event.fund_short
        expense = event.path == "expense"
        why = may_escalate(
            event.caps, event.totals, event.tier, fund_short=short, grounds=grounds, from_township=expense
        )
        if why:
            return Refusal("cannot_escalate", why)
    if action in (EmergencyAction.DOCUMENTS, EmergencyAction.EXEMPT):
        if not event.paid:
            return Refusal("nothing_paid", "尚未发放救助，无需补齐先行救助材料")
        if event.documents_done:
            return Refusal("documents_complete", "每一笔发放的材料均已补齐或经书面决定免于补齐")
    if action is EmergencyAction.CLOSE and event.paid and not event.documents_done:
        return Refusal("documents_missing", f"先行救助的材料尚未补齐（{EVERY_PAYMENT}），不能办结")
    if action is EmergencyAction.CLOSE and event.paying:
        return Refusal("payment_in_flight", "有救助金正在发放，请稍后再办结")
    return None


# The actions an actor may take on an event now, in the order of `EmergencyAction`: (view, actor) -> actions.
available_actions = partial(available, EmergencyAction, refusal)


def register_refusal(path: str, actor: ActorView, barred: frozenset[str] = frozenset()) -> Refusal | None:
    """Why `actor` may not register an event on `path` for a household from which `barred` are kept away."""
    roles = REGISTRARS[path]
    if actor.role not in roles:
        what = "登记支出型临时救助（向乡镇、街道申请）" if path == "expense" else "登记急难事件"
        return Refusal("wrong_role", f"「{what}」须由{{roles}}办理，您是{{you}}", roles)
    if actor.username in barred:
        return Refusal("recused", "您与求助人家庭存在近亲属关系，依规应当回避，不能登记该急难事件")
    return None
