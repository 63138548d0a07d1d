"""The review workflow as the web app talks to it, by name through the Temporal client: start a case (a repeat
attaches), ask its state, read the application it was started with."""

from __future__ import annotations

import structlog
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair

from schemas import search
from schemas.review import CaseState, ReviewNames, ReviewStart, workflow_id_for
from webapp.workflow_calls import query, start_or_attach, started_input

log = structlog.get_logger("webapp")


async def start_review(client: Client, start: ReviewStart) -> tuple[WorkflowHandle, bool]:
    """Start the case once; a repeat (running or closed) attaches to it. Returns (handle, newly started)."""
    app = start.application
    return await start_or_attach(
        client,
        ReviewNames.WORKFLOW,
        start,
        id=workflow_id_for(app.application_id),
        search=[
            SearchAttributePair(search.CASE_STAGE, "accepted"),
            SearchAttributePair(search.ASSISTANCE_TYPE, app.assistance_type.value),
            SearchAttributePair(search.TOWNSHIP, app.household.township_code),
        ],
    )


async def case_state(client: Client | None, workflow_id: str, wait: float = 0.0) -> CaseState | None:
    """The workflow's own view of the case, or None if it cannot be asked now (no client, gone, no worker)."""
    if client is None:
        return None
    return await query(client, workflow_id, CaseState, name=ReviewNames.STATE, wait=wait)


async def started_with(client: Client | None, workflow_id: str) -> ReviewStart | None:
    """The application exactly as accepted (the workflow's input, first history event), which holds what
    the database does not keep: incomes, assets, disability, declared relatives. None if the history
    cannot be read now (no client, past retention, server down) or no longer fits today's model."""
    return await started_input(client, workflow_id, ReviewStart)
