"""Side effects every workflow uses: working-day deadlines from the statutory calendar, and the
notification outbox; and the one way an activity starts workflows of their own, once each."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from db import calendar_repo, cases_repo
from schemas.contracts import CommonContract
from schemas.review import DeadlineInfo, DeadlineRequest, NotificationIn

_ONE_DAY = timedelta(days=1)


async def start_each(client: Client, workflow: str, starts: list[tuple[BaseModel, str]]) -> int:
    """Start each (input, workflow id) as a workflow of its own on this activity's task queue (not a child: it
    outlives its starter), once whatever the retries: an id already used is passed over. Returns how many this
    call started."""
    started = 0
    for arg, workflow_id in starts:
        try:
            await client.start_workflow(
                workflow,
                arg,
                id=workflow_id,
                task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            started += 1
        except WorkflowAlreadyStartedError:
            pass
    return started


class CommonActivities(CommonContract):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn
    async def compute_deadline(self, req: DeadlineRequest) -> DeadlineInfo:
        """Deadline and reminder days from the statutory calendar (builtin data plus imported notices)."""
        async with self.pool.acquire() as conn:
            cal = await calendar_repo.load_calendar(conn)
        if req.calendar_days:
            end = cal.end_of_period(req.accepted_on, req.working_days)
            return DeadlineInfo(deadline=end.date, provisional=end.provisional, reminder_days={}, paused_working_days=0)
        deadline = cal.add_working_days(req.accepted_on, req.working_days, req.paused)
        paused_days = sum(cal.working_days_between(a - _ONE_DAY, b) for a, b in req.paused)
        also = {n: cal.add_working_days(req.accepted_on, n, req.paused) for n in req.also}
        return DeadlineInfo(
            deadline=deadline.date,
            provisional=deadline.provisional,
            reminder_days={n: cal.working_day_before(deadline.date, n) for n in req.reminders},
            paused_working_days=paused_days,
            also={n: d.date for n, d in also.items()},
        )

    @activity.defn
    async def notify(self, n: NotificationIn) -> None:
        """Queue a message in the outbox; the idempotency key makes a retry a no-op."""
        await cases_repo.queue_notification(self.pool, n)
