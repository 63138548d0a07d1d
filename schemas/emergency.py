"""Emergency aid (救急难): one event of one household, its tiered payments and the funds they draw on."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from schemas.identity import Phone, ResidentId
from schemas.money import Money
from schemas.policy import EmergencyPolicy
from schemas.staff import Actor

EVENT_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"


def emergency_workflow_id(event_id: str) -> str:
    return f"emergency-{event_id}"


class EmergencyKind(StrEnum):
    ILLNESS = "illness"
    ACCIDENT = "accident"
    FIRE = "fire"
    DISASTER = "disaster"
    INCOME_LOSS = "income_loss"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "illness": "突发重病",
            "accident": "意外事故",
            "fire": "火灾",
            "disaster": "自然灾害",
            "income_loss": "突然失去收入",
            "other": "其他急难",
        }[self.value]


class FundSource(StrEnum):
    GOVERNMENT = "government"
    COLLECTIVE = "collective"
    DONATION = "donation"

    @property
    def label(self) -> str:
        return {"government": "政府投入", "collective": "集体经济", "donation": "社会捐赠"}[self.value]


class EmergencyHousehold(BaseModel):
    name: str = Field(min_length=1, max_length=30, description="户主/求助人姓名")
    id_number: ResidentId
    phone: Phone | None = None
    township_code: str = Field(pattern=r"^\d{9}$")
    village_code: str = Field(pattern=r"^\d{12}$")
    address: str = Field(min_length=2, max_length=200)
    members: int = Field(1, ge=1, le=30)


class EmergencyStart(BaseModel):
    event_id: str = Field(pattern=EVENT_ID)
    kind: EmergencyKind
    description: str = Field(min_length=4, max_length=2000)
    household: EmergencyHousehold
    registered_by: Actor
    channel: Literal["village", "township", "12349"] = "village"


# ---- actions -----------------------------------------------------------------------------------


class PaymentApproval(BaseModel):
    actor: Actor
    tier: Literal["village", "township", "district"]
    amount: Money
    note: str = Field(default="", max_length=500)


class Escalation(BaseModel):
    actor: Actor
    reason: str = Field(min_length=2, max_length=1000)
    grounds: Literal["cap_reached", "fund_insufficient"] | None = Field(
        default=None,
        description="申报依据：cap_reached 本级已达封顶；"
        "fund_insufficient 本级资金不足（本事件有因资金不足被拒绝的发放）；不填则按实际情况认定",
    )


class DocumentsRecorded(BaseModel):
    actor: Actor
    items: list[str] = Field(min_length=1, description="补齐的材料")
    note: str = Field(default="", max_length=1000)
    payment_key: str | None = Field(
        default=None, max_length=80, description="补齐哪一笔发放的材料；不填则为尚未补齐材料的每一笔"
    )


class DocumentationExemption(BaseModel):
    """A district officer's written decision that a payment's documents need not be supplied (免于补齐材料)."""

    actor: Actor
    decision_no: str = Field(min_length=2, max_length=100, description="书面决定文号")
    reason: str = Field(min_length=4, max_length=1000, description="免于补齐材料的理由")
    payment_key: str | None = Field(
        default=None, max_length=80, description="免除哪一笔发放的材料；不填则为尚未补齐材料的每一笔"
    )


class CloseEvent(BaseModel):
    actor: Actor
    summary: str = Field(min_length=2, max_length=1000)


class EmergencyAck(BaseModel):
    tier: str
    total: Money
    log_key: str
    payment_key: str | None = None


# ---- state ---------------------------------------------------------------------------------------


class EmergencyRecord(BaseModel):
    """An event as its row keeps it, what every view of it shows (the web app's summary, the repository's row)."""

    event_id: str
    kind: str
    applicant_name: str
    applicant_id_masked: str
    township_code: str
    township_name: str
    village_code: str
    village_name: str
    tier: str
    status: str
    documentation_due: date | None
    documents_done: bool
    registered_at: datetime
    documentation_overdue: bool = False
    payment_due: datetime | None = None
    first_paid_at: datetime | None = None
    payment_overdue: bool = False
    payment_escalated_to: str | None = None


class PaymentRecord(BaseModel):
    payment_key: str
    tier: str
    amount: Money
    fund_code: str
    approved_by: str
    approved_at: datetime
    transfer_ref: str | None = None


class PaymentDocumentation(BaseModel):
    """The documents owed for one payment: due 5 working days (policy) after the day it was paid, then
    supplied, or waived by a district officer's written exemption. `due` is None only for a later payment of
    an event registered before each payment had its own deadline (it has no clock, but still has to be
    documented before the event closes)."""

    payment_key: str
    tier: str
    amount: Money
    paid_at: datetime
    due: date | None = None
    remind_on: date | None = None
    reminded: bool = False
    overdue: bool = False
    documented_at: datetime | None = None
    documented_by: str | None = None
    exempted_at: datetime | None = None
    exempted_by: str | None = None
    exemption_no: str | None = None

    @property
    def outstanding(self) -> bool:
        return self.documented_at is None and self.exempted_at is None

    @property
    def status(self) -> Literal["documented", "exempted", "overdue", "due"]:
        if self.documented_at is not None:
            return "documented"
        if self.exempted_at is not None:
            return "exempted"
        return "overdue" if self.overdue else "due"


class PaymentPromise(BaseModel):
    """The 24-hour promise (policy `payment_hours`): from registration to the first payment. A reminder at
    half-time; when it passes, escalated to the township; `payment_district_hours` later, to the district."""

    registered_at: datetime
    due_at: datetime
    remind_at: datetime
    district_at: datetime
    reminded: bool = False
    escalated_to: Literal["township", "district"] | None = None
    first_paid_at: datetime | None = None

    @property
    def overdue(self) -> bool:
        """Past its deadline and still unpaid."""
        return self.escalated_to is not None and self.first_paid_at is None

    @property
    def paid_late(self) -> bool:
        return self.first_paid_at is not None and self.first_paid_at > self.due_at


class EmergencyState(BaseModel):
    event_id: str
    kind: EmergencyKind
    household_name: str
    township_code: str
    village_code: str
    tier: str
    status: Literal["open", "closed"]
    village_total: Money
    township_total: Money
    district_total: Money
    total: Money
    payments: list[PaymentRecord]
    documentation_due: date | None
    documents_done: bool
    documentation_overdue: bool
    log: list[dict]
    fund_short: list[str] = Field(default_factory=list, description="本事件中资金不足、未能发放的层级")
    documentation: list[PaymentDocumentation] = Field(default_factory=list, description="每笔发放的材料补齐期限与状态")
    payment_promise: PaymentPromise | None = Field(default=None, description="登记至首笔发放的时限（24 小时承诺）")


# ---- activity payloads -----------------------------------------------------------------------------


class OpenEmergencyIn(BaseModel):
    start: EmergencyStart
    registered_at: datetime
    registered_on: date


class EmergencyOpened(BaseModel):
    policy: EmergencyPolicy
    policy_version: int


class PaymentIn(BaseModel):
    payment_key: str
    event_id: str
    tier: str
    fund_place: str
    amount: Money
    approved_by: str
    approved_at: datetime
    payee_name: str
    payee_id_number: str
    note: str = ""


class PaymentOut(BaseModel):
    payment_key: str
    fund_code: str
    transfer_ref: str
    paid_at: datetime


class EmergencyLogIn(BaseModel):
    event_id: str
    log_key: str
    kind: str
    actor: str | None
    payload: dict
    occurred_at: datetime
    tier: str
    status: Literal["open", "closed"]
    village_total: Money
    township_total: Money
    district_total: Money
    documentation_due: date | None
    documents_done: bool
    documentation_overdue: bool = False
    documentation: list[PaymentDocumentation] = Field(default_factory=list)
    payment_due: datetime | None = None
    first_paid_at: datetime | None = None
    payment_overdue: bool = False
    payment_escalated_to: str | None = None


class EmergencyNames:
    """The workflow, its query and its updates (the updates of `rules.emergency_actions`, written out: schemas
    import nothing of ours; a test keeps the two equal)."""

    WORKFLOW = "EmergencyWorkflow"
    STATE = "state"
    APPROVE = "approve_payment"
    ESCALATE = "escalate"
    DOCUMENTS = "record_documents"
    EXEMPT = "exempt_documents"
    CLOSE = "close"


# The payload of each staff action, by the action's name in `rules.emergency_actions` (its API path segment).
EMERGENCY_PAYLOADS: dict[str, type[BaseModel]] = {
    "approve": PaymentApproval,
    "escalate": Escalation,
    "documents": DocumentsRecorded,
    "exempt": DocumentationExemption,
    "close": CloseEvent,
}
