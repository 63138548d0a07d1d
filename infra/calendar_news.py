"""Tell every open workflow with a working-day deadline that the working-day calendar changed, so each counts its
deadlines again: review cases in review, refused cases whose refusal notice is still to be delivered, emergency
events, the front door's requests not answered, referrals and complaints, and discovery tasks not yet visited."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from db import cases_repo, discovery_tasks_repo, emergency_repo, frontdoor_repo
from db.pool import Db
from schemas.discovery import discovery_workflow_id
from schemas.policy import CALENDAR_CHANGED

log = structlog.get_logger(__name__)


async def announce_calendar_change(client: Client, db: Db) -> tuple[int, list[str]]:
    """Signal each open workflow (found in the database); returns how many were told and which (case, event,
    request, referral, complaint or task ids) could not be."""
    cases = [(c.case_id, c.workflow_id) for c in await cases_repo.open_cases(db)]
    tasks = [(t, discovery_workflow_id(t)) for t in await discovery_tasks_repo.open_ids(db)]
    open_ = cases + await emergency_repo.open_workflows(db) + await frontdoor_repo.open_dated_workflows(db) + tasks
    # a case refused before its workflow waited for the notice's delivery has no workflow left to tell
    refused = [(c.case_id, c.workflow_id) for c in await cases_repo.refusals_undelivered(db)]
    limit = asyncio.Semaphore(16)

    async def signal(subject: str, workflow_id: str, gone_is_fine: bool = False) -> str | None:
        async with limit:
            try:
                await client.get_workflow_handle(workflow_id).signal(CALENDAR_CHANGED)
            except RPCError as exc:
                if gone_is_fine and exc.status == RPCStatusCode.NOT_FOUND:
                    return ""
                log.warning("calendar signal failed", subject=subject, workflow_id=workflow_id, error=exc.message)
                return subject
        return None

    told = await asyncio.gather(
        *(signal(s, w) for s, w in open_), *(signal(s, w, gone_is_fine=True) for s, w in refused)
    )
    return told.count(None), [s for s in told if s]
