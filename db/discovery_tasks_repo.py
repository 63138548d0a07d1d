"""Discovery tasks (主动发现任务) as the townships work them and the district's coverage per township. The
tasks are created by the matching (db/discovery_repo.py); their workflow (workflows/discovery.py) records the
deadline, the escalation and the outcome here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel

from db.pool import Db
from schemas.discovery import OutcomeRecorded
from schemas.policy import provisional_flag


class Task(BaseModel):
    """A task as its pages and the API show it (the API's answer adds the kind's label)."""

    task_id: str
    id_number: str
    name: str
    kind: str
    signal_on: date
    township_code: str
    township_name: str
    created_on: date
    status: str
    visit_due: date | None
    visit_provisional: bool = provisional_flag("入户核实期限")
    escalated_at: datetime | None
    visited_on: date | None
    on_time: bool | None
    note: str | None = None
    case_id: str | None = None


class TaskRow(Task, frozen=True):
    outcome_by: str | None


_TASK = """
select t.task_id, t.id_number, t.name, t.kind, t.signal_on, t.township_code, p.name as township_name, t.created_on,
       t.status, t.visit_due, t.visit_provisional, t.escalated_at, t.visited_on, t.on_time, t.outcome_by, t.note,
       t.case_id
from discovery_tasks t join places p on p.code = t.township_code
"""


async def task(db: Db, task_id: str) -> TaskRow | None:
    row = await db.fetchrow(_TASK + "where t.task_id = $1", task_id)
    return TaskRow(**dict(row)) if row else None


async def tasks(db: Db, within: str, status: str | None, limit: int = 200) -> tuple[list[TaskRow], int]:
    """The tasks of townships within `within`: open ones nearest deadline first; and how many there are."""
    where = (
        "where starts_with(t.township_code, $1) and ($2::text is null or t.status = $2 "
        "or ($2 = 'open' and t.status in ('new', 'open', 'escalated')))"
    )
    rows = await db.fetch(_TASK + where + " order by t.visit_due nulls last, t.task_id limit $3", within, status, limit)
    total = await db.fetchval("select count(*) from discovery_tasks t " + where, within, status)
    return [TaskRow(**dict(r)) for r in rows], total


async def open_task(db: Db, task_id: str, visit_due: date, provisional: bool = False) -> None:
    """The task's deadline for the visit (first set, or counted again after a calendar import) and whether it is
    provisional (暂定)."""
    await db.execute(
        "update discovery_tasks set visit_due = $2, visit_provisional = $3, "
        "status = case when status = 'new' then 'open' else status end where task_id = $1",
        task_id,
        visit_due,
        provisional,
    )


async def open_ids(db: Db) -> list[str]:
    """The tasks whose workflow waits for the visit, its deadline not yet passed."""
    rows = await db.fetch("select task_id from discovery_tasks where status = 'open' order by task_id")
    return [r["task_id"] for r in rows]


async def escalate(db: Db, task_id: str, at: datetime) -> bool:
    """Mark the task reported to the district; False if it was already (a retried activity). Its visit's date is no
    longer provisional: it is not counted again once passed, so it stands as counted with the calendar then."""
    done = await db.fetchval(
        "update discovery_tasks set status = 'escalated', escalated_at = $2, visit_provisional = false "
        "where task_id = $1 and status in ('new', 'open') returning true",
        task_id,
        at,
    )
    return bool(done)


async def record_outcome(db: Db, r: OutcomeRecorded) -> None:
    await db.execute(
        "update discovery_tasks set status = $2, visited_on = $3, on_time = $4, outcome_by = $5, outcome_at = now(), "
        "note = $6, case_id = $7 where task_id = $1",
        r.task_id,
        r.outcome.value,
        r.visited_on,
        r.on_time,
        r.actor.username,
        r.note,
        r.case_id,
    )


async def unstarted(db: Db) -> list[tuple[str, str, str, date]]:
    """Tasks whose workflow never opened them, an hour or more after they were created (the web app could not start
    it): (task id, township, kind, day created)."""
    rows = await db.fetch(
        "select task_id, township_code, kind, created_on from discovery_tasks "
        "where status = 'new' and created_at < now() - interval '1 hour' order by task_id"
    )
    return [(r["task_id"], r["township_code"], r["kind"], r["created_on"]) for r in rows]


@dataclass(frozen=True)
class Coverage:
    township_code: str
    township_name: str
    received: int
    assisted: int
    prompted: int
    tasked: int
    duplicates: int
    visited: int
    visited_on_time: int
    escalated: int
    applied: int
    approved: int


# Per township of the jurisdiction: what the matching counted, and what became of the tasks. An approval is a
# recipient register entry for the person's household decided after the task was created.
_COVERAGE = """
with c as (
    select township_code, sum(received)::int received, sum(assisted)::int assisted, sum(prompted)::int prompted,
           sum(tasked)::int tasked, sum(duplicates)::int duplicates
    from discovery_coverage where starts_with(township_code, $1) group by township_code
), t as (
    select township_code,
           count(*) filter (where visited_on is not null)::int visited,
           count(*) filter (where on_time)::int visited_on_time,
           count(*) filter (where escalated_at is not null)::int escalated,
           count(*) filter (where status = 'applied')::int applied,
           count(*) filter (where exists (
               select 1 from household_members m join recipients r on r.household_id = m.household_id
               where m.id_number = dt.id_number and r.decided_at >= dt.created_at))::int approved
    from discovery_tasks dt where starts_with(township_code, $1) group by township_code
)
select p.code as township_code, p.name as township_name,
       coalesce(c.received, 0) received, coalesce(c.assisted, 0) assisted, coalesce(c.prompted, 0) prompted,
       coalesce(c.tasked, 0) tasked, coalesce(c.duplicates, 0) duplicates, coalesce(t.visited, 0) visited,
       coalesce(t.visited_on_time, 0) visited_on_time, coalesce(t.escalated, 0) escalated,
       coalesce(t.applied, 0) applied, coalesce(t.approved, 0) approved
from places p left join c on c.township_code = p.code left join t on t.township_code = p.code
where p.level = 'township' and starts_with(p.code, $1)
order by p.code
"""


async def coverage(db: Db, within: str) -> list[Coverage]:
    return [Coverage(**dict(r)) for r in await db.fetch(_COVERAGE, within)]


async def unplaced(db: Db) -> int:
    """Signals whose township could not be told (not in a household, no township given)."""
    return await db.fetchval("select coalesce(sum(received), 0)::int from discovery_coverage where township_code = ''")
