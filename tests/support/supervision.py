"""Helpers for district supervision tests: rows written straight into the tables the workflows keep (an
enrolled case with its recipient row, a case with the supervisor's columns, case events), so that each test
knows exactly what the pages must show; and a related person barred from a case."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from db import cases_repo
from schemas.identity import mask_id
from schemas.review import CaseEvent
from tests.support.clients import SHIPO, insert_case
from tests.support.clock import BEIJING, on_day
from tests.support.factories import resident_id

OCTOBER = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)  # 11:00 Beijing on 10-15
BARRED = [{"username": "shipo_diaocha", "full_name": "石婆店镇经办人 王强", "reason": "近亲属备案：表兄"}]


def at(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock Beijing on `day`."""
    return datetime.combine(day, time(hour), BEIJING)


def month_after(day: date, months: int = 1) -> date:
    """The first day of the month `months` after `day`'s."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def seed_case(
    pool: asyncpg.Pool,
    case_id: str,
    township: str,
    decided: datetime,
    *,
    relatives: bool = False,
    category: str | None = "B",
    amount_fen: int = 50000,
    people: int = 2,
    cadence_months: int | None = None,
) -> None:
    """A case enrolled at `decided` (accepted then too) and its recipient row."""
    await insert_case(
        pool,
        case_id,
        township,
        name="测试户",
        id_masked="341503********0011",
        stage="enrolled",
        status="enrolled",
        accepted_at=decided,
        decided_at=decided,
        relatives_match=relatives,
    )
    await pool.execute(
        "insert into recipients (case_id, assistance_type, township_code, category, monthly_amount_fen, people, "
        "first_payment_month, decided_at, review_cadence_months) values ($1, 'dibao', $2, $3, $4, $5, $6, $7, $8)",
        case_id,
        township,
        category,
        amount_fen,
        people,
        month_after(on_day(decided)),  # payments start the month after the decision's Beijing day
        decided,
        cadence_months,
    )


async def with_household(pool: asyncpg.Pool, case_id: str, hukou: str = "rural", member: str | None = None) -> None:
    """The household of a seeded case on record (registered `hukou`, urban or rural), as the review or the roster
    import keeps it, with its applicant `member` (an ID number) if given."""
    household = await pool.fetchval(
        "insert into households (township_code, address, hukou_type) "
        "select township_code, '石婆店镇', $2 from cases where case_id = $1 returning id",
        case_id,
        hukou,
    )
    if member:
        await pool.execute(
            "insert into household_members (household_id, name, id_number, relation, is_applicant) "
            "values ($1, '测试户', $2, '本人', true)",
            household,
            member,
        )
    await pool.execute("update cases set household_id = $1 where case_id = $2", household, case_id)
    await pool.execute("update recipients set household_id = $1 where case_id = $2", household, case_id)


async def add_case(
    pool: asyncpg.Pool,
    case_id: str,
    *,
    township: str = SHIPO,
    village: str | None = None,
    name: str = "王大山",
    id_number: str | None = None,
    kind: str = "dibao",
    stage: str = "investigation",
    status: str = "open",
    accepted: datetime | None = None,
    deadline: date | None = None,
    overdue: bool = False,
    decided: datetime | None = None,
    handled_by: str = "township",
) -> str:
    """A case row as the workflow would have written it (accepted on 2026-11-02 and due 28 days later unless
    told otherwise); returns the full ID number used."""
    id_number = id_number or resident_id(date(1970, 1, 1))
    accepted = accepted or at(date(2026, 11, 2))
    await insert_case(
        pool,
        case_id,
        township,
        village=village,
        name=name,
        id_masked=mask_id(id_number),
        stage=stage,
        status=status,
        kind=kind,
        deadline=deadline or accepted.date() + timedelta(days=28),
        overdue=overdue,
        accepted_at=accepted,
        decided_at=decided,
        handled_by=handled_by,
    )
    return id_number


async def add_event(
    pool: asyncpg.Pool,
    case_id: str,
    kind: str,
    *,
    actor: str | None = None,
    role: str | None = None,
    payload: dict[str, Any] | None = None,
    at: datetime = OCTOBER,
    stage: str = "investigation",
) -> None:
    """A case event written as the workflow's activity writes it (keeping the case row's progress columns)."""
    await cases_repo.append_events(
        pool,
        [
            CaseEvent(
                case_id=case_id,
                event_key=f"{kind}-{at.isoformat()}-{actor}",
                kind=kind,
                stage=stage,
                actor=actor,
                actor_role=role,
                payload=payload or {},
                occurred_at=at,
            )
        ],
    )


async def register(pool: asyncpg.Pool, username: str, member: str) -> None:
    """`username` registers the person with ID number `member` as a parent (the staff relatives register)."""
    await pool.execute(
        "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
        "select id, '测试户', $2, '父母' from users where username = $1",
        username,
        member,
    )
