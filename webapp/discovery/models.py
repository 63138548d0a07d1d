"""What the discovery API answers (主动发现)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from db.discovery_tasks_repo import Task
from schemas.discovery import Outcome


class UploadIn(BaseModel):
    """A list uploaded by bureau staff: the file's name (.csv or .xlsx) and its bytes as base64."""

    filename: str = Field(min_length=1, max_length=200, pattern=r"(?i)\.(csv|xlsx)$")
    content_base64: str = Field(min_length=1)


class TaskOut(Task):
    id_number: str = Field(description="公民身份号码（列表中脱敏；任务详情仅对辖区内可见全号的人员显示全号）")
    kind_label: str


class TaskList(BaseModel):
    items: list[TaskOut]
    total: int


class OutcomeBody(BaseModel):
    outcome: Outcome
    visited_on: date
    note: str = Field("", max_length=500)
    case_id: str | None = Field(None, max_length=64)


class CoverageRow(BaseModel):
    township_code: str
    township_name: str
    received: int = Field(description="收到的信号")
    assisted: int = Field(description="已在保障（只计数）")
    prompted: int = Field(description="其中提示动态复核")
    tasked: int = Field(description="生成发现任务")
    duplicates: int = Field(description="90 天内重复（未再生成任务）")
    visited: int
    visited_on_time: int
    escalated: int
    applied: int = Field(description="已申请救助")
    approved: int = Field(description="已获批准")
