"""What the front door's workflows share: their event log (a Journal written by `log_frontdoor`),
deadlines that escalate, notifications and working-day arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.journal import ACTIVITY, Journal

with workflow.unsafe.imports_passed_through():
    from schemas.frontdoor import FrontDoorLogIn
    from schemas.review import DeadlineInfo, DeadlineRequest, NotificationIn


def refuse(code: str, message: str) -> ApplicationError:
    """A refused staff action: the caller sees `code` and the Chinese `message` at once."""
    return ApplicationError(message, type=code, non_retryable=True)


class Logbook(Journal):
    """A front-door subject's log (request, referral, complaint), with its deadlines and notifications."""

    subject_type: Literal["request", "referral", "complaint"]
    subject_id: str
    status: str
    version: int

    def log_due(self) -> date | None:
        """The subject's due date to keep on its row (none by default)."""
        return None

    def log_write(self, entry: dict) -> tuple[str, FrontDoorLogIn]:
        return "log_frontdoor", FrontDoorLogIn(
            subject_type=self.subject_type,
            subject_id=self.subject_id,
            log_key=entry["log_key"],
            kind=entry["kind"],
            actor=entry["actor"],
            payload=entry["payload"] | {"summary": entry["summary"]},
            occurred_at=datetime.fromisoformat(entry["at"]),
            status=self.status,
            due=self.log_due(),
        )

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
