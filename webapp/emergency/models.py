"""What the emergency-aid API takes and answers: an event registered, its summary and detail, the district's
list by township and tier, a fund's ledger and an income booked into it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from schemas.emergency import (
    EVENT_ID,
    EmergencyHousehold,
    EmergencyKind,
    EmergencyPath,
    EmergencyRecord,
    EmergencyState,
    ExpenseEvidence,
    FundSource,
    check_expense_path,
)
from schemas.money import Money
from schemas.relatives import DeclaredRelative


class EmergencyIn(BaseModel):
    event_id: str | None = Field(default=None, pattern=EVENT_ID, description="留空则自动生成")
    kind: EmergencyKind
    description: str = Field(min_length=4, max_length=2000)
    household: EmergencyHousehold
    path: EmergencyPath = Field(
        default=EmergencyPath.URGENT, description="urgent 急难型（村级先行救助）；expense 支出型（向乡镇申请）"
    )
    expense: ExpenseEvidence | None = Field(default=None, description="支出型：家庭刚性支出和收入")
    declared_relatives: list[DeclaredRelative] = Field(
        default_factory=list, max_length=20, description="求助人申报的在村（社区）、乡镇、区工作的近亲属"
    )

    @model_validator(mode="after")
    def _expense_with_its_path(self) -> EmergencyIn:
        check_expense_path(self.path, self.expense)
        return self


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
    recorded_by_name: str | None = None
    event_id: str | None = None
    beneficiary: str | None = None


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
