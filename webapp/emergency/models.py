"""What the emergency-aid API takes and answers: an event registered, its summary and detail, the district's
list by township and tier, a fund's ledger and an income booked into it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from schemas.emergency import EVENT_ID, EmergencyHousehold, EmergencyKind, EmergencyRecord, EmergencyState, FundSource
from schemas.money import Money


class EmergencyIn(BaseModel):
    event_id: str | None = Field(default=None, pattern=EVENT_ID, description="留空则自动生成")
    kind: EmergencyKind
    description: str = Field(min_length=4, max_length=2000)
    household: EmergencyHousehold


class EmergencySummary(EmergencyRecord):
    """An event with what each tier paid, and the total."""

    village_total: Money
    township_total: Money
    district_total: Money
    total: Money


class TierTotal(BaseModel):
    township_code: str
    township_name: str
    tier: str
    events: int
    total: Money


class EmergencyList(BaseModel):
    items: list[EmergencySummary]
    total: int
    by_township_and_tier: list[TierTotal]


class EmergencyDetail(BaseModel):
    event: EmergencySummary
    state: EmergencyState | None
    payments: list[dict]


class FundEntry(BaseModel):
    id: int
    kind: Literal["income", "payment"]
    amount: Money
    source: str | None
    donor: str | None
    note: str | None
    payment_key: str | None
    recorded_by: str
    recorded_at: datetime
    balance_after: Decimal


class FundLedger(BaseModel):
    place_code: str
    name: str
    level: str
    balance: Decimal
    entries: list[FundEntry]


class IncomeIn(BaseModel):
    amount: Money
    source: FundSource
    donor: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=500)
