"""Side effects of discovery tasks (主动发现): the deadline and escalation written to the task's row, the district
told, the township's outcome recorded; and the daily purge of the bureaus' lists. Idempotent."""

from __future__ import annotations

from datetime import date

import asyncpg
from temporalio import activity

from db import cases_repo, discovery_repo, discovery_tasks_repo, policy_repo
from rules.access import district_of
from schemas.contracts import DiscoveryContract
from schemas.discovery import DiscoveryStart, OutcomeRecorded, SignalKind, TaskEscalated
from schemas.review import NotificationIn


class DiscoveryActivities(DiscoveryContract):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn
    async def open_discovery_task(self, task_id: str, visit_due: date, provisional: bool = False) -> None:
        await discovery_tasks_repo.open_task(self.pool, task_id, visit_due, provisional)

    @activity.defn
    async def escalate_discovery_task(self, e: TaskEscalated) -> None:
        """Reported to the district: the row marked, the district's officers told (the task, never the person)."""
        await discovery_tasks_repo.escalate(self.pool, e.task_id, e.at)
        await cases_repo.queue_notification(
            self.pool,
            NotificationIn(
                idempotency_key=f"discovery-escalated-{e.task_id}",
                case_id=None,
                audience=f"role:district_officer@{district_of(e.township_code)}",
                kind="discovery-overdue",
                subject="主动发现任务超期未核实",
                body=f"主动发现任务 {e.task_id}（{e.kind.label}）应于 {e.visit_due} 前入户核实，已超期，请督办",
            ),
        )

    @activity.defn
    async def record_discovery_outcome(self, r: OutcomeRecorded) -> None:
        await discovery_tasks_repo.record_outcome(self.pool, r)

    @activity.defn
    async def purge_discovery_lists(self, on: date) -> int:
        return await discovery_repo.purge(self.pool, on)

    @activity.defn
    async def discovery_tasks_unstarted(self, on: date) -> list[DiscoveryStart]:
        days = (await policy_repo.in_force(self.pool, on)).discovery.visit_working_days
        return [
            DiscoveryStart(
                task_id=task_id,
                township_code=township,
                kind=SignalKind(kind),
                created_on=created,
                visit_working_days=days,
            )
            for task_id, township, kind, created in await discovery_tasks_repo.unstarted(self.pool)
        ]
