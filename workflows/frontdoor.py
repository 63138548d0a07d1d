"""What the front door's workflows (request, referral, complaint) share: their journal, written to the
front door's log by `log_frontdoor`, their staff actions (checked by the rules of rules/frontdoor_actions.py,
recorded under the kind their spec names), deadlines that escalate, and notifications. A referral's or complaint's
limits are counted again when the calendar changes (signal `CALENDAR_CHANGED`, from `infra.calendar_news`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Literal

from temporalio import workflow

from workflows.common import ACTIVITY, CALENDAR_UPDATED, RescheduledTimer, notify, recounted, refused
from workflows.journal import Entry, Journal

with workflow.unsafe.imports_passed_through():
    from rules.actions import ActionSpec, Refusal
    from rules.clock import end_of
    from schemas.contracts import FrontDoorContract
    from schemas.frontdoor import ComplaintStart, FrontDoorLogIn, ReferralStart
    from schemas.policy import CALENDAR_CHANGED
    from schemas.review import DeadlineInfo, NotificationIn
    from schemas.staff import Actor

# Since: a calendar import counts a referral's or complaint's limits still open again, from the day they ran from; a
# moved one (or one no longer provisional) is logged, which writes it to the row, and its timer moves with it.
LIMITS_RECOUNTED = "frontdoor-limits-recounted"
RECOUNT = "recount"  # what `next_deadline` names when the limits are to be counted again


class FrontDoorSubject:
    """A front-door subject (request, referral, complaint): its journal, its deadlines, its notifications."""

    def __init__(self, subject_type: Literal["request", "referral", "complaint"], subject_id: str, status: str) -> None:
        self.subject_type = subject_type
        self.subject_id = subject_id
        self.status = status
        self.journal = Journal(self.write)
        self.deadlines = RescheduledTimer()

    def log_due(self) -> tuple[date | None, bool]:
        """The subject's due date to keep on its row, and whether it is provisional (暂定: it runs through a year
        whose holiday notice is not in the calendar yet); none by default."""
        return None, False

    async def write(self, entry: Entry) -> None:
        """Write one journal entry to the front door's log, with the subject's row as it is now."""
        due, provisional = self.log_due()
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
                due=due,
                due_provisional=provisional,
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

    async def fire(self, what: str) -> None:
        """What `next_deadline()` named is due."""
        raise NotImplementedError

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait until `done()`, firing each deadline `next_deadline()` names once it has passed;
        handlers call `deadlines.replan()` when what the next deadline depends on changes."""
        await self.deadlines.run(done, self.next_deadline, self.fire, late_fires_at_once=False)

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
    The district is told of each date missed, once. Both limits run from the day it was opened (`opened_on`);
    when the calendar changes, those still open are counted again from that day."""

    start: ReferralStart | ComplaintStart
    waiting: str
    final: str
    done: str
    final_due_key: str  # the final limit's name in the log's payload, and its column on the row
    owed: dict[str, str]  # what each limit ("accept", `final`) is owed for, in words

    def __init__(
        self, subject_type: Literal["referral", "complaint"], subject_id: str, start: ReferralStart | ComplaintStart
    ) -> None:
        super().__init__(subject_type, subject_id, self.waiting)
        self.start = start
        self.opened_on: date | None = None
        self.accept_due: date | None = None
        self.final_due: date | None = None
        # a limit running through a year whose holiday notice is not in the calendar may move (暂定)
        self.accept_provisional = False
        self.final_provisional = False
        self.escalations: list[str] = []  # the deadlines missed
        self.recount_requested = False

    async def count_limits(self, on: date) -> tuple[DeadlineInfo, DeadlineInfo] | None:
        """The acceptance and final limits of a subject opened on `on`, by the calendar as it is now; None if
        they do not depend on the calendar."""
        raise NotImplementedError

    async def set_limits(self, on: date) -> bool:
        """The limits of a subject opened on `on`; False if they do not depend on the calendar (and are not set)."""
        self.opened_on = on
        limits = await self.count_limits(on)
        if limits is None:
            return False
        accept, final = limits
        self.accept_due, self.accept_provisional = accept.deadline, accept.provisional
        self.final_due, self.final_provisional = final.deadline, final.provisional
        return True

    @workflow.signal(name=CALENDAR_CHANGED)
    def calendar_changed(self) -> None:
        """A calendar import changed the working days: the limits still open are counted again."""
        self.recount_requested = True
        self.deadlines.replan()

    def next_deadline(self) -> tuple[datetime, str] | None:
        if self.recount_requested and self.opened_on is not None:
            return workflow.now(), RECOUNT
        if self.status == self.waiting and "accept" not in self.escalations and self.accept_due:
            return end_of(self.accept_due), "accept"
        if self.status != self.done and self.final not in self.escalations and self.final_due:
            return end_of(self.final_due), self.final
        return None

    async def fire(self, what: str) -> None:
        if what == RECOUNT:
            await self.recount()
        else:
            await self.escalate(what)

    async def recount(self) -> None:
        """Each limit still open (not met, and not passed: the district was not told of it) counted again from the
        same day; those that moved, or are no longer provisional, are logged in one entry, which writes them to
        the row, and the timer is planned again."""
        self.recount_requested = False
        assert self.opened_on is not None
        if not workflow.patched(LIMITS_RECOUNTED):
            return
        limits = await self.count_limits(self.opened_on)
        if limits is None:
            return
        accept, final = limits
        payload: dict = {}
        said: list[str] = []
        if self.status == self.waiting and "accept" not in self.escalations and self.accept_due:
            was, now = (self.accept_due, self.accept_provisional), (accept.deadline, accept.provisional)
            if now != was:
                self.accept_due, self.accept_provisional = now
                payload |= {"accept_due": str(accept.deadline), "accept_provisional": accept.provisional}
                said.append(recounted(f"{self.owed['accept']}期限", was, now))
        if self.status != self.done and self.final not in self.escalations and self.final_due:
            was, now = (self.final_due, self.final_provisional), (final.deadline, final.provisional)
            if now != was:
                self.final_due, self.final_provisional = now
                payload |= {self.final_due_key: str(final.deadline), f"{self.final}_provisional": final.provisional}
                said.append(recounted(f"{self.owed[self.final]}期限", was, now))
        if said:
            self.journal.note("limits_recomputed", None, payload, CALENDAR_UPDATED + "；".join(said))
            await self.journal.persist()
        self.deadlines.replan()

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
