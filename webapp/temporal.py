"""The web app's only contact with the review workflow: by name, through the Temporal client."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog
from fastapi import Request
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from infra.config import TASK_QUEUE
from schemas import search
from schemas.review import CaseState, ReviewNames, ReviewStart, workflow_id_for
from webapp.errors import ApiError

log = structlog.get_logger("webapp")

QUERY_TIMEOUT = timedelta(seconds=10)


def client(request: Request) -> Client:
    found = request.app.state.client
    if found is None:
        raise ApiError(503, "temporal_unavailable", "工作流服务暂不可用，请稍后再试")
    return found


async def start_review(client: Client, start: ReviewStart) -> tuple[WorkflowHandle, bool]:
    """Start the case once; a repeat (running or closed) attaches to it. Returns (handle, newly started)."""
    app = start.application
    workflow_id = workflow_id_for(app.application_id)
    try:
        handle = await client.start_workflow(
            ReviewNames.WORKFLOW,
            start,
            id=workflow_id,
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search.CASE_STAGE, "accepted"),
                    SearchAttributePair(search.ASSISTANCE_TYPE, app.assistance_type.value),
                    SearchAttributePair(search.TOWNSHIP, app.household.township_code),
                ]
            ),
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle(workflow_id), False
    # The server says whether USE_EXISTING attached to a running workflow only in the start response,
    # which the SDK keeps on the handle without a public accessor.
    return handle, handle._start_workflow_response.started


async def query_state(handle: WorkflowHandle, wait: float = 0.0) -> CaseState | None:
    """The workflow's own view of the case, or None if it cannot be asked now (gone, no worker).

    Right after a start the first workflow task may not have run yet, so the caller may `wait` a little;
    the retries back off, since under load each one is a query task more for a busy worker.
    """
    loop = asyncio.get_running_loop()
    give_up = loop.time() + wait
    pause = 0.1
    while True:
        try:
            return await handle.query(ReviewNames.STATE, result_type=CaseState, rpc_timeout=QUERY_TIMEOUT)
        except (WorkflowQueryFailedError, RPCError) as exc:
            if loop.time() >= give_up or (isinstance(exc, RPCError) and exc.status == RPCStatusCode.UNAVAILABLE):
                log.warning("state query failed", workflow_id=handle.id, error=str(exc))
                return None
        await asyncio.sleep(min(pause, max(0.0, give_up - loop.time())))
        pause = min(pause * 2, 1.6)


async def started_with(client: Client, workflow_id: str) -> ReviewStart | None:
    """The application exactly as accepted (the workflow's input, first history event), which holds what
    the database does not keep: incomes, assets, disability, declared relatives. None if the history
    cannot be read now (past retention, server down) or no longer fits today's model."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        async for event in handle.fetch_history_events(page_size=1, rpc_timeout=QUERY_TIMEOUT):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [start] = await client.data_converter.decode(payloads, [ReviewStart])
            return start
    except (RPCError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        log.warning("history read failed", workflow_id=workflow_id, error=str(exc))
    return None
