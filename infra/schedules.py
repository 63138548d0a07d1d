"""The periodic work of the district, as Temporal Schedules (Beijing time): created if missing and
brought up to date if present, so `jiuzhu up` and a production deploy can both call it every time."""

from __future__ import annotations

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
from schemas.supervision import SupervisionNames

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Periodic:
    schedule_id: str
    workflow: str
    note: str
    hour: int
    day_of_month: int | None = None  # None: every day


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
)


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
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
    )


async def ensure_schedules(client: Client) -> list[str]:
    done = []
    for p in PERIODIC:
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
