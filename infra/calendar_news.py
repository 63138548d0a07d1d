"""Tell every open case that the working-day calendar changed, so each recomputes its deadline."""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from schemas.review import ReviewNames

log = structlog.get_logger(__name__)


async def announce_calendar_change(client: Client, db: asyncpg.Pool | asyncpg.Connection) -> tuple[int, list[str]]:
    """Signal each open case (from the database); returns how many were told and which could not be."""
    rows = await db.fetch("select case_id, workflow_id from cases where status = 'open' order by case_id")
    limit = asyncio.Semaphore(16)

    async def signal(case_id: str, workflow_id: str) -> str | None:
        async with limit:
            try:
                await client.get_workflow_handle(workflow_id).signal(ReviewNames.CALENDAR_CHANGED)
            except RPCError as exc:
                log.warning("calendar signal failed", case_id=case_id, workflow_id=workflow_id, error=exc.message)
                return case_id
        return None

    failed = [c for c in await asyncio.gather(*(signal(r["case_id"], r["workflow_id"]) for r in rows)) if c]
    return len(rows) - len(failed), failed
