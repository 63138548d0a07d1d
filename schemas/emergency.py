"""Emergency aid (救急难): one event of one household, its tiered payments and the funds they draw on."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, computed_field, model_validator

from schemas.identity import Phone, ResidentId
from schemas.money import Money
from schemas.policy import EmergencyPolicy
from schemas.relatives import DeclaredRelative, FiledRelative, Namesake, NamesakeResolution
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


class EmergencyPath(StrEnum):
    """急难型: sudden hardship, the village society first (先行救助); 支出型: a large unavoidable expense, applied
    for at the township, which pays first, the district beyond its cap. Both share the person's caps and ledger."""

    URGENT = "urgent"
    EXPENSE = "expense"

    @property
    def label(self) -> str:
        return {"urgent": "急难型临时救助", "expense": "支出型临时救助"}[self.value]


class ExpenseKind(StrEnum):
    MEDICAL = "medical"
    EDUCATION = "education"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {"medical": "医疗费用", "education": "教育费用", "other": "其他刚性支出"}[self.value]


class ExpenseEvidence(BaseModel):
    """What the household declares for 支出型临时救助: the unavoidable expense, what insurance or other help covered,
    and its income, over the last 12 months. The aid never exceeds the household's own share of the expense."""

    kind: ExpenseKind
    expense: Money = Field(gt=0, description="近 12 个月刚性支出总额（元）")
    covered: Money = Field(default=Decimal("0"), description="其中已报销或已获其他救助（元）")
    income_12m: Money = Field(description="家庭近 12 个月总收入（元）")
    note: str = Field(default="", max_length=500, description="票据、证明等说明")

    @model_validator(mode="after")
    def _covered_within_expense(self) -> ExpenseEvidence:
        if self.covered >= self.expense:
            raise ValueError("已报销或已获救助的部分不得达到支出总额：家庭没有自付的刚性支出")
        return self

    @property
    def self_paid(self) -> Decimal:
        return self.expense - self.covered


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
    member_id_numbers: list[ResidentId] = Field(
        default_factory=list, max_length=29, description="其他家庭成员身份证号码（比对工作人员近亲属备案）"
    )

    @property
    def id_numbers(self) -> list[str]:
        """Everyone of the household, the applicant and the other members, each once and in order (the order in
        which registration takes their locks)."""
        return sorted({self.id_number, *self.member_id_numbers})

    @property
    def other_members(self) -> list[str]:
        """The members besides the applicant, each once."""
        return [n for n in self.id_numbers if n != self.id_number]


class EmergencyStart(BaseModel):
    event_id: str = Field(pattern=EVENT_ID)
    kind: EmergencyKind
    description: str = Field(min_length=4, max_length=2000)
    household: EmergencyHousehold
    registered_by: Actor
    channel: Literal["village", "township", "12349"] = "village"
    path: EmergencyPath = EmergencyPath.URGENT
    expense: ExpenseEvidence | None = None
    declared_relatives: list[DeclaredRelative] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _expense_with_its_path(self) -> EmergencyStart:
        check_expense_path(self.path, self.expense)
        return self


def check_expense_path(path: EmergencyPath, expense: ExpenseEvidence | None) -> None:
    """支出型 comes with the household's declared expense and income; 急难型 without."""
    if path is EmergencyPath.EXPENSE and expense is None:
        raise ValueError("支出型临时救助须填报家庭刚性支出和收入情况")
    if path is EmergencyPath.URGENT and expense is not None:
        raise ValueError("急难型临时救助无需填报刚性支出；支出型请选择「支出型临时救助」")


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


class RepeatApproval(BaseModel):
    """乡镇同意再次救助: the township's approval of an event of a person who received aid within the period."""

    actor: Actor
    note: str = Field(min_length=2, max_length=1000, description="审批意见")


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


# The payload of each staff action, by the action's name in `rules.emergency_actions` (its API path segment).
EMERGENCY_PAYLOADS: dict[str, type[BaseModel]] = {
    "approve": PaymentApproval,
    "escalate": Escalation,
    "documents": DocumentsRecorded,
    "exempt": DocumentationExemption,
    "close": CloseEvent,
    "approve_repeat": RepeatApproval,
    "resolve_namesake": NamesakeResolution,
}


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
    path: str = "urgent"


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
    provisional: bool = False  # `due` falls in a year whose holiday notice is not in the calendar yet
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


class PriorEvent(BaseModel):
    event_id: str
    path: str
    registered_at: datetime
    status: str
    total: Money


class PriorAid(BaseModel):
    """What the person received in the period before an event (every event of theirs, at every tier): shown to
    whoever approves, and counted against the caps where they hold per person."""

    since: date
    village: Money = Decimal("0")
    township: Money = Decimal("0")
    district: Money = Decimal("0")
    events: list[PriorEvent] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Decimal:
        return self.village + self.township + self.district


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
    path: EmergencyPath = EmergencyPath.URGENT
    expense: ExpenseEvidence | None = None
    members: int = Field(default=1, description="家庭人口")
    prior: PriorAid | None = Field(default=None, description="本人在统计周期内此前已获的救助")
    repeat_pending: bool = Field(default=False, description="周期内再次救助，尚待乡镇（街道）审批同意")
    barred_staff: list[str] = Field(default_factory=list, description="与求助人家庭有近亲属关系、应当回避的工作人员")
    namesakes: list[Namesake] = Field(default_factory=list)
    relatives_filed: list[FiledRelative] = Field(default_factory=list)
    duplicate_of: str | None = Field(default=None, description="本人已有未办结的事件：本次登记即该事件")


# ---- activity payloads -----------------------------------------------------------------------------


class OpenEmergencyIn(BaseModel):
    start: EmergencyStart
    registered_at: datetime
    registered_on: date


class OpenEventQuery(BaseModel):
    """Has this person an open emergency event? Asked by the 12349 triage of a township."""

    id_number: str
    township_code: str


class OpenEventFound(BaseModel):
    """The answer: the event's id if it is in the asking township; only that there is one if elsewhere."""

    event_id: str | None = None
    elsewhere: bool = False


class EmergencyOpened(BaseModel):
    policy: EmergencyPolicy
    policy_version: int
    prior: PriorAid | None = None
    duplicate_of: str | None = None  # the person's open event: this one was not registered


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
    """The workflow and its query. Its staff updates are named by their actions' specs, in
    `rules.emergency_actions` (the one place; the web app and the workflow read them there)."""

    WORKFLOW = "EmergencyWorkflow"
    STATE = "state"
