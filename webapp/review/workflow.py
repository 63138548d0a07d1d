"""The review workflow as the web app talks to it, by name through the Temporal client: start a case (a repeat
attaches), ask its state, read the application it was started with."""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from temporalio.client import Client, WorkflowHandle

from db import events_repo
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
        search=search.at_start(app.assistance_type.value, app.household.township_code),
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


# How long a form's answer waits for the case to settle before the page shows what there is.
SETTLE_SECONDS = 10.0


def moving_on(state: CaseState) -> bool:
    """Whether the workflow is still moving the case on by itself: requesting the data check right after
    acceptance, opening the notice after an approval."""
    return state.stage == "accepted" or (state.stage == "decision" and state.decision is not None)


async def settled(
    db: asyncpg.Pool, client: Client | None, case_id: str, workflow_id: str, event_key: str | None = None
) -> CaseState | None:
    """The case's state once the workflow has moved it on and the database shows it (the stage, and the event
    `event_key` an update answered with), so that the page after a form shows the new state at once; what there
    is after `SETTLE_SECONDS`."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + SETTLE_SECONDS
    state = None
    while client is not None:
        state = await case_state(client, workflow_id, wait=1.0)
        if state is not None and not moving_on(state) and await events_repo.shows(db, case_id, state.stage, event_key):
            return state
        if loop.time() >= give_up:
            return state
        await asyncio.sleep(0.1)
    return state
