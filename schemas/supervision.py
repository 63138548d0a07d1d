"""District supervision: re-checks of sampled decisions, ongoing reviews of recipients, digests and
the monthly fund declaration."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from schemas.money import Money
from schemas.relatives import RelativesMatch
from schemas.staff import Actor


class SampledCase(BaseModel):
    recheck_id: str
    month: str
    case_id: str
    township_code: str
    reason: str
    assigned_to: str | None = Field(
        default=None, description="分派的区民政局复核人员（从未审批、接管或调查过本案）；无合适人员时为空"
    )
    excluded: list[str] = Field(
        default_factory=list, description="不得复核本案的人员：审批、接管、调查过本案或与该户有近亲属关系"
    )


class SampleDrawn(BaseModel):
    month: str
    seed: str
    share: Decimal
    population: int
    cases: list[SampledCase]


class RecheckFinding(BaseModel):
    actor: Actor
    result: Literal["upheld", "irregular"]
    findings: str = Field(min_length=4, max_length=4000)
    home_visit: bool = False


class RecheckState(BaseModel):
    recheck: SampledCase
    status: Literal["open", "upheld", "irregular"]
    finding: RecheckFinding | None


class OngoingStart(BaseModel):
    case_id: str
    township_code: str
    applicant_name: str
    cadence_months: int = Field(ge=1)
    due_on: date
    cycle: int = Field(1, ge=1)
    monthly_amount: Money


class ReviewFinding(BaseModel):
    """A caseworker's proposed outcome of an ongoing review (复核意见), for an approver to decide."""

    actor: Actor
    outcome: Literal["continue", "adjust", "stop"]
    findings: str = Field(min_length=4, max_length=4000)
    new_amount: Money | None = None
    reasons: str = Field(default="", max_length=4000, description="调整或停发的书面理由")


class ReviewDecision(BaseModel):
    """The approver's decision on a proposed outcome: agree (applied, or referred on to the district where the
    change exceeds the township's bounds), or return it to the caseworker with an opinion."""

    actor: Actor
    agree: bool = Field(description="true：同意；false：退回经办人重新核查")
    opinion: str = Field(default="", max_length=4000, description="审批意见（退回时必填）")


class OngoingFacts(BaseModel):
    """What an ongoing review's cycle needs from the database: the kind of assistance (the notice's title), who
    decides (the policy's approval level for the township), the bounds of a township's change and the staff
    barred from the household (the review's relatives check, and the staff register as it is now)."""

    assistance_type: str
    approval_level: Literal["township", "district"]
    max_change: Money
    max_change_ratio: Decimal
    barred: list[RelativesMatch] = Field(default_factory=list)
    max_amount: Money | None = Field(
        default=None, description="该户月保障金上限（保障标准 × 家庭人数；特困：基本生活标准与照料护理标准之和）"
    )
    overdue_working_days: int = Field(20, description="复核到期后超过此工作日数仍未办结即超期上报")


class OngoingState(BaseModel):
    case_id: str
    cycle: int
    due_on: date
    monthly_amount: Money
    status: Literal["waiting", "due", "proposed", "stopped"]
    history_cycles: int
    proposal: ReviewFinding | None = None
    level: Literal["township", "district"] = "township"
    endorsed_by: str | None = Field(default=None, description="同意并报区民政局决定的乡镇审批人")
    assistance_type: str | None = None
    max_amount: Money | None = Field(default=None, description="调整后的月保障金不得超过的金额")
    overdue_on: date | None = Field(default=None, description="复核办结时限：到期后第 N 个工作日，逾期即超期上报")
    escalated: bool = Field(default=False, description="已超期，已提醒乡镇审批人并上报区民政局")


class OngoingApplied(BaseModel):
    review_key: str
    case_id: str
    due_on: date
    finding: ReviewFinding
    old_amount: Money
    decision: ReviewDecision | None = None
    level: Literal["township", "district"] | None = None
    decided_at: datetime | None = Field(
        default=None,
        description="作出决定的时间（工作流时间）：复核与停发自此时起算，而非写入登记册之时；空：写入时（旧的工作流历史）",
    )


class OngoingStep(BaseModel):
    """A step of an ongoing review before its outcome is applied (proposed, returned, referred), for the case's
    event log."""

    case_id: str
    event_key: str
    kind: str
    actor: Actor | None  # None: the workflow itself (an escalation)
    summary: str
    payload: dict = Field(default_factory=dict)


class RecipientToReview(BaseModel):
    case_id: str
    township_code: str
    applicant_name: str
    cadence_months: int
    due_on: date
    monthly_amount: Money


class DeclarationResult(BaseModel):
    month: str
    version: int
    status: str
    rows: int


class SupervisionNames:
    SAMPLING = "MonthlySamplingWorkflow"
    RECHECK = "RecheckWorkflow"
    ONGOING = "OngoingReviewWorkflow"
    DAILY = "DailySupervisionWorkflow"
    DECLARATION = "MonthlyDeclarationWorkflow"
    STATE = "state"
    RECORD_FINDING = "record_finding"
    RECORD_REVIEW = "record_review"  # before propose/decide: kept for the histories of cycles then open
    PROPOSE_REVIEW = "propose_review"
    DECIDE_REVIEW = "decide_review"


def recheck_workflow_id(month: str, case_id: str) -> str:
    return f"recheck-{month}-{case_id}"


def ongoing_workflow_id(case_id: str) -> str:
    return f"ongoing-{case_id}"


OngoingOutcome = Literal["continue", "adjust", "stop"]

# The ongoing review's actions (rules/ongoing_actions.py) and their payloads.
ONGOING_PAYLOADS: dict[str, type[BaseModel]] = {"propose": ReviewFinding, "decide": ReviewDecision}
