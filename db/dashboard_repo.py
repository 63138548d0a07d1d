"""What the district's dashboard and the pilot roll-out page count of the review cases: totals, cases by
township and stage, the days from acceptance to decision, the weekly trend, and a township's cases before and
after it switched approval level. Every count of the dashboard is within a reader's jurisdiction
(`case_lists_repo.in_jurisdiction`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from db.case_lists_repo import IS_OPEN, in_jurisdiction
from db.pool import Db
from db.typed import every
from db.where import Where

_ZONE = "Asia/Shanghai"  # Beijing days, as rules.clock keeps them


async def _scope(db: Db, within: str) -> Where:
    return Where().add(await in_jurisdiction(db, within), within)


@dataclass(frozen=True)
class CaseTotals:
    total: int
    open: int
    overdue: int  # open and past the deadline
    escalated_waiting: int  # open, escalated, not taken over
    taken_over: int  # open and handled by the district
    enrolled: int
    refused: int


async def totals(db: Db, within: str) -> CaseTotals:
    w = await _scope(db, within)
    row = await db.fetchrow(
        "select count(*) as total, "
        f"count(*) filter (where {IS_OPEN}) as open, "
        f"count(*) filter (where {IS_OPEN} and c.overdue) as overdue, "
        f"count(*) filter (where {IS_OPEN} and c.case_id in "
        "  (select case_id from escalations where taken_over_by is null)) as escalated_waiting, "
        f"count(*) filter (where {IS_OPEN} and c.handled_by = 'district') as taken_over, "
        "count(*) filter (where c.stage = 'enrolled') as enrolled, "
        "count(*) filter (where c.stage = 'refused') as refused "
        f"from cases c{w.sql()}",
        *w.params,
    )
    return CaseTotals(**row)


@dataclass(frozen=True)
class StageCount:
    code: str  # the township
    name: str
    stage: str
    n: int
    overdue: int  # of which open and past the deadline


async def by_township_and_stage(db: Db, within: str) -> list[StageCount]:
    """Cases per township (in code order) and stage."""
    w = await _scope(db, within)
    return await every(
        db,
        StageCount,
        "select c.township_code as code, t.name, c.stage, count(*) as n, "
        f"count(*) filter (where {IS_OPEN} and c.overdue) as overdue "
        f"from cases c join places t on t.code = c.township_code{w.sql()} "
        "group by 1, 2, 3 order by 1",
        *w.params,
    )


@dataclass(frozen=True)
class DecisionDays:
    """How many cases of a township were accepted and decided on these Beijing days, under this limit."""

    code: str
    name: str
    accepted_on: date
    decided_on: date
    limit_days: int  # the promised working days of the cases' policy version
    n: int


async def decisions(db: Db, within: str) -> list[DecisionDays]:
    """The decided cases, grouped by township, days of acceptance and decision, and promised limit."""
    w = (await _scope(db, within)).add("c.decided_at is not null")
    return await every(
        db,
        DecisionDays,
        f"select c.township_code as code, t.name, (c.accepted_at at time zone '{_ZONE}')::date as accepted_on, "
        f"(c.decided_at at time zone '{_ZONE}')::date as decided_on, "
        "(p.body -> 'review' ->> 'promised_working_days')::int as limit_days, count(*) as n "
        "from cases c join places t on t.code = c.township_code "
        f"join policy_versions p on p.version = c.policy_version{w.sql()} group by 1, 2, 3, 4, 5 order by 1",
        *w.params,
    )


async def weekly(db: Db, within: str, column: Literal["accepted_at", "decided_at"], since: datetime) -> dict[date, int]:
    """Cases accepted (or decided) from `since` on, by the Monday of their Beijing week."""
    w = (await _scope(db, within)).add(f"c.{column} >= {{}}", since)
    rows = await db.fetch(
        f"select date_trunc('week', c.{column} at time zone '{_ZONE}')::date as week, count(*) as n "
        f"from cases c{w.sql()} group by 1",
        *w.params,
    )
    return {r["week"]: r["n"] for r in rows}


# ---- the pilot roll-out -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseTiming:
    accepted_at: datetime
    decided_at: datetime | None
    overdue: bool


async def accepted_between(db: Db, township: str, start: datetime, end: datetime) -> list[CaseTiming]:
    """The township's cases accepted from `start` to before `end`."""
    return await every(
        db,
        CaseTiming,
        "select accepted_at, decided_at, overdue from cases where township_code = $1 "
        "and accepted_at >= $2 and accepted_at < $3",
        township,
        start,
        end,
    )


@dataclass(frozen=True)
class RecheckCount:
    n: int
    irregular: int


async def rechecks_of_accepted(db: Db, township: str, start: datetime, end: datetime) -> RecheckCount:
    """The district's re-checks of the township's cases accepted from `start` to before `end`, and how many
    found them irregular."""
    row = await db.fetchrow(
        "select count(*) as n, count(*) filter (where k.status = 'irregular') as irregular from rechecks k "
        "join cases c on c.case_id = k.case_id where k.township_code = $1 and c.accepted_at >= $2 "
        "and c.accepted_at < $3",
        township,
        start,
        end,
    )
    return RecheckCount(**row)
