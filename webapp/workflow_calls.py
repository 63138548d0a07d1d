"""The web app's three ways of talking to a workflow, written once: start it (or attach to the one already
started under that id), call an update (its refusal becomes the API's `{"code","message"}` error), and ask
its state. Workflows are called by name through the client, never imported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from pydantic import BaseModel
from structlog.contextvars import bound_contextvars
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from infra.config import TASK_QUEUE
from webapp import idempotency
from webapp.errors import ApiError

log = structlog.get_logger("webapp")

UPDATE_TIMEOUT = timedelta(seconds=30)
QUERY_TIMEOUT = timedelta(seconds=10)

# How a workflow's refusal (an update validator's ApplicationError.type) maps onto HTTP; any other code is 409.
REFUSAL_STATUS = {
    "wrong_role": 403,
    "wrong_bureau": 403,
    "out_of_jurisdiction": 403,
    "recused": 403,
    "own_proposal": 403,  # separation of duties: the ongoing review's proposer does not decide
    "same_person": 403,  # the payroll: who checked the roster does not confirm it
    "invalid": 422,
    "criteria_not_met": 422,
    "amount_above_cap": 422,  # an ongoing review's new amount above the household's cap
}
WORKFLOW_ERROR = ApiError(500, "workflow_error", "处理出错，请联系系统管理员")
CLOSED = ApiError(409, "closed", "已办结，不能再操作")
TIMEOUT = ApiError(504, "timeout", "工作流处理超时，请稍后查看状态")
UNAVAILABLE = ApiError(503, "temporal_unavailable", "工作流服务暂不可用，请稍后再试")


def connected(client: Client | None) -> Client:
    """The app's client; 503 when the app runs without one (or it is not connected yet)."""
    if client is None:
        raise fresh(UNAVAILABLE)
    return client


def fresh(error: ApiError) -> ApiError:
    """A new exception like `error`: one instance raised again and again would pile up tracebacks."""
    return ApiError(error.status, error.code, error.message)


def refusal(exc: WorkflowUpdateFailedError, failed: ApiError = WORKFLOW_ERROR) -> ApiError:
    """The workflow's own refusal, with its code and Chinese message; anything else is `failed` (a 500)."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type:
        return ApiError(REFUSAL_STATUS.get(cause.type, 409), cause.type, cause.message)
    log.error("update failed in workflow", error=str(cause))
    return fresh(failed)


async def update(
    client: Client,
    workflow_id: str,
    name: str,
    payload: BaseModel,
    *,
    result_type: type | None = None,
    update_id: str | None = None,
    closed: ApiError = CLOSED,
    slow: ApiError = TIMEOUT,
    failed: ApiError = WORKFLOW_ERROR,
    applied: Callable[[], Awaitable[bool]] | None = None,
) -> Any:
    """Call update `name` once and return its result.

    `update_id` makes a repeated request (double click, client retry) the same update: Temporal answers
    it with the first one's outcome; by default it is the request's idempotency key (webapp.idempotency).
    A workflow that has closed answers `closed` (409), one that takes too long `slow` (504), an update that
    fails inside the workflow `failed` (500): a route passes its own words where it has them. `applied` is
    for workflows that close as soon as the update is applied, when the server may no longer have the
    outcome: it asks the database whether the update was applied, and the call is then a success.
    """
    handle = client.get_workflow_handle(workflow_id)
    update_id = update_id or idempotency.update_id(name)
    with bound_contextvars(workflow_id=workflow_id, update=name):
        for attempt in range(3):
            try:
                return await handle.execute_update(
                    name, payload, id=update_id, result_type=result_type, rpc_timeout=UPDATE_TIMEOUT
                )
            except WorkflowUpdateFailedError as exc:
                refused = refusal(exc, failed)
                log.info("update refused", code=refused.code)
                raise refused from None
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                raise fresh(slow) from None
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    log.error("update failed", error=exc.message)
                    raise fresh(UNAVAILABLE) from None
                if applied is None:
                    raise fresh(closed) from None
                # a workflow started a moment ago may not take updates yet, or it has closed after applying it
                if await _eventually(applied, tries=25 if attempt == 2 else 1):
                    return None
                if attempt == 2:
                    raise fresh(closed) from None
                await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def _eventually(check: Callable[[], Awaitable[bool]], tries: int) -> bool:
    for i in range(tries):
        if await check():
            return True
        if i < tries - 1:
            await asyncio.sleep(0.2)
    return False


async def start_or_attach(
    client: Client,
    workflow: str,
    arg: BaseModel | str,
    *,
    id: str,
    search: Sequence[SearchAttributePair] = (),
    reuse: WorkflowIDReusePolicy = WorkflowIDReusePolicy.REJECT_DUPLICATE,
    result_type: type | None = None,
) -> tuple[WorkflowHandle, bool]:
    """Start `workflow` under `id` once; a repeat (running or closed, as `reuse` allows) attaches to it instead
    of starting a second one. Returns (handle, whether this call started it); `result_type` is what the
    handle's `result()` decodes."""
    try:
        handle = await client.start_workflow(
            workflow,
            arg,
            id=id,
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=reuse,
            search_attributes=TypedSearchAttributes(list(search)) if search else None,
            result_type=result_type,
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle(id, result_type=result_type), False
    # The server says whether USE_EXISTING attached to a running workflow only in the start response,
    # which the SDK keeps on the handle without a public accessor.
    return handle, handle._start_workflow_response.started


async def started_input(client: Client | None, workflow_id: str, input_type: type) -> Any:
    """The workflow's input (its first history event), decoded as `input_type`; None if the history cannot be
    read now (no client, no such workflow, past retention, server down) or no longer fits today's model."""
    if client is None:
        return None
    handle = client.get_workflow_handle(workflow_id)
    try:
        async for event in handle.fetch_history_events(page_size=1, rpc_timeout=QUERY_TIMEOUT):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [start] = await client.data_converter.decode(payloads, [input_type])
            return start
    except (RPCError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        log.warning("history read failed", workflow_id=workflow_id, error=str(exc))
    return None


async def start_fresh(
    client: Client,
    workflow: str,
    new_no: Callable[[], str],
    start_for: Callable[[str], BaseModel],
    id_for: Callable[[str], str],
) -> str:
    """Start a workflow under a fresh random number; a clash (vanishingly rare) draws another."""
    for _ in range(5):
        no = new_no()
        try:
            await client.start_workflow(
                workflow,
                start_for(no),
                id=id_for(no),
                task_queue=TASK_QUEUE,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            return no
        except WorkflowAlreadyStartedError:
            continue
    raise ApiError(503, "busy", "编号生成冲突，请重试")


async def query(client: Client, workflow_id: str, result_type: type, *, name: str = "state", wait: float = 0.0) -> Any:
    """The workflow's own view (its `state` query), or None when it cannot be asked now (gone, no worker).

    Right after a start the first workflow task may not have run yet, so the caller may `wait` a little;
    the retries back off, since under load each one is a query task more for a busy worker.
    """
    handle = client.get_workflow_handle(workflow_id)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + wait
    pause = 0.1
    while True:
        try:
            return await handle.query(name, result_type=result_type, rpc_timeout=QUERY_TIMEOUT)
        except (WorkflowQueryFailedError, RPCError) as exc:
            if loop.time() >= give_up or (isinstance(exc, RPCError) and exc.status == RPCStatusCode.UNAVAILABLE):
                log.warning("state query failed", workflow_id=workflow_id, error=str(exc))
                return None
        await asyncio.sleep(min(pause, max(0.0, give_up - loop.time())))
        pause = min(pause * 2, 1.6)
