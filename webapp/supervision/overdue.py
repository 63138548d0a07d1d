"""Overdue and escalated cases (`/overdue`) and the district's take-over (接管).

The list reads the `cases` and `escalations` tables the workflow keeps; the take-over goes through
`webapp.review.actions.perform`, exactly like the API, so the workflow's validator has the last word and its
refusal (wrong role, already taken over, closed) is shown as it says it. Supervisors see the list
without the button: they supervise, they do not act on cases.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from db import calendar_repo, case_lists_repo, cases_repo, emergency_repo
from db.cases_repo import CaseRow
from infra.clock import BEIJING, today
from rules.caps import Tier
from rules.stages import STAGE_LABELS, Action
from schemas.review import APPLICATION_ID, TakeOver
from schemas.staff import Actor
from webapp import authz
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.errors import ApiError, chinese_message
from webapp.payloads import body_model
from webapp.render import refused, render
from webapp.review.actions import perform
from webapp.review.cases import CaseId
from webapp.supervision.case_filter import PAGE_SIZE, CaseFilter, page_links, township_options

router = APIRouter(include_in_schema=False)

ESCALATION_LABELS = {
    "overdue": "超过承诺办结时限",
    "statutory_overdue": "超过法定办理时限",
    "verification_overdue": "核对结果逾期",
    "payroll_unpaid": "保障金连续未发放成功",
    "duplicate_recipient": "已在他户在册，暂不发放",
}
TakeOverBody = body_model(TakeOver)


class Flash(BaseModel):
    case_id: str
    message: str
    ok: bool = False


async def overdue_page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    filters: CaseFilter,
    flash: Flash | None = None,
    status: int = 200,
) -> Response:
    found = await case_lists_repo.page_of_overdue(
        db, actor.place_code, filters.township, page=filters.page, page_size=PAGE_SIZE
    )
    total, page = found.total, found.page
    pages = max(1, math.ceil(total / PAGE_SIZE))
    context = {
        "rows": await _with_escalations(db, found.rows),
        "total": total,
        "page": page,
        "pages": pages,
        "page_links": page_links(page, pages),
        "filters": CaseFilter(township=filters.township, page=page),  # only these two apply here
        "townships": await township_options(db, actor),
        "can_take_over": authz.may(actor, "case.act"),  # the district officer: the supervisor only reads
        "flash": flash,
        "today": today(),
        # emergency events unpaid past their 24 hours, or with a payment's documents past their deadline
        "emergencies": await emergency_repo.overdue_events(db, actor.place_code, filters.township),
        "tier_labels": {t.value: t.label for t in Tier},
        "beijing": BEIJING,
    }
    return render(request, "supervisor/overdue.html", context, status=status, actor=actor)


async def _with_escalations(db: asyncpg.Pool, rows: list[CaseRow]) -> list[dict[str, Any]]:
    """Each case with its escalations (and who took them over) and working days past its deadline."""
    escalations = await cases_repo.escalations_of(db, [r.case_id for r in rows])
    by_case: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async with db.acquire() as conn:
        cal = await calendar_repo.load_calendar(conn)
    on = today()
    for e in escalations:
        by_case[e.case_id].append(
            asdict(e)
            | {
                "taker": e.taker,
                "label": ESCALATION_LABELS.get(e.kind, e.kind),
                "days_late": cal.working_days_between(e.deadline, on),
                "at_local": e.created_at.astimezone(BEIJING),
                "taken_local": e.taken_over_at.astimezone(BEIJING) if e.taken_over_at else None,
            }
        )
    views = []
    for r in rows:
        taken = next((e for e in by_case[r.case_id] if e["taken_over_by"]), None)
        views.append(
            dict(r)
            | {
                "type_label": r.assistance_type.label,
                "stage_label": STAGE_LABELS.get(r.stage, r.stage),
                "days_overdue": cal.working_days_between(r.deadline, on) if r.deadline else 0,
                "escalations": by_case[r.case_id],
                "taken_over": taken,
            }
        )
    return views


@router.get("/overdue")
async def overdue(
    request: Request,
    actor: PageActor,
    db: Db,
    filters: Annotated[CaseFilter, Query()],
    taken: Annotated[str | None, Query(pattern=APPLICATION_ID)] = None,
) -> Response:
    """Open cases past their deadline or escalated to the district, the longest overdue first."""
    if denied := refused(request, actor, "overdue.view"):
        return denied
    flash = Flash(case_id=taken, message="", ok=True) if taken else None
    return await overdue_page(request, actor, db, filters, flash)


@router.post("/overdue/{case_id}/take-over")
async def take_over(
    request: Request,
    case_id: CaseId,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Post/redirect/get on success; on refusal the list again, with the workflow's (or the API's) message."""
    if denied := refused(request, actor, "overdue.view"):
        return denied
    body = TakeOverBody.model_construct(reason=reason.strip())
    try:
        await perform(db, temporal, case_id, actor, Action.TAKE_OVER, body)
    except ApiError as exc:
        flash = Flash(case_id=case_id, message=exc.message)
        return await overdue_page(request, actor, db, CaseFilter(), flash, status=exc.status)
    except RequestValidationError as exc:
        message = "；".join(chinese_message({**e, "loc": ()}) for e in exc.errors())
        flash = Flash(case_id=case_id, message=f"接管理由{message}")
        return await overdue_page(request, actor, db, CaseFilter(), flash, status=422)
    return RedirectResponse(f"/overdue?taken={case_id}", status_code=303)
