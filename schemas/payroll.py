"""The monthly payroll (发放) as a workflow: what starts it, what its activities return, its staff actions and
its state. No personal data travels in these payloads: the lines (names, ID numbers, accounts) stay in the
database, where the activities draft them and the web app reads them; a payroll is named by its id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from schemas.staff import Actor

Month = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class PayrollNames:
    MONTH = "PayrollMonth"  # the Schedule's workflow: one payroll per township
    WORKFLOW = "Payroll"
    CHECK = "check_payroll"  # 乡镇（街道）审核花名册
    CONFIRM = "confirm_payroll"  # 区民政局确认
    BANK_RETURN = "bank_return"  # 银行回盘
    STATE = "state"


class PayrollStart(BaseModel):
    township_code: str
    month: Month
    seq: int = Field(0, ge=0, description="0：当月正常发放；1、2…：补充发放")


class PayrollDrafted(BaseModel):
    """What the draft activity wrote: the payroll's id and totals (none when a supplementary run finds
    nothing to pay)."""

    payroll_id: int | None
    lines: int = 0
    amount_fen: int = 0
    held_lines: int = Field(0, description="无发放账户、暂不发放的行")
    held_fen: int = 0


class PayrollCheck(BaseModel):
    actor: Actor
    note: str = Field("", max_length=500)


class PayrollConfirm(BaseModel):
    actor: Actor
    note: str = Field("", max_length=500)


class BankReturn(BaseModel):
    """A bank return file the web app stored (table `payroll_returns`), by its id."""

    actor: Actor
    return_id: int


class PayrollStep(BaseModel):
    payroll_id: int
    action: Literal["check", "confirm"]
    actor: Actor
    note: str = ""
    at: datetime


class ReturnApplied(BaseModel):
    return_id: int
    paid: int = 0
    failed: int = 0
    unmatched: int = Field(0, description="回盘文件中对不上花名册的行")
    tasks: int = 0
    escalated: int = 0
    outstanding: int = Field(0, description="仍无结果的行")


class PayrollState(BaseModel):
    start: PayrollStart
    payroll_id: int | None = None
    status: Literal["drafting", "empty", "draft", "checked", "confirmed", "reconciled"] = "drafting"
    totals: PayrollDrafted | None = None
    checked_by: Actor | None = None
    confirmed_by: Actor | None = None
    returns: list[ReturnApplied] = Field(default_factory=list)


class PayrollMonthResult(BaseModel):
    month: Month
    townships: list[str]
    started: int
