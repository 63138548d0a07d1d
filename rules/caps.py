"""Emergency-aid tiers (救急难): village society, township and district, with hard caps on the totals.

Seed, section 四.(三).2: the village society pays up to its cap; after the village's cap, the
township adds up to its own cap, village plus township together at most the combined cap; after
that the district's temporary assistance takes over with its own amount and approval. Pure: amounts
are `Decimal` yuan, caps come from the case's policy.

Whether the caps apply to each event or to the person over a period (the last 12 months by default) is the
policy's `caps_per`: per person, what the person received in the period before an event counts against the
event's caps (`counted`). The 支出型 path (large unavoidable expenses) starts at the township, moves to the
district once the township's room is used, and never pays more than the household's own share of the expense.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Protocol


class Tier(StrEnum):
    VILLAGE = "village"
    TOWNSHIP = "township"
    DISTRICT = "district"

    @property
    def label(self) -> str:
        return {"village": "村（社区）救急难互助社", "township": "乡镇（街道）临时救助", "district": "区级临时救助"}[
            self.value
        ]

    @property
    def next(self) -> Tier | None:
        return {Tier.VILLAGE: Tier.TOWNSHIP, Tier.TOWNSHIP: Tier.DISTRICT, Tier.DISTRICT: None}[self]


class CapsPolicy(Protocol):
    """Where the caps are set (`schemas.policy.EmergencyPolicy`)."""

    village_cap: Decimal
    township_cap: Decimal
    village_township_total_cap: Decimal
    caps_per: str  # "event" or "person_period"


@dataclass(frozen=True)
class Caps:
    village: Decimal
    township: Decimal
    village_township: Decimal
    per_person: bool = False  # the caps hold for the person over the period, not for each event

    @classmethod
    def of(cls, policy: CapsPolicy) -> Caps:
        per_person = policy.caps_per == "person_period"
        return cls(policy.village_cap, policy.township_cap, policy.village_township_total_cap, per_person)


@dataclass(frozen=True)
class Totals:
    village: Decimal = Decimal("0")
    township: Decimal = Decimal("0")
    district: Decimal = Decimal("0")

    def of(self, tier: Tier) -> Decimal:
        return getattr(self, tier.value)

    def plus(self, tier: Tier, amount: Decimal) -> Totals:
        values = {t.value: self.of(t) for t in Tier}
        values[tier.value] += amount
        return Totals(**values)

    def add(self, other: Totals) -> Totals:
        return Totals(**{t.value: self.of(t) + other.of(t) for t in Tier})

    @property
    def total(self) -> Decimal:
        return self.village + self.township + self.district


def counted(caps: Caps, totals: Totals, prior: Totals) -> Totals:
    """What the caps are checked against: the event's totals, plus what the person received in the period
    before it where the caps hold per person (`prior`: shown to the approver either way)."""
    return totals.add(prior) if caps.per_person else totals


def period_start(on: date, months: int) -> date:
    """The first day of the period of `months` months that ends on `on`: the same day `months` months before
    (the month's last day where that month is shorter)."""
    year, month = divmod(on.year * 12 + on.month - 1 - months, 12)
    return date(year, month + 1, min(on.day, monthrange(year, month + 1)[1]))


class CapExceeded(ValueError):
    """An amount that would break a cap; the message is for the caller, in Chinese."""


def room(caps: Caps, totals: Totals, tier: Tier) -> Decimal | None:
    """How much more `tier` may still pay for this event (None: no cap, the district decides)."""
    if tier is Tier.VILLAGE:
        return max(caps.village - totals.village, Decimal("0"))
    if tier is Tier.TOWNSHIP:
        combined = caps.village_township - totals.village - totals.township
        return max(min(caps.township - totals.township, combined), Decimal("0"))
    return None


def check_payment(caps: Caps, totals: Totals, tier: Tier, amount: Decimal) -> None:
    """`totals` as `counted` gives them: per person, with what the person received in the period before."""
    if amount <= 0:
        raise CapExceeded("救助金额必须大于 0")
    left = room(caps, totals, tier)
    if left is not None and amount > left:
        nxt = tier.next
        hint = f"；超出部分请申报{nxt.label}" if nxt else ""
        scope = "本人周期内" if caps.per_person else "本次事件"
        raise CapExceeded(
            f"{tier.label}{scope}累计封顶，已发放 {totals.of(tier)} 元，还可发放 {left} 元，申请 {amount} 元超出{hint}"
        )


def check_expense(self_paid: Decimal, paid: Decimal, amount: Decimal) -> None:
    """支出型临时救助: all tiers together pay at most the household's own share of the expense (`self_paid`)."""
    if paid + amount > self_paid:
        left = max(self_paid - paid, Decimal("0"))
        raise CapExceeded(
            f"支出型临时救助累计不得超过家庭自付的刚性支出 {self_paid} 元（已发放 {paid} 元，还可发放 {left} 元）"
        )


def per_capita_after_expense(income_12m: Decimal, self_paid: Decimal, members: int) -> Decimal:
    """The household's monthly income per person once its own share of the expense is paid (may be negative):
    the evidence of a 支出型 hardship the approver weighs."""
    return ((income_12m - self_paid) / 12 / members).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class Grounds(StrEnum):
    """Why an event moves up a tier: its tier's cap is reached, or its tier's fund could not pay."""

    CAP_REACHED = "cap_reached"
    FUND_INSUFFICIENT = "fund_insufficient"


def may_escalate(
    caps: Caps,
    totals: Totals,
    current: Tier,
    *,
    fund_short: bool = False,
    grounds: Grounds | None = None,
    from_township: bool = False,
) -> str | None:
    """None if the event may move up from `current`; else the Chinese reason it may not.

    An event moves up once its tier's cap is reached, or (`fund_short`: a payment of this event was refused
    because the tier's fund could not pay it) when the tier's fund is short: the household is not left
    without help because a village society ran out of money. `grounds`, if given, is the one the caller
    names; else either will do. `from_township`: the event started at the township (支出型临时救助), which moves
    up once its own room is used."""
    if current is Tier.DISTRICT:
        return "已在区级临时救助，无法再上报"
    if grounds is Grounds.FUND_INSUFFICIENT and not fund_short:
        return f"{current.label}资金尚未出现不足（本事件没有因资金不足被拒绝的发放），不能以资金不足为由申报"
    if fund_short and grounds is not Grounds.CAP_REACHED:
        return None
    if current is Tier.VILLAGE and totals.village < caps.village:
        return f"村级互助社累计救助达到 {caps.village} 元后，方可申报乡镇临时救助（已发放 {totals.village} 元）"
    if current is Tier.TOWNSHIP and from_township:
        left = room(caps, totals, Tier.TOWNSHIP)
        if left:
            return f"乡镇临时救助还可发放 {left} 元，达到封顶后方可申报区级临时救助（已发放 {totals.township} 元）"
        return None
    if current is Tier.TOWNSHIP and totals.village + totals.township < caps.village_township:
        done = totals.village + totals.township
        return f"村、乡两级累计救助达到 {caps.village_township} 元后，方可申报区级临时救助（已发放 {done} 元）"
    return None


def grounds_of(caps: Caps, totals: Totals, current: Tier, *, from_township: bool = False) -> Grounds:
    """The grounds an allowed escalation is recorded with: the cap if it is reached, else the fund."""
    reached = may_escalate(caps, totals, current, grounds=Grounds.CAP_REACHED, from_township=from_township) is None
    return Grounds.CAP_REACHED if reached else Grounds.FUND_INSUFFICIENT
