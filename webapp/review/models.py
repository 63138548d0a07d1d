"""What the cases API answers: a case row, lists, the detail with the workflow's state and the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from schemas.money import Money
from schemas.review import CaseFacts, CaseState, VerificationRequest


class CaseSummary(CaseFacts):
    """One row of the `cases` table; the applicant's ID number only ever appears masked."""

    stage_label: str
    monthly_amount: Money | None


class CaseList(BaseModel):
    items: list[CaseSummary]
    total: int
    page: int
    page_size: int


class CaseEvent(BaseModel):
    id: int
    event_key: str
    kind: str
    stage: str | None
    actor: str | None
    actor_role: str | None
    payload: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime


class CaseDetail(BaseModel):
    case: CaseSummary
    state: CaseState | None = Field(description="工作流查询结果；工作流暂不可查询时为空")
    events: list[CaseEvent]
    temporal_ui_url: str = Field(description="Temporal Web UI 中的完整事件历史")


class CaseCreated(BaseModel):
    created: bool = Field(description="false：该申请编号已受理过，返回已有案件")
    case_id: str
    workflow_id: str
    state: CaseState | None = Field(description="工作流查询结果；暂不可查询时为空")


class VerificationRequestList(BaseModel):
    items: list[VerificationRequest]
    total: int


class CalendarChanged(BaseModel):
    count: int = Field(description="已通知的在办案件数")
    failed: list[str] = Field(description="未能通知的案件（工作流已结束或不存在）")
