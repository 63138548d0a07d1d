"""The periodic work of the district, as Temporal Schedules (Beijing time): created if missing and
brought up to date if present, so `jiuzhu up` and a production deploy can both call it every time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from infra.config import TASK_QUEUE, TIMEZONE
from schemas.payroll import PayrollNames
from schemas.supervision import SupervisionNames

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Periodic:
    schedule_id: str
    workflow: str
    note: str
    hour: int
    day_of_month: int | None = None  # None: every day
    catchup: timedelta = timedelta(days=1)  # how late a run missed while the server was down is still made


def payroll_catchup(payroll_day: int) -> timedelta:
    """A payroll run missed while Temporal was down is still made when it is back up to the 28th of the month
    (at least a day later): the run drafts the month it runs in, and a month with no regular payroll is never
    paid (`payroll_due_repo.due`)."""
    return timedelta(days=max(1, 28 - payroll_day))


PERIODIC = (
    Periodic("jiuzhu-daily-digest", SupervisionNames.DAILY, "每日：新纳入对象开始动态管理；超期与待办提醒", hour=7),
    Periodic(
        "jiuzhu-monthly-sampling", SupervisionNames.SAMPLING, "每月1日：抽取上月乡镇决定复核", hour=6, day_of_month=1
    ),
    Periodic(
        "jiuzhu-monthly-declaration",
        SupervisionNames.DECLARATION,
        "每月2日：生成本月资金申报草稿",
        hour=6,
        day_of_month=2,
    ),
    # The day is the policy's `payroll.payroll_day` (ensure_schedules' `payroll_day`), 10 by default.
    Periodic(
        "jiuzhu-monthly-payroll",
        PayrollNames.MONTH,
        "每月10日：各乡镇（街道）生成发放花名册",
        hour=6,
        day_of_month=10,
        catchup=payroll_catchup(10),
    ),
)
PAYROLL_SCHEDULE = "jiuzhu-monthly-payroll"


def schedule_for(p: Periodic) -> Schedule:
    days = [ScheduleRange(p.day_of_month)] if p.day_of_month else [ScheduleRange(1, 31)]
    return Schedule(
        action=ScheduleActionStartWorkflow(p.workflow, id=f"{p.schedule_id}-run", task_queue=TASK_QUEUE),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(p.hour)],
                    minute=[ScheduleRange(0)],
                    second=[ScheduleRange(0)],
                    day_of_month=days,
                    comment=p.note,
                )
            ],
            time_zone_name=TIMEZONE,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=p.catchup),
    )


def periodic(payroll_day: int | None = None) -> list[Periodic]:
    """The Schedules to keep, the payroll's on `payroll_day` (and caught up until the 28th) when given."""
    out = []
    for p in PERIODIC:
        if p.schedule_id == PAYROLL_SCHEDULE and payroll_day:
            note = f"每月{payroll_day}日：各乡镇（街道）生成发放花名册"
            p = dataclasses.replace(p, day_of_month=payroll_day, note=note, catchup=payroll_catchup(payroll_day))
        out.append(p)
    return out


async def ensure_schedules(client: Client, payroll_day: int | None = None) -> list[str]:
    """Create or update every Schedule; the payroll's runs on `payroll_day` (the policy's `payroll.payroll_day`
    in force, which `jiuzhu up` and `jiuzhu schedules` read) when given."""
    done = []
    for p in periodic(payroll_day):
        schedule = schedule_for(p)
        try:
            await client.create_schedule(p.schedule_id, schedule)
            log.info("schedule created", schedule_id=p.schedule_id)
        except ScheduleAlreadyRunningError:

            async def replace(_: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await client.get_schedule_handle(p.schedule_id).update(replace)
            log.info("schedule updated", schedule_id=p.schedule_id)
        done.append(p.schedule_id)
    return done
