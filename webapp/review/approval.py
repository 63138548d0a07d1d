"""The approval form (审核确认表) as a PDF, `/cases/{case_id}/approval.pdf`, for the paper file: read the
record (`approval_data`), lay it out (`approval_layout`)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from infra import clock
from webapp import access_log
from webapp.access_log import Kind
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.render import refused
from webapp.review.approval_data import form_data
from webapp.review.approval_layout import build_pdf
from webapp.review.cases import CaseId, case_row, shows_full_ids

log = structlog.get_logger("webapp")
router = APIRouter(include_in_schema=False)


@router.get("/cases/{case_id}/approval.pdf")
async def approval_pdf(
    request: Request, case_id: CaseId, actor: PageActor, db: Db, temporal: MaybeTemporal
) -> Response:
    """Same readers and jurisdiction as the case page (`case_row`); bureau staff never."""
    if denied := refused(request, actor, "case.read"):
        return denied
    case = await case_row(db, case_id, actor)
    await access_log.record(request, actor, Kind.CASE_PDF, case_id)
    data = await form_data(db, temporal, case)
    body = await run_in_threadpool(build_pdf, data, actor, clock.now())
    full_ids = shows_full_ids(actor, data.case)
    log.info("approval form printed", case_id=case_id, by=actor.username, full_ids=full_ids)
    return Response(
        body,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="approval-{case_id}.pdf"', "cache-control": "no-store"},
    )
