"""What the front door's API takes and answers: requests, referrals, complaints, their logs, the district's
overview of who has not answered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from schemas.frontdoor import (
    ComplaintRecord,
    ComplaintState,
    FrontDoorRequest,
    IntakeState,
    ReferralRecord,
    ReferralState,
    RequestKind,
    RequestRecord,
)
from schemas.identity import Phone
from schemas.money import Money
from schemas.staff import Bureau
from webapp.errors import error_responses

# How the front door's routes (and the household view's) answer what they refuse.
ERRORS = error_responses(
    {
        401: "未登录（回调：签名缺失或错误）",
        403: "角色、辖区、部门不允许或须回避（wrong_role / wrong_bureau / recused …）",
        404: "不存在",
        409: "环节不对或已办结（wrong_stage / closed）",
        422: "数据不合法（中文提示；投诉涉及的案件不是所选乡镇（街道）的案件：case_not_found）",
    }
)


class LogEntry(BaseModel):
    log_key: str
    kind: str
    actor: str | None
    payload: dict[str, Any]
    occurred_at: datetime


class RequestSummary(RequestRecord):
    overdue: bool = Field(description="未办结且已过答复期限")


class RequestList(BaseModel):
    items: list[RequestSummary]
    total: int
    page: int
    page_size: int


class ReferralSummary(ReferralRecord):
    accept_overdue: bool
    result_overdue: bool
    amount: Money | None


class ComplaintSummary(ComplaintRecord):
    phone_masked: str
    overdue: bool


class RequestDetail(BaseModel):
    request: RequestSummary
    id_number: str | None = Field(description="完整身份证号码（仅乡镇经办人、审批人和区民政局工作人员可见）")
    phone: str
    address: str
    description: str
    received_by: str | None
    answer: str | None
    identity_verified_by: str | None = Field(default=None, description="确认为本人提交的工作人员（登记时即确认）")
    identity_verified_at: datetime | None = None
    identity_note: str | None = Field(default=None, description="如何核实（如电话回访本人）")
    state: IntakeState | None = Field(description="工作流查询结果；暂不可查询时为空")
    log: list[LogEntry]
    referrals: list[ReferralSummary]
    complaints: list[ComplaintSummary]


class VerifyIdentityIn(BaseModel):
    """How staff confirmed that the person named filed the request themselves."""

    note: str = Field(min_length=2, max_length=500, description="核实方式，如“已电话回访本人确认”")


class IdentityVerified(BaseModel):
    request_no: str
    identity_verified: bool
    identity_verified_by: str
    identity_verified_at: datetime
    identity_note: str


class RequestCreated(BaseModel):
    request_no: str
    answer_due: date | None = Field(description="预计答复日期；工作流尚未记录时为空")
    answer_working_days: int
    state: IntakeState | None


class ReferralList(BaseModel):
    items: list[ReferralSummary]
    total: int


class ReferralDetail(BaseModel):
    referral: ReferralSummary
    phone: str
    address: str
    description: str
    state: ReferralState | None
    log: list[LogEntry]


class ComplaintList(BaseModel):
    items: list[ComplaintSummary]
    total: int


class ComplaintDetail(BaseModel):
    complaint: ComplaintSummary
    phone: str
    content: str
    reply: str | None
    state: ComplaintState | None
    log: list[LogEntry]


class StaffRequestIn(FrontDoorRequest):
    """A request taken down for the resident at the 12349 hotline or a township window."""

    channel: Literal["hotline", "window"] | None = Field(
        default=None, description="留空：区民政局工作人员为 hotline，乡镇工作人员为 window"
    )

    @field_validator("id_number", mode="before")
    @classmethod
    def _question_without_id(cls, value: object, info: ValidationInfo) -> object:
        """A policy question (政策咨询) may leave the ID number empty, as on the portal; every other kind asks
        for it ("身份证号码：身份证号码不能为空")."""
        return None if value == "" and info.data.get("kind") is RequestKind.ENQUIRY else value


class ComplaintIn(BaseModel):
    """A complaint taken down by staff, also from someone who gives no ID number."""

    complainant: str = Field(min_length=1, max_length=30)
    phone: Phone
    township_code: str = Field(pattern=r"^\d{9}$")
    about_case_id: str | None = Field(default=None, max_length=64, description="涉及的案件编号（所选乡镇的案件）")
    about_person: str | None = Field(default=None, max_length=60)
    content: str = Field(min_length=4, max_length=4000)
    to_district: bool = Field(default=False, description="由区民政局直接承办（如投诉乡镇负责人）")


class ComplaintCreated(BaseModel):
    complaint_no: str
    unit_code: str = Field(description="承办单位")
    accept_due: date | None = Field(description="受理期限；工作流尚未记录时为空（202）")
    conclude_due: date | None = Field(description="办结期限；同上")


class CallbackIn(BaseModel):
    """What a bureau on the webhook adapter posts back: its acceptance, or its result."""

    action: Literal["accept", "result"]
    note: str = Field(default="", max_length=1000)
    outcome: Literal["helped", "not_eligible", "declined"] | None = None
    help_given: str | None = Field(default=None, min_length=2, max_length=4000)
    amount: Money | None = None

    @model_validator(mode="after")
    def _result_complete(self) -> CallbackIn:
        if self.action == "result" and (self.outcome is None or not self.help_given):
            raise ValueError("报告结果须填写 outcome 和 help_given")
        return self


class BureauLoad(BaseModel):
    bureau: Bureau
    open: int
    not_accepted: int
    accept_overdue: int
    result_overdue: int
    escalated: int
    oldest_delivered_at: datetime | None


class UnitLoad(BaseModel):
    unit_code: str
    unit_name: str
    open: int
    not_accepted: int
    overdue: int
    escalated: int


class TownshipLoad(BaseModel):
    township_code: str
    township_name: str
    waiting: int
    overdue: int


class Overview(BaseModel):
    """Who has not answered: bureaus with open referrals, units with open complaints, desks with requests."""

    referrals: list[BureauLoad]
    complaints: list[UnitLoad]
    requests: list[TownshipLoad]
