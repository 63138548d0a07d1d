"""A workflow's own event log: entries kept in workflow state and written to the database in order by an
idempotent activity keyed by their sequence number, so a replayed write changes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from schemas.staff import Actor

ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=10),  # all are quick database writes; a dead worker costs 10 s
    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
)


class Journal:
    def __init__(self) -> None:
        self.log: list[dict] = []
        self.persisted = 0
        self.db_lock = asyncio.Lock()

    def note(self, kind: str, actor: Actor | None, payload: dict, summary: str) -> str:
        key = f"{len(self.log) + 1:04d}-{kind}"
        self.log.append(
            {
                "log_key": key,
                "kind": kind,
                "actor": actor.username if actor else None,
                "at": workflow.now().isoformat(),
                "summary": summary,
                "payload": payload,
            }
        )
        return key

    def log_write(self, entry: dict) -> tuple[str, Any]:
        """The activity that writes `entry` and its argument, which carries the workflow's current status."""
        raise NotImplementedError

    async def persist(self) -> None:
        """Write pending entries in order; whichever caller holds the lock writes the newest status."""
        async with self.db_lock:
            while self.persisted < len(self.log):
                activity, arg = self.log_write(self.log[self.persisted])
                await workflow.execute_activity(activity, arg, **ACTIVITY)
                self.persisted += 1
