"""What the workflows share: activity options, the refusal of a staff action, today in Beijing, the
shared activities (working-day deadlines, the outbox), an entry written to the journal, the rescheduled
timer and the words of a deadline a calendar import counted again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from rules.actions import Refusal
    from rules.clock import REMIND_AT, at_time, beijing_date
    from schemas.contracts import CommonContract
    from schemas.review import DeadlineInfo, DeadlineRequest, NotificationIn
    from schemas.staff import Actor, Role

ACTIVITY = dict(
    start_to_close_timeout=timedelta(seconds=10),  # all are quick database writes; a dead worker costs 10 s
    retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
)

T = TypeVar("T")


def refuse(code: str, message: str) -> ApplicationError:
    """A refused staff action (raised by an update's validator): the caller sees `code` and the Chinese
    `message` at once, and the workflow's history keeps no trace of it."""
    return ApplicationError(message, type=str(code), non_retryable=True)


def refused(why: Refusal, actor: Actor, bureau: str = "") -> ApplicationError:
    """A refusal of the action rules (rules/actions.py) as a validator raises it, worded for `actor`: the roles
    by their labels, and the name of the `bureau` concerned where it says which."""
    return refuse(why.code, why.worded(lambda role: Role(role).label, actor.role, bureau))


def today() -> date:
    """The workflow's day, in Beijing."""
    return beijing_date(workflow.now())


def remind_at(day: date) -> datetime:
    """When reminders due on `day` go out: the start of office hours."""
    return at_time(day, REMIND_AT)


async def working_days(
    start: date,
    days: int,
    paused: Sequence[tuple[date, date]] = (),
    reminders: Sequence[int] = (),
    also: Sequence[int] = (),
) -> DeadlineInfo:
    """The `days`-th working day after `start` (the days in `paused` not counted), the working days
    `reminders` before it, and the `also`-th working days (other limits counted alike), from the statutory
    calendar."""
    return await workflow.execute_activity_method(
        CommonContract.compute_deadline,
        DeadlineRequest(
            accepted_on=start, working_days=days, paused=list(paused), reminders=list(reminders), also=list(also)
        ),
        **ACTIVITY,
    )


async def calendar_period_end(start: date, days: int) -> DeadlineInfo:
    """The last day of `days` calendar days after `start`, run on to the next working day if it is a day off
    (Civil Code art. 203)."""
    return await workflow.execute_activity_method(
        CommonContract.compute_deadline,
        DeadlineRequest(accepted_on=start, working_days=days, calendar_days=True),
        **ACTIVITY,
    )


# A journal's words when a calendar import (signal `CALENDAR_CHANGED`) counted a deadline again.
CALENDAR_UPDATED = "工作日历已更新，"


def recounted(what: str, was: tuple[date, bool], now: tuple[date, bool]) -> str:
    """`what` (a deadline's name) counted again: its new date and its old one, each marked 暂定 (provisional: it
    runs through a year whose holiday notice is not in the calendar) where it is; e.g. 「签收期限重算为
    2027-01-06（原为 2027-01-05，暂定）」."""
    (old, old_provisional), (new, provisional) = was, now
    return (
        f"{what}重算为 {new}"
        + ("（暂定）" if provisional else "")
        + f"（原为 {old}{'，暂定' if old_provisional else ''}）"
    )


async def notify(n: NotificationIn) -> None:
    await workflow.execute_activity_method(CommonContract.notify, n, **ACTIVITY)


class RescheduledTimer:
    """Wait until the next due instant, and plan again when something changes: whoever changes what the
    next instant depends on calls `replan()`, and the wait starts over with what `next_due()` says then."""

    def __init__(self) -> None:
        self.version = 0

    def replan(self) -> None:
        self.version += 1

    async def run(
        self,
        until: Callable[[], bool],
        next_due: Callable[[], tuple[datetime, T] | None],
        fire: Callable[[T], Awaitable[None]],
        *,
        late_fires_at_once: bool = True,
    ) -> None:
        """Until `until()`: sleep to the instant `next_due()` names (for ever if none) and `fire` what is due
        then. A time already passed fires at once; with `late_fires_at_once=False` after one turn of the
        workflow's event loop, as the front door's deadlines always did (their running cases replay so)."""
        while not until():
            version = self.version
            due = next_due()
            if due is not None and late_fires_at_once and due[0] <= workflow.now():
                await fire(due[1])
                continue
            timeout = None if due is None else max(due[0] - workflow.now(), timedelta(0))
            try:
                await workflow.wait_condition(lambda v=version: self.version != v, timeout=timeout)
            except TimeoutError:
                assert due is not None
                await fire(due[1])
