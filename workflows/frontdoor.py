"""What the front door's workflows (request, referral, complaint) share: their journal, written to the
front door's log by `log_frontdoor`, their staff actions (checked by the rules of rules/frontdoor_actions.py,
recorded under the kind their spec names), deadlines that escalate, and notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Literal

from temporalio import workflow

from workflows.common import ACTIVITY, RescheduledTimer, notify, refused
from workflows.journal import Entry, Journal

with workflow.unsafe.imports_passed_through():
    from rules.actions import ActionSpec, Refusal
    from rules.clock import end_of
    from schemas.contracts import FrontDoorContract
    from schemas.frontdoor import ComplaintStart, FrontDoorLogIn, ReferralStart
    from schemas.review import NotificationIn
    from schemas.staff import Actor


class FrontDoorSubject:
    """A front-door subject (request, referral, complaint): its journal, its deadlines, its notifications."""

    def __init__(self, subject_type: Literal["request", "referral", "complaint"], subject_id: str, status: str) -> None:
        self.subject_type = subject_type
        self.subject_id = subject_id
        self.status = status
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

    # ---- staff actions -----------------------------------------------------------------------------

    @staticmethod
    def check(why: Refusal | None, actor: Actor, bureau: str = "") -> None:
        """Refuse at once what the action rules refuse (`why`), with their code and Chinese reason."""
        if why is not None:
            raise refused(why, actor, bureau)

    def move(self, status: str) -> None:
        """The subject's new status, after which its deadlines are planned again."""
        self.status = status
        self.deadlines.replan()

    async def record(self, action: ActionSpec, actor: Actor, payload: dict, summary: str) -> str:
        """Write what `actor` did to the log, as an entry of the action's kind; returns the entry's key."""
        return await self.journal.record(action.kind, actor, payload, summary)

    # ---- deadlines and notifications -------------------------------------------------------------

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


class DatedSubject(FrontDoorSubject):
    """A referral or a complaint: owed its acceptance by `accept_due` while its status is `waiting`, then its
    `final` step (a referral's result, a complaint's conclusion) by `final_due`, until its status is `done`.
    The district is told of each date missed, once."""

    start: ReferralStart | ComplaintStart
    waiting: str
    final: str
    done: str

    def __init__(
        self, subject_type: Literal["referral", "complaint"], subject_id: str, start: ReferralStart | ComplaintStart
    ) -> None:
        super().__init__(subject_type, subject_id, self.waiting)
        self.start = start
        self.accept_due: date | None = None
        self.final_due: date | None = None
        self.escalations: list[str] = []  # the deadlines missed

    def next_deadline(self) -> tuple[datetime, str] | None:
        if self.status == self.waiting and "accept" not in self.escalations and self.accept_due:
            return end_of(self.accept_due), "accept"
        if self.status != self.done and self.final not in self.escalations and self.final_due:
            return end_of(self.final_due), self.final
        return None

    def late(self, what: str, due: date | None) -> tuple[str, str]:
        """What the district is told when `what` ("accept" or `final`) was not done by `due`: subject, text."""
        raise NotImplementedError

    async def escalate(self, what: str) -> None:
        self.escalations.append(what)
        due = self.accept_due if what == "accept" else self.final_due
        subject, text = self.late(what, due)
        key = self.journal.note(f"escalated_{what}", None, {"due": str(due)}, text)
        await self.journal.persist()
        await self.notify(key, f"role:district_officer@{self.start.township_code[:6]}", subject, text)
