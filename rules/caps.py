"""Emergency-aid tiers (救急难): village society, township and district, with hard caps on the totals.

Seed, section 四.(三).2: the village society pays up to its cap; after the village's cap, the
township adds up to its own cap, village plus township together at most the combined cap; after
that the district's temporary assistance takes over with its own amount and approval. Pure: amounts
are `Decimal` yuan, caps come from the case's policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
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


@dataclass(frozen=True)
class Caps:
    village: Decimal
    township: Decimal
    village_township: Decimal

    @classmethod
    def of(cls, policy: CapsPolicy) -> Caps:
        return cls(policy.village_cap, policy.township_cap, policy.village_township_total_cap)


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
    if amount <= 0:
        raise CapExceeded("救助金额必须大于 0")
    left = room(caps, totals, tier)
    if left is not None and amount > left:
        nxt = tier.next
        hint = f"；超出部分请申报{nxt.label}" if nxt else ""
        raise CapExceeded(
            f"{tier.label}本次事件累计封顶，已发放 {totals.of(tier)} 元，还可发放 {left} 元，申请 {amount} 元超出{hint}"
        )


def may_escalate(caps: Caps, totals: Totals, current: Tier) -> str | None:
    """None if the event may move up from `current`; else the Chinese reason it may not."""
    if current is Tier.VILLAGE and totals.village < caps.village:
        return f"村级互助社累计救助达到 {caps.village} 元后，方可申报乡镇临时救助（已发放 {totals.village} 元）"
    if current is Tier.TOWNSHIP and totals.village + totals.township < caps.village_township:
        done = totals.village + totals.township
        return f"村、乡两级累计救助达到 {caps.village_township} 元后，方可申报区级临时救助（已发放 {done} 元）"
    if current is Tier.DISTRICT:
        return "已在区级临时救助，无法再上报"
    return None
