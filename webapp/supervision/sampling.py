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

from infra.clock import today
from schemas.review import AssistanceType
from schemas.staff import Actor
from schemas.supervision import RecheckFinding, SampleDrawn, SupervisionNames
from webapp import authz
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.errors import ApiError
from webapp.render import refused as refused_page
from webapp.render import render_error
from webapp.supervision.common import (
    UNAVAILABLE,
    form_error,
    page,
    previous_month,
    refuse_if_barred,
    refused,
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

_RECHECKS = """
select r.recheck_id, r.workflow_id, r.month, r.case_id, r.township_code, t.name as township_name, r.reason,
       r.status, r.findings, r.home_visit, r.checked_at, coalesce(u.full_name, r.checked_by) as checked_by,
       c.applicant_name, c.assistance_type, c.decided_at, c.monthly_amount_fen, c.category, c.stage
from rechecks r
join places t on t.code = r.township_code
join cases c on c.case_id = r.case_id
left join users u on u.username = r.checked_by
"""
_OF_MONTH = "where r.month = $1 and starts_with(r.township_code, $2) order by r.township_code, r.case_id"
# Per township: this month's draw and findings, and irregular findings of every month so far.
_BY_TOWNSHIP = """
select r.township_code, t.name as township_name,
       count(*) filter (where r.month = $2) as drawn,
       count(*) filter (where r.month = $2 and r.status = 'open') as open,
       count(*) filter (where r.month = $2 and r.status = 'upheld') as upheld,
       count(*) filter (where r.month = $2 and r.status = 'irregular') as irregular,
       count(*) filter (where r.status = 'irregular') as irregular_all
from rechecks r join places t on t.code = r.township_code
where starts_with(r.township_code, $1)
group by 1, 2 order by 1
"""
_CORRECTIONS = """
select k.case_id, k.findings, k.opened_at, k.recheck_id, c.applicant_name, t.name as township_name
from case_corrections k join cases c on c.case_id = k.case_id join places t on t.code = c.township_code
where k.status = 'open' and starts_with(c.township_code, $1)
order by k.opened_at
"""


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
    return await _sampling_page(request, actor, db, valid_month(month), done=done)


async def _sampling_page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    month: str | None,
    *,
    done: str | None = None,
    error: str | None = None,
    draw_month: str | None = None,
    status: int = 200,
) -> Response:
    draws = await db.fetch(
        "select month, seed, share, population, jsonb_array_length(drawn) as drawn, drawn_at "
        "from sampling_draws order by month desc"
    )
    month = month or (draws[0]["month"] if draws else None)
    draw = next((d for d in draws if d["month"] == month), None)
    context = _labels() | {
        "section": "sampling",
        "draws": draws,
        "month": month,
        "draw": draw,
        "rechecks": await db.fetch(_RECHECKS + _OF_MONTH, month, actor.place_code) if draw else [],
        "by_township": await db.fetch(_BY_TOWNSHIP, actor.place_code, month),
        "corrections": await db.fetch(_CORRECTIONS, actor.place_code),
        "can_draw": authz.may(actor, "sampling.draw"),
        "draw_month": draw_month or previous_month(today()),
        "done": done,
        "error": error,
    }
    return page(request, "supervision/sampling.html", context, actor, status=status)


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
        error = "请选择已经结束的月份（本月的决定尚未全部作出）"
        return await _sampling_page(request, actor, db, None, error=error, draw_month=month, status=422)
    if await db.fetchval("select exists(select 1 from sampling_draws where month = $1)", wanted):
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
        failed = {"error": exc.message, "draw_month": month, "status": exc.status}
        return await _sampling_page(request, actor, db, None, **failed)
    except RPCError:
        return await _sampling_page(request, actor, db, None, error=UNAVAILABLE, draw_month=month, status=503)
    return RedirectResponse(f"/supervision/sampling?month={wanted}&done=drawn", status_code=303)


async def _recheck_row(db: asyncpg.Pool, actor: Actor, recheck_id: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        _RECHECKS + "where r.recheck_id = $1 and starts_with(r.township_code, $2)", recheck_id, actor.place_code
    )


@router.get("/supervision/rechecks/{recheck_id}")
async def recheck(request: Request, recheck_id: str, actor: PageActor, db: Db, done: str | None = None) -> Response:
    if denied := refused(request, actor, "sampling"):
        return denied
    return await _recheck_page(request, actor, db, recheck_id, done=bool(done))


async def _recheck_page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    recheck_id: str,
    *,
    done: bool = False,
    error: str | None = None,
    values: dict | None = None,
    status: int = 200,
) -> Response:
    row = await _recheck_row(db, actor, recheck_id)
    if row is None:
        return render_error(request, 404, "该复核不存在", actor)
    events = await db.fetch(
        "select kind, payload->>'summary' as summary, occurred_at, actor from case_events where case_id = $1 "
        "order by occurred_at, id",
        row["case_id"],
    )
    context = _labels() | {
        "section": "sampling",
        "r": row,
        "events": events,
        "can_record": authz.may(actor, "recheck.record") and row["status"] == "open",
        "done": done,
        "error": error,
        "values": values or {"result": "", "findings": "", "home_visit": False},
    }
    return page(request, "supervision/recheck.html", context, actor, status=status)


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
    row = await _recheck_row(db, actor, recheck_id)
    if row is None:
        return render_error(request, 404, "该复核不存在", actor)
    values = {"result": result, "findings": findings, "home_visit": home_visit}
    try:
        finding = RecheckFinding(actor=actor, result=result, findings=findings.strip(), home_visit=home_visit)
        await refuse_if_barred(db, row["case_id"], actor, "recheck")
        await run_update(
            temporal,
            row["workflow_id"],
            SupervisionNames.RECORD_FINDING,
            finding,
            lambda: db.fetchval(
                "select exists(select 1 from rechecks where recheck_id = $1 and status = $2 and checked_by = $3 "
                "and findings = $4)",
                recheck_id,
                finding.result,
                actor.username,
                finding.findings,
            ),
        )
    except ValidationError as exc:
        message = form_error(exc, {"result": "复核结论", "findings": "复核情况"})
        return await _recheck_page(request, actor, db, recheck_id, error=message, values=values, status=422)
    except ApiError as exc:
        failed = {"error": exc.message, "values": values, "status": exc.status}
        return await _recheck_page(request, actor, db, recheck_id, **failed)
    return RedirectResponse(f"/supervision/rechecks/{recheck_id}?done=1", status_code=303)
