"""Discovery (主动发现): the partner bureaus' lists of people with a signal of hardship, matched against the
households and recipients; a person not receiving the matching help becomes a discovery task for the township
of household registration (`workflows/discovery.py`), a recipient's signal a prompt to consider a review."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from schemas.identity import ResidentId
from schemas.labels import LabelledEnum
from schemas.staff import Actor


class SignalKind(LabelledEnum):
    LARGE_MEDICAL = "large_medical", "大额医疗支出"
    SEVERE_DISABILITY = "severe_disability", "新增重度残疾"
    UNEMPLOYED = "unemployed", "失业"
    POOR_STUDENT = "poor_student", "困难学生"
    DISASTER = "disaster", "受灾"


def signal_kind(text: str) -> SignalKind | None:
    """The kind a list names, by its code or its Chinese name."""
    text = text.strip()
    for kind in SignalKind:
        if text in (kind.value, kind.label):
            return kind
    return None


def _kind_by_name(value: object) -> object:
    """A kind sent by its Chinese name, as the uploaded lists may: read as its code (anything else as it is)."""
    return (signal_kind(value) or value) if isinstance(value, str) else value


# A kind in a bureau's signed list: by its code or its Chinese name, as in an uploaded list.
NamedSignalKind = Annotated[SignalKind, BeforeValidator(_kind_by_name)]


class Outcome(LabelledEnum):
    APPLIED = "applied", "已申请救助"
    NOT_ELIGIBLE = "not_eligible", "经核查不符合条件"
    DECLINED = "declined", "本人拒绝"
    NOT_FOUND = "not_found", "查无此人"


class SignalIn(BaseModel):
    """One row of a bureau's list."""

    model_config = ConfigDict(extra="forbid")

    id_number: ResidentId = Field(description="公民身份号码（GB 11643，末位 x 按 X 接收）")
    name: str = Field(min_length=1, max_length=64)
    kind: NamedSignalKind
    signal_on: date = Field(description="信号日期（如费用结算日、残疾证核发日）")
    township_code: str | None = Field(None, pattern=r"^\d{9}$", description="户籍所在乡镇（街道）代码")


class SignalListIn(BaseModel):
    """What a bureau's system posts (signed): its list."""

    model_config = ConfigDict(extra="forbid")

    signals: list[SignalIn] = Field(min_length=1, max_length=20000)


class ListResult(BaseModel):
    list_id: int
    received: int
    assisted: int
    prompted: int
    tasked: int
    duplicates: int
    unplaced: int
    task_ids: list[str] = []


class DiscoveryNames:
    WORKFLOW = "DiscoveryTask"
    RECORD_OUTCOME = "record_outcome"
    STATE = "state"


def discovery_workflow_id(task_id: str) -> str:
    return f"discovery-{task_id}"


class DiscoveryStart(BaseModel):
    """A task's workflow input: no name or ID number (they stay in the database)."""

    task_id: str
    township_code: str = Field(pattern=r"^\d{9}$")
    kind: SignalKind
    created_on: date
    visit_working_days: int = Field(ge=1)


class TaskOpened(BaseModel):
    task_id: str
    visit_due: date


class OutcomeIn(BaseModel):
    """The township's record of its visit."""

    actor: Actor
    outcome: Outcome
    visited_on: date
    note: str = Field("", max_length=500)
    case_id: str | None = Field(None, max_length=64, description="已受理的申请（如有）")


class TaskEscalated(BaseModel):
    task_id: str
    township_code: str
    kind: SignalKind
    visit_due: date
    at: datetime


class OutcomeRecorded(BaseModel):
    task_id: str
    outcome: Outcome
    visited_on: date
    on_time: bool
    actor: Actor
    note: str = ""
    case_id: str | None = None


class DiscoveryState(BaseModel):
    task_id: str
    status: Literal["opening", "open", "escalated", "done"]
    visit_due: date | None = None
    provisional: bool = False  # the deadline runs through a year whose holiday notice is not in the calendar yet
    escalated_at: datetime | None = None
    outcome: Outcome | None = None
    on_time: bool | None = None
