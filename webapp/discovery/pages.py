"""Discovery pages (主动发现): bureau staff upload a list (/bureau/discovery), townships see their tasks and record
the visit (/discovery), the district sees the coverage per township (/dashboard/discovery). They call what the
API calls (webapp.discovery.service), so both refuse alike."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from db import discovery_repo
from infra import clock
from schemas.discovery import Outcome, OutcomeIn, SignalKind
from webapp import access_log, authz
from webapp.access_log import Kind
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.discovery import service
from webapp.discovery.lists import parse
from webapp.errors import ApiError
from webapp.render import Feedback, form_model, page_or_refusal, render, render_error
from webapp.uploads import decoded

router = APIRouter(include_in_schema=False)
LABELS = {
    "kind_labels": {k.value: k.label for k in SignalKind},
    "outcome_labels": {o.value: o.label for o in Outcome},
}


async def _bureau_page(request: Request, actor, db, result=None, feedback: Feedback = Feedback()):
    authz.require(actor, "discovery.upload")
    lists = await discovery_repo.lists(db, actor.bureau.value if actor.bureau else "")
    context = LABELS | {"lists": lists, "result": result, **feedback.context("error")}
    return render(request, "discovery/upload.html", context, actor=actor, status=feedback.status)


@router.get("/bureau/discovery")
async def upload_page(request: Request, actor: PageActor, db: Db) -> Response:
    return await page_or_refusal(request, actor, _bureau_page(request, actor, db))


@router.post("/bureau/discovery")
async def upload(
    request: Request,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
    filename: Annotated[str, Form()] = "",
    content_base64: Annotated[str, Form()] = "",
) -> Response:
    """The page reads the chosen file in the browser and posts it as base64 text (a multipart upload would not
    get past the CSRF middleware; see webapp/admin/calendar.py)."""
    try:
        authz.require(actor, "discovery.upload")
        if actor.bureau is None or not filename.lower().endswith((".csv", ".xlsx")) or not content_base64:
            raise ApiError(422, "invalid", "名单文件：请选择 .csv 或 .xlsx 文件")
        data = decoded(content_base64, "名单文件：内容无法读取，请重新选择文件")
        signals = parse(data, filename)
        result = await service.receive(
            db, temporal, bureau=actor.bureau, source="upload", filename=filename, by=actor.username, signals=signals
        )
    except ApiError as exc:
        if exc.status == 403:
            return render_error(request, exc.status, exc.message, actor)
        return await _bureau_page(request, actor, db, feedback=Feedback.refused(exc))
    return await _bureau_page(request, actor, db, result=result)


@router.get("/discovery")
async def tasks_page(request: Request, actor: PageActor, db: Db, status: str = "open") -> Response:
    chosen = status if status in ("open", "applied", "not_eligible", "declined", "not_found") else "open"
    try:
        rows, total = await service.tasks(db, actor, chosen)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    context = LABELS | {"rows": rows, "total": total, "status": chosen, "today": clock.today()}
    return render(request, "discovery/tasks.html", context, actor=actor)


async def _task_page(request: Request, actor, db, task_id: str, feedback: Feedback = Feedback()):
    row = await service.task(db, actor, task_id)
    await access_log.record(request, actor, Kind.DISCOVERY, task_id)
    may_act = authz.may(actor, "discovery.act") and row.status in ("open", "escalated")
    context = LABELS | {"t": row, "may_act": may_act, **feedback.context("error"), "today": clock.today()}
    return render(request, "discovery/task.html", context, actor=actor, status=feedback.status)


@router.get("/discovery/{task_id}")
async def task_page(request: Request, actor: PageActor, db: Db, task_id: str) -> Response:
    return await page_or_refusal(request, actor, _task_page(request, actor, db, task_id))


OutcomeForm = form_model("OutcomeForm", "outcome visited_on note case_id")


@router.post("/discovery/{task_id}/outcome")
async def outcome(
    request: Request,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
    task_id: str,
    fields: Annotated[OutcomeForm, Form()],
) -> Response:
    try:
        authz.require(actor, "discovery.act")
        await service.task(db, actor, task_id)  # 404 / 403 before the form is read
        try:
            body = OutcomeIn(
                actor=actor,
                outcome=fields.outcome,
                visited_on=fields.visited_on,
                note=fields.note.strip(),
                case_id=fields.case_id.strip() or None,
            )
        except ValidationError:
            raise ApiError(422, "invalid", "请选择核实结果并填写入户核实日期") from None
        await service.record_outcome(db, temporal, actor, task_id, body)
    except ApiError as exc:
        if exc.status in (403, 404):
            return render_error(request, exc.status, exc.message, actor)
        return await _task_page(request, actor, db, task_id, Feedback.refused(exc))
    return RedirectResponse(f"/discovery/{task_id}", status_code=303)


@router.get("/dashboard/discovery")
async def coverage_page(request: Request, actor: PageActor, db: Db) -> Response:
    try:
        rows = await service.coverage(db, actor)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    totals = {f: sum(getattr(r, f) for r in rows) for f in ("received", "assisted", "tasked", "visited_on_time")}
    totals |= {f: sum(getattr(r, f) for r in rows) for f in ("prompted", "duplicates", "escalated", "applied")}
    totals["approved"] = sum(r.approved for r in rows)
    return render(request, "discovery/coverage.html", {"rows": rows, "totals": totals}, actor=actor)
