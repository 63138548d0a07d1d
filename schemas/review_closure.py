"""Closing a review case before enrolment (撤回, 终止): the payloads of the two staff actions, re-exported by
`schemas.review` (whose `ACTION_PAYLOADS` names them)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from schemas.staff import Actor

__all__ = ["Termination", "Withdrawal"]


class Withdrawal(BaseModel):
    """撤回: the applicant asked in writing to withdraw the application; the caseworker records the signed
    statement (its date and reference: the file number of the signed paper)."""

    actor: Actor
    statement_signed_on: date = Field(description="申请人签署撤回申请书的日期")
    statement_ref: str = Field(min_length=1, max_length=100, description="撤回申请书编号（存档号）")
    reason: str = Field(default="", max_length=1000, description="申请人说明的撤回原因")


class Termination(BaseModel):
    """终止: the approver ends the review before enrolment, with written reasons (e.g. the household moved away,
    the applicant died, the application was entered by mistake)."""

    actor: Actor
    reasons: str = Field(min_length=4, max_length=2000, description="终止审核的书面理由")
