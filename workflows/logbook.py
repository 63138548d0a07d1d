"""The event log shared by the front door's workflows: entries kept in workflow state, written to the
database in order by an idempotent activity keyed by their sequence number."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from schemas.frontdoor import FrontDoorLogIn
    from schemas.review import DeadlineInfo, DeadlineRequest, NotificationIn
    from schemas.staff import Actor


def refuse(code: str, message: str) -> ApplicationError:
    """A refused staff action: the caller sees `code` and the Chinese `message` at once."""
    return ApplicationError(message, type=code, non_retryable=True)


ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=10),
    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
)


class Logbook:
    subject_type: Literal["request", "referral", "complaint"]
    subject_id: str

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

    status: str

    def log_due(self) -> date | None:
        """The subject's due date to keep on its row (none by default)."""
        return None

    async def persist(self) -> None:
        """Write pending entries in order; each carries the subject's status at the time it is written, so
        whichever caller holds the lock writes the newest status."""
        async with self.db_lock:
            while self.persisted < len(self.log):
                e = self.log[self.persisted]
                await workflow.execute_activity(
                    "log_frontdoor",
                    FrontDoorLogIn(
                        subject_type=self.subject_type,
                        subject_id=self.subject_id,
                        log_key=e["log_key"],
                        kind=e["kind"],
                        actor=e["actor"],
                        payload=e["payload"] | {"summary": e["summary"]},
                        occurred_at=datetime.fromisoformat(e["at"]),
                        status=self.status,
                        due=self.log_due(),
                    ),
                    **ACTIVITY,
                )
                self.persisted += 1

    version: int

    def next_deadline(self) -> tuple[datetime, str] | None:
        return None

    async def escalate(self, what: str) -> None:
        raise NotImplementedError

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait until `done()`, escalating each deadline `next_deadline()` names once it has passed;
        handlers bump `version` so the wait starts again with the next deadline."""
        while not done():
            version = self.version
            due = self.next_deadline()
            try:
                await workflow.wait_condition(
                    lambda v=version: self.version != v,
                    timeout=None if due is None else max(due[0] - workflow.now(), timedelta(0)),
                )
            except TimeoutError:
                assert due is not None
                await self.escalate(due[1])

    async def notify(self, key: str, audience: str, subject: str, body: str) -> None:
        await workflow.execute_activity(
            "notify",
            NotificationIn(
                idempotency_key=f"{self.subject_type}-{self.subject_id}-{key}",
                case_id=None,
                audience=audience,
                kind=f"{self.subject_type}-{key.split('-', 1)[-1]}",
                subject=subject,
                body=body,
            ),
            **ACTIVITY,
        )

    async def working_days_after(self, start: date, days: int) -> date:
        info = await workflow.execute_activity(
            "compute_deadline",
            DeadlineRequest(accepted_on=start, working_days=days),
            result_type=DeadlineInfo,
            **ACTIVITY,
        )
        return info.deadline
