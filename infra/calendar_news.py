"""Tell every open case that the working-day calendar changed, so each recomputes its deadline."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from db import cases_repo
from db.pool import Db
from schemas.review import ReviewNames

log = structlog.get_logger(__name__)


async def announce_calendar_change(client: Client, db: Db) -> tuple[int, list[str]]:
    """Signal each open case (from the database); returns how many were told and which could not be."""
    cases = await cases_repo.open_cases(db)
    limit = asyncio.Semaphore(16)

    async def signal(case: cases_repo.CaseRef) -> str | None:
        async with limit:
            try:
                await client.get_workflow_handle(case.workflow_id).signal(ReviewNames.CALENDAR_CHANGED)
            except RPCError as exc:
                log.warning(
                    "calendar signal failed", case_id=case.case_id, workflow_id=case.workflow_id, error=exc.message
                )
                return case.case_id
        return None

    failed = [c for c in await asyncio.gather(*(signal(c) for c in cases)) if c]
    return len(cases) - len(failed), failed
