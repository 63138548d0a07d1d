"""Discovery over HTTP (主动发现): bureau staff upload a list, a bureau's system posts one signed (the referral
webhook's signature), townships read their tasks and record outcomes, the district reads the coverage."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from schemas import webhook
from schemas.discovery import DiscoveryState, ListResult, OutcomeIn, SignalKind
from schemas.staff import Actor
from webapp import access_log
from webapp.access_log import Kind
from webapp.deps import CurrentActor, Db, MaybeTemporal, permitted
from webapp.discovery import service
from webapp.discovery.lists import parse
from webapp.discovery.models import CoverageRow, OutcomeBody, TaskList, TaskOut, UploadIn
from webapp.errors import forbidden
from webapp.frontdoor.models import ERRORS
from webapp.uploads import decoded

router = APIRouter(prefix="/api/discovery", tags=["主动发现"])
TaskId = Path(pattern=r"^FX-\d{1,18}$", description="主动发现任务编号")
Uploader = Annotated[Actor, permitted("discovery.upload")]


def task_out(row) -> TaskOut:
    return TaskOut(**row.model_dump(), kind_label=SignalKind(row.kind).label)


@router.post("/lists", status_code=201, response_model=ListResult, summary="上传主动发现名单", responses=ERRORS)
async def upload(body: UploadIn, actor: Uploader, db: Db, temporal: MaybeTemporal) -> ListResult:
    """A bureau's list (.csv or .xlsx, base64): people with a signal. Matched at once; the answer counts those
    already assisted, the review prompts and the tasks created."""
    if actor.bureau is None:
        raise forbidden("您的账户未关联部门")
    data = decoded(body.content_base64, "文件内容须为 base64 编码")
    signals = parse(data, body.filename)
    return await service.receive(
        db, temporal, bureau=actor.bureau, source="upload", filename=body.filename, by=actor.username, signals=signals
    )


@router.post(
    "/bureaus/{bureau}/lists",
    status_code=201,
    response_model=ListResult,
    summary="部门系统推送主动发现名单（签名对接）",
    responses=ERRORS,
)
async def signed_upload(request: Request, db: Db, temporal: MaybeTemporal, bureau: str = Path(max_length=32)):
    """No log-in: signed as the referral callbacks are (README "Bureau webhook"), over the path
    `/api/discovery/bureaus/<bureau>/lists`. Body `{"signals": [{"id_number", "name", "kind", "signal_on",
    "township_code"}]}`. 401 `bad_signature` / `stale` / `replayed`."""
    given = webhook.Signed(
        request.headers.get(webhook.SIGNATURE_HEADER, ""),
        request.headers.get(webhook.TIMESTAMP_HEADER, ""),
        request.headers.get(webhook.NONCE_HEADER, ""),
    )
    return await service.receive_signed(db, temporal, bureau, await request.body(), given)


@router.get("/tasks", response_model=TaskList, summary="主动发现任务（本辖区）", responses=ERRORS)
async def list_tasks(
    actor: CurrentActor,
    db: Db,
    status: Literal["open", "new", "escalated", "applied", "not_eligible", "declined", "not_found"] | None = Query(
        "open"
    ),
) -> TaskList:
    rows, total = await service.tasks(db, actor, status)
    return TaskList(items=[task_out(r) for r in rows], total=total)


@router.get("/tasks/{task_id}", response_model=TaskOut, summary="主动发现任务详情", responses=ERRORS)
async def get_task(request: Request, actor: CurrentActor, db: Db, task_id: str = TaskId) -> TaskOut:
    row = await service.task(db, actor, task_id)
    await access_log.record(request, actor, Kind.DISCOVERY, task_id)
    return task_out(row)


@router.post("/tasks/{task_id}/outcome", response_model=DiscoveryState, summary="录入入户核实结果", responses=ERRORS)
async def record_outcome(
    body: OutcomeBody, actor: CurrentActor, db: Db, temporal: MaybeTemporal, task_id: str = TaskId
) -> DiscoveryState:
    """Applied / not eligible / declined / not found, by the township (the district once reported late); the
    task's workflow refuses at once what is not allowed. Send an `Idempotency-Key`."""
    full = OutcomeIn(actor=actor, **body.model_dump())
    return await service.record_outcome(db, temporal, actor, task_id, full)


@router.get("/coverage", response_model=list[CoverageRow], summary="主动发现覆盖情况（按乡镇）", responses=ERRORS)
async def coverage(actor: CurrentActor, db: Db) -> list[CoverageRow]:
    return [CoverageRow(**asdict(c)) for c in await service.coverage(db, actor)]
