"""What the cases API answers: a case row, lists, the detail with the workflow's state and the event log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.money import Money
from schemas.review import CaseState
from schemas.review_records import CaseFacts, VerificationRequest


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


class WaitingOn(BaseModel):
    """Whom the case waits on now (rules/waiting.py), since when and by when, in working days."""

    kind: Literal["staff", "applicant", "notice", "system"] = Field(
        description="staff：工作人员；applicant：申请人补正材料；notice：公示期；system：系统自动处理"
    )
    who: str = Field(description="等待谁：某地某角色（如“区民政局”“石婆店镇经办人”）、申请人、公示期或系统")
    what: str = Field(description="待办理的事项")
    people: list[str] = Field(description="该岗位的在岗人员姓名")
    since: datetime | None = Field(description="开始等待的时间")
    waited_working_days: int | None = Field(description="已等待的工作日数")
    due: date | None = Field(description="应办理完毕的日期")
    working_days_left: int | None = Field(description="剩余工作日数；负数为已超期")


class CaseDetail(BaseModel):
    case: CaseSummary
    state: CaseState | None = Field(description="工作流查询结果；工作流暂不可查询时为空")
    events: list[CaseEvent]
    temporal_ui_url: str = Field(description="Temporal Web UI 中的完整事件历史")
    waiting: list[WaitingOn] = Field(default_factory=list, description="当前等待谁办理；工作流暂不可查询时为空")


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
