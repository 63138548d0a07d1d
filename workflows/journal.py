"""The one event log of every workflow: entries kept in workflow state and written to the database in
order by an idempotent activity keyed by their sequence number (`0007-home_visit`), so a replayed write
changes nothing. Each workflow says how an entry is written, with the summary of its row as it is then."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from schemas.review import TimelineEntry
    from schemas.staff import Actor


@dataclass
class Entry:
    key: str
    kind: str
    actor: str | None
    actor_role: str | None
    at: datetime
    summary: str
    payload: dict = field(default_factory=dict)
    stage: str | None = None  # where the workflow has one: its stage when the entry was made


class Journal:
    def __init__(self, write: Callable[[Entry], Awaitable[None]], stage: Callable[[], str] | None = None) -> None:
        self.entries: list[Entry] = []
        self.persisted = 0
        self.lock = asyncio.Lock()
        self.write = write
        self.stage = stage

    def note(self, kind: str, actor: Actor | None, payload: dict, summary: str) -> str:
        """Add an entry; returns its key."""
        kind = str(kind)
        key = f"{len(self.entries) + 1:04d}-{kind}"
        self.entries.append(
            Entry(
                key=key,
                kind=kind,
                actor=actor.username if actor else None,
                actor_role=actor.role.value if actor else None,
                at=workflow.now(),
                summary=summary,
                payload=payload,
                stage=self.stage() if self.stage else None,
            )
        )
        return key

    async def record(self, kind: str, actor: Actor | None, payload: dict, summary: str) -> str:
        """Add an entry and write what is pending, this entry included; returns its key."""
        key = self.note(kind, actor, payload, summary)
        await self.persist()
        return key

    async def persist(self) -> None:
        """Write pending entries in order; whichever caller holds the lock writes the newest summary."""
        async with self.lock:
            while self.persisted < len(self.entries):
                await self.write(self.entries[self.persisted])
                self.persisted += 1

    def as_log(self) -> list[dict]:
        """The entries as the emergency and front-door states show them."""
        return [
            {
                "log_key": e.key,
                "kind": e.kind,
                "actor": e.actor,
                "at": e.at.isoformat(),
                "summary": e.summary,
                "payload": e.payload,
            }
            for e in self.entries
        ]

    def timeline(self) -> list[TimelineEntry]:
        """The entries as the review's state shows them (with the stage each was made in)."""
        return [
            TimelineEntry(
                event_key=e.key,
                kind=e.kind,
                stage=e.stage or "",
                actor=e.actor,
                actor_role=e.actor_role,
                at=e.at,
                summary=e.summary,
                payload=e.payload,
            )
            for e in self.entries
        ]
