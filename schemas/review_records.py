"""What the review workflow's activities take and answer: the case row opened and written with each event, the
verification centre's requests, the escalations, the take-over and the enrolment in the recipients register (the
review's staff actions, state and the payloads shared with other workflows are in `schemas.review`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.money import Money
from schemas.policy import Policy
from schemas.review import AssistanceType, ReviewStart, VerificationResult


class CaseOpened(BaseModel):
    policy: Policy
    accepted_on: date


class CaseFacts(BaseModel):
    """A case as the `cases` table keeps it, with its township's and village's names; the applicant's ID
    number only masked. The amount is left to each reader: fen in the row (`db.cases_repo.CaseRow`), yuan in
    the API's answer."""

    case_id: str
    workflow_id: str
    assistance_type: AssistanceType
    township_code: str
    township_name: str
    village_code: str | None
    village_name: str | None
    applicant_name: str
    applicant_id_masked: str
    channel: str
    policy_version: int
    stage: str
    status: str
    handled_by: str
    accepted_at: datetime
    deadline: date | None
    deadline_provisional: bool
    paused_days: int
    overdue: bool
    relatives_match: bool
    category: str | None
    decided_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    benefit_status: Literal["active", "stopped"] | None = Field(
        default=None, description="保障状态（保障对象名册）：active 正在保障；stopped 已停发；空：未纳入保障"
    )
    benefit_stopped_at: datetime | None = Field(default=None, description="停发时间（动态管理复核决定停发）")


class VerificationRequest(BaseModel):
    """A request to the verification centre, with what its queue shows of the case."""

    case_id: str
    township_code: str
    applicant_name: str
    applicant_id_masked: str
    assistance_type: AssistanceType
    requested_at: datetime
    adapter: str
    status: Literal["requested", "answered"]
    answered_by: str | None
    answered_at: datetime | None
    case_deadline: date | None


class CaseEventIn(BaseModel):
    """One row of the case event log plus the case row's current summary, written together."""

    case_id: str
    event_key: str
    kind: str
    stage: str
    actor: str | None = None
    actor_role: str | None = None
    payload: dict = Field(default_factory=dict)
    occurred_at: datetime
    deadline: date | None = None
    deadline_provisional: bool = False
    paused_days: int = 0
    overdue: bool = False
    status: Literal["open", "enrolled", "refused", "withdrawn", "terminated"] = "open"
    handled_by: Literal["township", "district"] = "township"


class Enrolment(BaseModel):
    case_id: str
    assistance_type: AssistanceType
    township_code: str
    category: str | None
    monthly_amount: Money
    people: int
    first_payment_month: date
    decided_at: datetime


class Enrolled(BaseModel):
    """Enrolment's answer: why the household was entered stopped (a member is a recipient elsewhere), if it was."""

    held_reason: str | None = None


class OpenCaseIn(BaseModel):
    start: ReviewStart
    workflow_id: str
    accepted_at: datetime
    accepted_on: date


class VerificationRequestIn(BaseModel):
    case_id: str
    township_code: str
    requested_at: datetime


class VerificationAnsweredIn(BaseModel):
    case_id: str
    result: VerificationResult
    answered_at: datetime


class EscalationIn(BaseModel):
    case_id: str
    escalation_key: str
    kind: str
    deadline: date
    at: datetime


class TakeOverIn(BaseModel):
    case_id: str
    username: str
    at: datetime
