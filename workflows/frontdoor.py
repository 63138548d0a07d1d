"""What the front door's workflows (request, referral, complaint) share: their journal, written to the
front door's log by `log_frontdoor`, deadlines that escalate, and notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Literal

from temporalio import workflow

from workflows.common import ACTIVITY, RescheduledTimer, notify
from workflows.journal import Entry, Journal

with workflow.unsafe.imports_passed_through():
    from schemas.contracts import FrontDoorContract
    from schemas.frontdoor import FrontDoorLogIn
    from schemas.review import NotificationIn


class FrontDoorSubject:
    """A front-door subject (request, referral, complaint): its journal, its deadlines, its notifications."""

    subject_type: Literal["request", "referral", "complaint"]
    subject_id: str
    status: str

    def __init__(self) -> None:
        self.journal = Journal(self.write)
        self.deadlines = RescheduledTimer()

    def log_due(self) -> date | None:
        """The subject's due date to keep on its row (none by default)."""
        return None

    async def write(self, entry: Entry) -> None:
        """Write one journal entry to the front door's log, with the subject's row as it is now."""
        await workflow.execute_activity_method(
            FrontDoorContract.log_frontdoor,
            FrontDoorLogIn(
                subject_type=self.subject_type,
                subject_id=self.subject_id,
                log_key=entry.key,
                kind=entry.kind,
                actor=entry.actor,
                payload=entry.payload | {"summary": entry.summary},
                occurred_at=entry.at,
                status=self.status,
                due=self.log_due(),
            ),
            **ACTIVITY,
        )

    def next_deadline(self) -> tuple[datetime, str] | None:
        return None

    async def escalate(self, what: str) -> None:
        raise NotImplementedError

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait until `done()`, escalating each deadline `next_deadline()` names once it has passed;
        handlers call `deadlines.replan()` when what the next deadline depends on changes."""
        await self.deadlines.run(done, self.next_deadline, self.escalate, late_fires_at_once=False)

    async def notify(self, key: str, audience: str, subject: str, body: str) -> None:
        await notify(
            NotificationIn(
                idempotency_key=f"{self.subject_type}-{self.subject_id}-{key}",
                case_id=None,
                audience=audience,
                kind=f"{self.subject_type}-{key.split('-', 1)[-1]}",
                subject=subject,
                body=body,
            )
        )
