"""Discovery (主动发现) as the pages and the API do it: a bureau's list received (from its staff's upload or its
signed API) and matched in one transaction, a workflow started for each task; the townships' tasks (ID numbers
whole only within the task's jurisdiction, to those who may see whole numbers; masked in lists); the visit's
outcome through the task's workflow; the district's coverage."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import structlog
from structlog.contextvars import bound_contextvars
from temporalio.client import Client
from temporalio.service import RPCError

from db import discovery_repo, discovery_tasks_repo, policy_repo, webhook_repo
from infra import clock
from schemas import webhook
from schemas.discovery import (
    DiscoveryNames,
    DiscoveryStart,
    DiscoveryState,
    ListResult,
    OutcomeIn,
    SignalIn,
    SignalKind,
    discovery_workflow_id,
)
from schemas.identity import mask_id
from schemas.staff import Actor, Bureau
from schemas.webhook import Signed
from webapp import authz
from webapp.discovery.lists import parse_json
from webapp.errors import ApiError, forbidden, not_found
from webapp.workflow_calls import connected, start_or_attach, update

log = structlog.get_logger("webapp")

NOT_HERE = "该主动发现任务不在您的辖区内"
STARTS_AT_ONCE = 16  # workflow starts in flight at once after a list


async def receive(
    db: asyncpg.Pool,
    temporal: Client | None,
    *,
    bureau: Bureau,
    source: str,
    filename: str | None,
    by: str,
    signals: list[SignalIn],
) -> ListResult:
    """Store and match the list (one transaction), then start each new task's workflow. A task whose workflow
    could not be started now stays `new` (shown so) and the result says how many were started."""
    now = clock.now()
    on = clock.today()
    async with db.acquire() as conn, conn.transaction():
        policy = (await policy_repo.in_force(conn, on)).discovery
        list_id = await discovery_repo.create_list(
            conn,
            bureau=bureau.value,
            source=source,
            filename=filename,
            by=by,
            at=now,
            on=on,
            keep_until=on + timedelta(days=policy.retention_days),
            signals=signals,
        )
        result = await discovery_repo.match_list(conn, list_id, on, policy)
    log.info(
        "discovery list matched",
        list_id=list_id,
        bureau=bureau.value,
        received=result.received,
        tasked=result.tasked,
        assisted=result.assisted,
    )
    if temporal is not None and result.task_ids:
        await _start_tasks(db, temporal, result.task_ids, policy.visit_working_days)
    return result


async def _start_tasks(db: asyncpg.Pool, temporal: Client, task_ids: list[str], days: int) -> None:
    gate = asyncio.Semaphore(STARTS_AT_ONCE)

    async def start(task_id: str) -> None:
        row = await discovery_tasks_repo.task(db, task_id)
        assert row is not None
        begin = DiscoveryStart(
            task_id=task_id,
            township_code=row.township_code,
            kind=SignalKind(row.kind),
            created_on=row.created_on,
            visit_working_days=days,
        )
        async with gate:
            try:
                await start_or_attach(temporal, DiscoveryNames.WORKFLOW, begin, id=discovery_workflow_id(task_id))
            except RPCError as exc:
                with bound_contextvars(task_id=task_id):
                    log.warning("discovery task not started", error=exc.message)

    await asyncio.gather(*(start(t) for t in task_ids))


async def receive_signed(
    db: asyncpg.Pool, temporal: Client | None, bureau: str, raw: bytes, given: Signed
) -> ListResult:
    """A bureau system's list, proven by the signature of its webhook endpoint's secret over method, path,
    timestamp, nonce and body (schemas.webhook, as the referral callbacks). Unknown bureaus, bureaus without an
    active endpoint and bad signatures: 401 `bad_signature`; more than 5 minutes off: 401 `stale`; a nonce used
    before: 401 `replayed`."""
    known = bureau in Bureau._value2member_map_
    endpoint = await webhook_repo.bureau_endpoint(db, bureau) if known else None
    now = clock.now()
    why: tuple[str, str] | None = ("bad_signature", "签名缺失或错误")
    if endpoint is not None:
        why = webhook.refusal(endpoint.secret, "POST", webhook.discovery_path(bureau), raw, given, now.timestamp())
        keep = webhook.NONCE_KEEP_SECONDS
        if why is None and not await webhook_repo.first_use_of_nonce(db, bureau, given.nonce, now, keep):
            why = ("replayed", "该请求已处理过，请勿重放；每次请求须使用新的时间戳和随机数")
    if why is not None:
        log.warning("discovery list refused", bureau=bureau if known else "?", code=why[0])
        raise ApiError(401, *why)
    signals = parse_json(raw)
    return await receive(
        db,
        temporal,
        bureau=Bureau(bureau),
        source="api",
        filename=None,
        by=f"bureau-api:{bureau}",
        signals=signals,
    )


def shown(row: discovery_tasks_repo.TaskRow, actor: Actor, whole: bool = False) -> discovery_tasks_repo.TaskRow:
    """The row as `actor` sees it: the ID number whole only on the task's own page, for those who see whole
    numbers (authz `ids.full`) within its jurisdiction; masked everywhere else."""
    full = whole and authz.may(actor, "ids.full") and authz.in_scope(actor, "ids.full", row.township_code)
    return row if full else row.model_copy(update={"id_number": mask_id(row.id_number)})


async def tasks(db: asyncpg.Pool, actor: Actor, status: str | None) -> tuple[list[discovery_tasks_repo.TaskRow], int]:
    authz.require(actor, "discovery.read")
    rows, total = await discovery_tasks_repo.tasks(db, actor.place_code, status)
    return [shown(r, actor) for r in rows], total


async def task(db: asyncpg.Pool, actor: Actor, task_id: str) -> discovery_tasks_repo.TaskRow:
    authz.require(actor, "discovery.read")
    row = await discovery_tasks_repo.task(db, task_id)
    if row is None:
        raise not_found("主动发现任务不存在")
    if not authz.in_scope(actor, "discovery.read", row.township_code):
        raise forbidden(NOT_HERE, "out_of_jurisdiction")
    return shown(row, actor, whole=True)


async def record_outcome(
    db: asyncpg.Pool, temporal: Client | None, actor: Actor, task_id: str, body: OutcomeIn
) -> DiscoveryState:
    """The visit's outcome, through the task's workflow (whose validator has the last word)."""
    authz.require(actor, "discovery.act")
    await task(db, actor, task_id)
    return await update(
        connected(temporal),
        discovery_workflow_id(task_id),
        DiscoveryNames.RECORD_OUTCOME,
        body.model_copy(update={"actor": actor}),
        result_type=DiscoveryState,
    )


async def coverage(db: asyncpg.Pool, actor: Actor) -> list[discovery_tasks_repo.Coverage]:
    authz.require(actor, "discovery.coverage")
    return await discovery_tasks_repo.coverage(db, actor.place_code)
