"""The 12349 front door (一门受理、协同办理): requests from residents, referrals to partner bureaus,
complaints. These models cross the Temporal data converter, the HTTP API and the bureau webhooks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from schemas.identity import Phone, ResidentId
from schemas.money import Money
from schemas.policy import FrontDoorPolicy, provisional_flag
from schemas.staff import Actor, Bureau

REQUEST_NO = r"^12349-\d{8}-[0-9A-Z]{6}$"


def intake_workflow_id(request_no: str) -> str:
    return f"intake-{request_no}"


def referral_workflow_id(referral_id: str) -> str:
    return f"referral-{referral_id}"


def complaint_workflow_id(complaint_no: str) -> str:
    return f"complaint-{complaint_no}"


class RequestKind(StrEnum):
    HELP = "help"  # 求助
    ENQUIRY = "enquiry"  # 咨询
    COMPLAINT = "complaint"  # 投诉

    @property
    def label(self) -> str:
        return {"help": "求助申请", "enquiry": "政策咨询", "complaint": "投诉"}[self.value]


class Channel(StrEnum):
    PORTAL = "portal"  # the resident online
    HOTLINE = "hotline"  # a 12349 operator on the resident's behalf
    WINDOW = "window"  # a township window


class FrontDoorRequest(BaseModel):
    """What a resident (or the operator for them) fills in on one page."""

    kind: RequestKind
    needs: list[str] = Field(default_factory=list, description="求助事项代码（rules.needs）")
    name: str = Field(min_length=1, max_length=30)
    id_number: ResidentId | None = Field(default=None, description="身份证号码（政策咨询可不填）")
    phone: Phone
    township_code: str = Field(pattern=r"^\d{9}$")
    village_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    address: str = Field(default="", max_length=200)
    description: str = Field(min_length=4, max_length=4000)
    about_case_id: str | None = Field(default=None, max_length=64, description="投诉涉及的案件编号")
    about_person: str | None = Field(default=None, max_length=60, description="投诉涉及的工作人员")
    to_district: bool = Field(default=False, description="投诉乡镇（街道）负责人：直接由区民政局办理")

    @model_validator(mode="after")
    def _complete(self) -> FrontDoorRequest:
        if self.kind is RequestKind.HELP and not self.needs:
            raise ValueError("请至少选择一项求助事项")
        if self.id_number is None and self.kind is not RequestKind.ENQUIRY:
            raise ValueError("请填写身份证号码")
        if self.village_code and not self.village_code.startswith(self.township_code):
            raise ValueError("村（社区）不属于所选乡镇（街道）")
        return self


class IntakeStart(BaseModel):
    request_no: str = Field(pattern=REQUEST_NO)
    request: FrontDoorRequest
    channel: Channel
    received_by: Actor | None = None  # None: the resident online
    # why a complaint goes to the district (rules.recusal), decided before the intake starts; None: it does not
    district_reason: str | None = None


# ---- intake actions ------------------------------------------------------------------------------


class Triage(BaseModel):
    actor: Actor
    needs: list[str] = Field(min_length=1, description="分办的求助事项")
    emergency_kind: str = Field(default="other", description="急难类型（突发急难时）")
    note: str = Field(default="", max_length=1000)


class LinkCase(BaseModel):
    """A township accepted a review case for one of the request's needs."""

    actor: Actor
    need: str
    case_id: str = Field(min_length=3, max_length=64)


class EnquiryAnswer(BaseModel):
    actor: Actor
    text: str = Field(min_length=4, max_length=4000)


class NeedState(BaseModel):
    code: str
    plain: str
    route: str
    status: Literal["waiting", "in_progress", "answered"]
    target_id: str | None = None
    answer: str | None = None
    answered_at: datetime | None = None


class IntakeState(BaseModel):
    request_no: str
    kind: RequestKind
    status: Literal["received", "triaged", "closed"]
    township_code: str
    name: str
    answer_due: date | None
    # the answer date runs through a year whose holiday notice is not in the calendar yet (暂定)
    answer_provisional: bool = False
    needs: list[NeedState]
    answer: str | None
    log: list[dict]


# ---- referrals ------------------------------------------------------------------------------------


class ReferralStart(BaseModel):
    referral_id: str
    request_no: str
    need: str
    help_kind: str
    bureau: Bureau
    name: str
    id_masked: str
    phone: str
    township_code: str
    address: str
    description: str
    policy: FrontDoorPolicy


class ReferralAccept(BaseModel):
    actor: Actor
    note: str = Field(default="", max_length=1000)


class ReferralInfoRequest(BaseModel):
    actor: Actor
    question: str = Field(min_length=4, max_length=2000)


class ReferralInfoSupplied(BaseModel):
    actor: Actor
    info: str = Field(min_length=2, max_length=4000)


class ReferralResult(BaseModel):
    actor: Actor
    outcome: Literal["helped", "not_eligible", "declined"]
    help_given: str = Field(min_length=2, max_length=4000, description="已给予的帮助或不予帮助的理由")
    amount: Money | None = None


class ReferralAck(BaseModel):
    status: str
    log_key: str


class ReferralState(BaseModel):
    referral_id: str
    request_no: str
    bureau: Bureau
    need: str
    status: Literal["delivered", "accepted", "info_requested", "answered"]
    accept_due: date | None
    result_due: date | None
    # a limit running through a year whose holiday notice is not in the calendar yet (暂定)
    accept_provisional: bool = False
    result_provisional: bool = False
    escalations: list[str]
    result: ReferralResult | None
    log: list[dict]


class ReferralOutcome(BaseModel):
    referral_id: str
    outcome: str
    help_given: str
    amount: Money | None


class DeliveryIn(BaseModel):
    referral: ReferralStart
    workflow_id: str


# ---- complaints -----------------------------------------------------------------------------------


class ComplaintStart(BaseModel):
    complaint_no: str
    request_no: str | None
    complainant: str
    phone: str
    township_code: str
    about_case_id: str | None
    about_person: str | None
    content: str
    unit_code: str = Field(description="承办单位（乡镇或区）")
    registered_by: Actor | None = None
    district_reason: str | None = Field(default=None, description="由区民政局承办的原因（记入投诉的记录）")


class ComplaintAccept(BaseModel):
    actor: Actor
    note: str = Field(default="", max_length=1000)


class ComplaintConclude(BaseModel):
    actor: Actor
    finding: Literal["substantiated", "partly", "unsubstantiated"]
    reply: str = Field(min_length=4, max_length=4000, description="答复投诉人的内容")


class ComplaintState(BaseModel):
    complaint_no: str
    unit_code: str
    status: Literal["registered", "accepted", "concluded"]
    accept_due: date | None
    conclude_due: date | None
    # a limit whose last day is in a year whose holiday notice is not in the calendar yet (暂定)
    accept_provisional: bool = False
    conclude_provisional: bool = False
    escalations: list[str]
    about_case_id: str | None
    about_person: str | None
    reply: str | None
    log: list[dict]


# ---- the rows, as every view of them shows them (the web app's summaries, the repository's rows) ----------------


class RequestRecord(BaseModel):
    request_no: str
    kind: RequestKind
    channel: str
    name: str
    id_masked: str
    township_code: str
    township_name: str
    village_code: str | None
    village_name: str | None
    needs: list[str]
    status: str
    answer_due: date | None
    answer_provisional: bool = provisional_flag("答复期限")
    created_at: datetime
    closed_at: datetime | None
    identity_verified: bool = Field(
        default=True, description="是否已确认为本人提交（网上以他人身份证号提交的，核实前为否）"
    )


class ReferralRecord(BaseModel):
    referral_id: str
    request_no: str
    need: str
    help_kind: str
    bureau: Bureau
    township_code: str
    township_name: str
    name: str
    id_masked: str
    status: str
    adapter: str | None
    accept_due: date | None
    result_due: date | None
    accept_provisional: bool = provisional_flag("签收期限")
    result_provisional: bool = provisional_flag("反馈结果期限")
    escalated: bool
    outcome: str | None
    help_given: str | None
    delivered_at: datetime
    answered_at: datetime | None


class ComplaintRecord(BaseModel):
    complaint_no: str
    request_no: str | None
    complainant: str
    township_code: str
    unit_code: str
    unit_name: str
    about_case_id: str | None
    about_person: str | None
    status: str
    accept_due: date | None
    conclude_due: date | None
    accept_provisional: bool = provisional_flag("受理期限")
    conclude_provisional: bool = provisional_flag("办结期限")
    escalated: bool
    finding: str | None
    created_at: datetime
    concluded_at: datetime | None


class FrontDoorLogIn(BaseModel):
    """One row of the front door's event log, for requests, referrals and complaints alike."""

    subject_type: Literal["request", "referral", "complaint"]
    subject_id: str
    log_key: str
    kind: str
    actor: str | None
    payload: dict
    occurred_at: datetime
    status: str
    due: date | None = None
    due_provisional: bool = False  # `due` runs through a year whose holiday notice is not in the calendar yet (暂定)


# The workflows and their queries. Their staff updates are named by their actions' specs, in
# `rules.frontdoor_actions` (the one place; the web app and the workflows read them there).
class IntakeNames:
    WORKFLOW = "IntakeWorkflow"
    STATE = "state"


class ReferralNames:
    WORKFLOW = "ReferralWorkflow"
    STATE = "state"


class ComplaintNames:
    WORKFLOW = "ComplaintWorkflow"
    STATE = "state"


# The payload of each staff action, by the action's name in `rules.frontdoor_actions` (its API path segment).
REQUEST_PAYLOADS: dict[str, type[BaseModel]] = {"triage": Triage, "link-case": LinkCase, "answer": EnquiryAnswer}
REFERRAL_PAYLOADS: dict[str, type[BaseModel]] = {
    "accept": ReferralAccept,
    "request-info": ReferralInfoRequest,
    "supply-info": ReferralInfoSupplied,
    "result": ReferralResult,
}
COMPLAINT_PAYLOADS: dict[str, type[BaseModel]] = {"accept": ComplaintAccept, "conclude": ComplaintConclude}
