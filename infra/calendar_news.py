"""Tell every open review case and emergency event that the working-day calendar changed, so each counts its
deadlines again."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from db import cases_repo, emergency_repo
from db.pool import Db
from schemas.policy import CALENDAR_CHANGED

log = structlog.get_logger(__name__)


async def announce_calendar_change(client: Client, db: Db) -> tuple[int, list[str]]:
    """Signal each open case and emergency event (from the database); returns how many were told and which (case
    or event ids) could not be."""
    cases = [(c.case_id, c.workflow_id) for c in await cases_repo.open_cases(db)]
    open_ = cases + await emergency_repo.open_workflows(db)
    limit = asyncio.Semaphore(16)

    async def signal(subject: str, workflow_id: str) -> str | None:
        async with limit:
            try:
                await client.get_workflow_handle(workflow_id).signal(CALENDAR_CHANGED)
            except RPCError as exc:
                log.warning("calendar signal failed", subject=subject, workflow_id=workflow_id, error=exc.message)
                return subject
        return None

    failed = [s for s in await asyncio.gather(*(signal(s, w) for s, w in open_)) if s]
    return len(open_) - len(failed), failed
