"""The corrections (纠错) an irregular re-check opens in a case: the township's task, shown on the case page with
its findings, and closed with a written outcome by the approver of the case's township or a district officer
(authz `correction.close`), never by staff related to the household (`recused`, as on the re-check). The outcome
goes onto the correction, which the re-check page shows, and into the case's event log; a closed correction leaves
the open list of the sampling page.

A fact of the row, not a workflow step: the re-check's workflow ends with its finding. `close` is what the API
(`POST /api/corrections/{recheck_id}/close`, with an `Idempotency-Key`) and the case page's form
(`POST /cases/{case_id}/corrections/{recheck_id}/close`, webapp.review.case_page) both call; a correction closed
meanwhile answers 409 `closed`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, Field

from db import corrections_repo
from db.corrections_repo import CaseCorrection
from schemas.staff import Actor
from webapp import authz
from webapp.errors import ApiError, forbidden, not_found
from webapp.supervision.common import refuse_if_barred, related

ACTION = "correction.close"
OUTCOME_MIN = 4
NO_OUTCOME = f"请写明纠错处理结果（至少 {OUTCOME_MIN} 个字）"


class CorrectionClose(BaseModel):
    outcome: str = Field(default="", max_length=4000, description=f"纠错处理结果（必填，至少 {OUTCOME_MIN} 个字）")


class CorrectionOut(BaseModel):
    recheck_id: str
    case_id: str
    status: Literal["open", "done"] = Field(description="open：待纠错；done：已办结")
    findings: str = Field(description="抽查复核发现的问题")
    outcome: str | None = Field(description="纠错处理结果")
    closed_by: str | None
    closed_at: datetime | None

    @classmethod
    def of(cls, c: CaseCorrection) -> CorrectionOut:
        return cls.model_validate(c, from_attributes=True)  # the fields of the row the API shows


async def close(
    db: asyncpg.Pool, actor: Actor, recheck_id: str, outcome: str, *, case_id: str | None = None
) -> CaseCorrection:
    """Close the correction re-check `recheck_id` opened (in case `case_id`, where the caller names it)."""
    authz.require(actor, ACTION)
    found = await corrections_repo.correction(db, recheck_id)
    if found is None or (case_id is not None and found.case_id != case_id):
        raise not_found("该纠错不存在")
    if not authz.in_scope(actor, ACTION, found.township_code):
        raise forbidden("该案件不在您的辖区内", "out_of_jurisdiction")
    await refuse_if_barred(db, found.case_id, actor, "correction_close")
    if found.status != "open":
        raise _closed()
    text = outcome.strip()
    if len(text) < OUTCOME_MIN:
        raise ApiError(422, "invalid", NO_OUTCOME, field="outcome")
    if not await corrections_repo.close_correction(db, recheck_id, actor, text):
        raise _closed()
    closed = await corrections_repo.correction(db, recheck_id)
    assert closed is not None
    return closed


def _closed() -> ApiError:
    return ApiError(409, "closed", "该纠错已办结，不能再办理")


async def panel(db: asyncpg.Pool, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    """The case's corrections for its page, each with whether `actor` may close it now."""
    found = await corrections_repo.corrections_of_case(db, case_id)
    if not any(c.status == "open" for c in found) or not authz.may(actor, ACTION):
        return [{"c": c, "can_close": False} for c in found]
    barred = await related(db, case_id, actor.username)
    return [
        {
            "c": c,
            "can_close": c.status == "open" and not barred and authz.in_scope(actor, ACTION, c.township_code),
        }
        for c in found
    ]
