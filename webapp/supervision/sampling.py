"""Sampling and re-checks (`/supervision/sampling`): the month's recorded draw, each re-check with the
district officer's finding, irregular findings counted against the township, open corrections.

District officers draw a month on demand and record findings; supervisors read. A month is drawn at
most once: the first draw is the one kept (the workflow records it), and the page starts the workflow
only for a month without a draw, because re-running it after re-checks have finished would start
fresh re-check workflows for cases already checked.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from db import corrections_repo, events_repo, supervision_repo
from infra.clock import today
from schemas.review import AssistanceType
from schemas.staff import Actor
from schemas.supervision import RecheckFinding, SampleDrawn, SupervisionNames
from webapp import authz
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.documents.panel import panel_if_readable
from webapp.errors import ApiError
from webapp.render import Feedback, render_error
from webapp.render import refused as refused_page
from webapp.supervision.common import (
    UNAVAILABLE,
    form_error,
    page,
    previous_month,
    refuse_if_barred,
    refused,
    related,
    run_for_month,
    run_update,
    valid_month,
)

router = APIRouter(include_in_schema=False)

DRAW_WAIT_SECONDS = 30
REASON_LABELS = {
    "relatives_match": "近亲属备案命中（必抽）",
    "complaint": "有投诉（必抽）",
    "override": "审批金额与测算不一致（必抽）",
    "random": "随机抽取",
}
RECHECK_STATUS = {"open": "待复核", "upheld": "维持", "irregular": "发现问题"}


def _labels() -> dict:
    return {
        "reason_labels": REASON_LABELS,
        "status_labels": RECHECK_STATUS,
        "type_labels": {t.value: t.label for t in AssistanceType},
    }


@router.get("/supervision/sampling")
async def sampling(
    request: Request, actor: PageActor, db: Db, month: str | None = None, done: str | None = None
) -> Response:
    if denied := refused(request, actor, "sampling"):
        return denied
    return await _sampling_page(request, actor, db, valid_month(month), Feedback(done=done))


async def _sampling_page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    month: str | None,
    feedback: Feedback = Feedback(),
    draw_month: str | None = None,
) -> Response:
    """`draw_month` is the month typed in a refused draw form, shown again."""
    draws = await supervision_repo.draws(db)
    month = month or (draws[0].month if draws else None)
    draw = next((d for d in draws if d.month == month), None)
    context = _labels() | {
        "section": "sampling",
        "draws": draws,
        "month": month,
        "draw": draw,
        "rechecks": await supervision_repo.rechecks_of_month(db, draw.month, actor.place_code) if draw else [],
        "by_township": await supervision_repo.findings_by_township(db, actor.place_code, month),
        "corrections": await corrections_repo.open_corrections(db, actor.place_code),
        "can_draw": authz.may(actor, "sampling.draw"),
        "draw_month": draw_month or previous_month(today()),
        **feedback.context("done", "error"),
    }
    return page(request, "supervision/sampling.html", context, actor, status=feedback.status)


@router.post("/supervision/sampling/draw")
async def draw_month(
    request: Request, actor: PageActor, db: Db, temporal: MaybeTemporal, month: Annotated[str, Form()] = ""
) -> Response:
    """Draw a finished month now (the schedule does it on the 1st); a month already drawn is only shown.

    A run that already completed is attached to (its result is at hand at once); a failed one is run again."""
    if denied := refused_page(request, actor, "sampling.draw"):
        return denied
    wanted = valid_month(month)
    if wanted is None or wanted >= f"{today():%Y-%m}":
        refusal = Feedback.refused("请选择已经结束的月份（本月的决定尚未全部作出）")
        return await _sampling_page(request, actor, db, None, refusal, draw_month=month)
    if await supervision_repo.is_drawn(db, wanted):
        return RedirectResponse(f"/supervision/sampling?month={wanted}&done=already", status_code=303)
    try:
        await run_for_month(
            temporal,
            SupervisionNames.SAMPLING,
            wanted,
            id=f"sampling-{wanted}",
            reuse=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            result_type=SampleDrawn,
            seconds=DRAW_WAIT_SECONDS,
        )
    except TimeoutError:
        return RedirectResponse(f"/supervision/sampling?month={wanted}&done=running", status_code=303)
    except ApiError as exc:
        return await _sampling_page(request, actor, db, None, Feedback.refused(exc), draw_month=month)
    except RPCError:
        unavailable = Feedback.refused(UNAVAILABLE, status=503)
        return await _sampling_page(request, actor, db, None, unavailable, draw_month=month)
    return RedirectResponse(f"/supervision/sampling?month={wanted}&done=drawn", status_code=303)


@router.get("/supervision/rechecks/{recheck_id}")
async def recheck(request: Request, recheck_id: str, actor: PageActor, db: Db, done: str | None = None) -> Response:
    if denied := refused(request, actor, "sampling"):
        return denied
    return await _recheck_page(request, actor, db, recheck_id, Feedback(done=done))


async def _recheck_page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    recheck_id: str,
    feedback: Feedback = Feedback(),
) -> Response:
    row = await supervision_repo.recheck(db, recheck_id, actor.place_code)
    if row is None:
        return render_error(request, 404, "该复核不存在", actor)
    events = await events_repo.event_log(db, row.case_id)
    context = _labels() | {
        "section": "sampling",
        "r": row,
        "events": events,
        "correction": await corrections_repo.correction(db, recheck_id),  # what an irregular finding opened
        "can_record": authz.may(actor, "recheck.record")
        and row.status == "open"
        and not await related(db, row.case_id, actor.username),
        "done": bool(feedback.done),  # the template says only that the finding is recorded
        **feedback.context("error"),
        "values": feedback.values or {"result": "", "findings": "", "home_visit": False},
        "documents_panel": await panel_if_readable(
            db, None, "case", row.case_id, actor
        ),  # the evidence the re-check looks at (a case's recusal is in the database: no Temporal asked)
    }
    return page(request, "supervision/recheck.html", context, actor, status=feedback.status)


@router.post("/supervision/rechecks/{recheck_id}")
async def record_finding(
    request: Request,
    recheck_id: str,
    result: Annotated[str, Form()] = "",
    findings: Annotated[str, Form()] = "",
    home_visit: Annotated[bool, Form()] = False,
    *,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
) -> Response:
    """The finding goes to the re-check workflow, whose activity writes the row and, if irregular,
    opens the correction in the original case."""
    if denied := refused_page(request, actor, "recheck.record"):
        return denied
    row = await supervision_repo.recheck(db, recheck_id, actor.place_code)
    if row is None:
        return render_error(request, 404, "该复核不存在", actor)
    values = {"result": result, "findings": findings, "home_visit": home_visit}
    try:
        finding = RecheckFinding(actor=actor, result=result, findings=findings.strip(), home_visit=home_visit)
        await refuse_if_barred(db, row.case_id, actor, "recheck")
        await run_update(
            temporal,
            row.workflow_id,
            SupervisionNames.RECORD_FINDING,
            finding,
            lambda: supervision_repo.finding_recorded(db, recheck_id, finding.result, actor.username, finding.findings),
        )
    except ValidationError as exc:
        refusal = Feedback.refused(form_error(exc, {"result": "复核结论", "findings": "复核情况"}), values)
        return await _recheck_page(request, actor, db, recheck_id, refusal)
    except ApiError as exc:
        return await _recheck_page(request, actor, db, recheck_id, Feedback.refused(exc, values))
    return RedirectResponse(f"/supervision/rechecks/{recheck_id}?done=1", status_code=303)
