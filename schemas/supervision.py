"""District supervision: re-checks of sampled decisions, ongoing reviews of recipients, digests and
the monthly fund declaration."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from schemas.money import Money
from schemas.staff import Actor


class SampledCase(BaseModel):
    recheck_id: str
    month: str
    case_id: str
    township_code: str
    reason: str


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
    actor: Actor
    outcome: Literal["continue", "adjust", "stop"]
    findings: str = Field(min_length=4, max_length=4000)
    new_amount: Money | None = None
    reasons: str = Field(default="", max_length=4000, description="调整或停发的书面理由")


class OngoingState(BaseModel):
    case_id: str
    cycle: int
    due_on: date
    monthly_amount: Money
    status: Literal["waiting", "due", "stopped"]
    history_cycles: int


class OngoingApplied(BaseModel):
    review_key: str
    case_id: str
    due_on: date
    finding: ReviewFinding
    old_amount: Money


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
    RECORD_REVIEW = "record_review"


def recheck_workflow_id(month: str, case_id: str) -> str:
    return f"recheck-{month}-{case_id}"


def ongoing_workflow_id(case_id: str) -> str:
    return f"ongoing-{case_id}"


OngoingOutcome = Literal["continue", "adjust", "stop"]
