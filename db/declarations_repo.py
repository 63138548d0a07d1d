"""Monthly fund declarations (资金申报): the figures of a month drafted by the declaration workflow, its
versions, and confirming one.

A confirmed version never changes (a database trigger refuses any edit); a correction is a new version.
Confirming is one transaction: the draft becomes confirmed, the month's earlier confirmed version superseded,
with the month's rows locked so two officers cannot both confirm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from db.payroll_due_repo import declared_per_recipient
from db.pool import Db
from db.supervision_repo import json_row
from db.typed import every, one


async def declaration_rows(db: Db, first: date, after: date) -> list[dict[str, Any]]:
    """Per township and kind: the register's households, people and amounts paid for the month starting
    `first` (what the month's payrolls pay, each recipient-month in one month's declaration only:
    `payroll_due_repo.declared_per_recipient`), then the emergency payments approved in it."""
    register = await db.fetch(
        f"select p.township_code, t.name as township_name, p.assistance_type as kind, count(*) as households, "
        f"sum(p.people) as people, sum(p.amount_fen) as amount_fen from ({declared_per_recipient()}) p "
        "join places t on t.code = p.township_code group by 1, 2, 3 order by 1, 3",
        first,
    )
    emergency = await db.fetch(
        "select e.township_code, p.name as township_name, 'emergency_' || a.tier as kind, "
        "count(distinct e.event_id) as households, 0 as people, sum(a.amount_fen) as amount_fen "
        "from aid_payments a join emergencies e on e.event_id = a.event_id "
        "join places p on p.code = e.township_code "
        "where a.approved_at >= ($1::date::timestamp at time zone 'Asia/Shanghai') "
        "and a.approved_at < ($2::date::timestamp at time zone 'Asia/Shanghai') group by 1, 2, 3 order by 1, 3",
        first,
        after,
    )
    return [json_row(r) for r in [*register, *emergency]]


async def save_declaration(conn: asyncpg.Connection, month: str, rows: list, totals: dict, by: str) -> int:
    """Refresh the month's draft, or start a new version when the latest is confirmed (or there is none);
    returns the version written."""
    async with conn.transaction():
        latest = await conn.fetchrow(
            "select version, status from fund_declarations where month = $1 order by version desc limit 1",
            month,
        )
        if latest and latest["status"] == "draft":
            await conn.execute(
                "update fund_declarations set data = $3, totals = $4, created_by = $5, created_at = now() "
                "where month = $1 and version = $2",
                month,
                latest["version"],
                rows,
                totals,
                by,
            )
            return latest["version"]
        version = (latest["version"] + 1) if latest else 1
        await conn.execute(
            "insert into fund_declarations (month, version, data, totals, created_by) values ($1,$2,$3,$4,$5)",
            month,
            version,
            rows,
            totals,
            by,
        )
        return version


# ---- what the web app reads and does --------------------------------------------------------------------


@dataclass(frozen=True)
class VersionLine:
    """A version as the list of declarations shows it."""

    month: str
    version: int
    status: str  # draft, confirmed, superseded
    totals: dict[str, Any]
    created_at: datetime
    confirmed_at: datetime | None
    confirmed_by: str | None  # by name where known


async def all_versions(db: Db) -> list[VersionLine]:
    """Every version of every month, the latest month and version first."""
    return await every(
        db,
        VersionLine,
        "select d.month, d.version, d.status, d.totals, d.created_at, d.confirmed_at, "
        "coalesce(u.full_name, d.confirmed_by) as confirmed_by from fund_declarations d "
        "left join users u on u.username = d.confirmed_by order by d.month desc, d.version desc",
    )


@dataclass(frozen=True)
class Declaration:
    """One version with its rows (per township and kind, as drafted) and totals, signed by name where known."""

    month: str
    version: int
    status: str  # draft, confirmed, superseded
    data: list[dict[str, Any]]
    totals: dict[str, Any]
    created_at: datetime
    confirmed_at: datetime | None
    note: str | None
    created_by: str
    confirmed_by: str | None


async def declaration(db: Db, month: str, version: int) -> Declaration | None:
    return await one(
        db,
        Declaration,
        "select d.month, d.version, d.status, d.data, d.totals, d.created_at, d.confirmed_at, d.note, "
        "coalesce(cu.full_name, d.created_by) as created_by, coalesce(fu.full_name, d.confirmed_by) as confirmed_by "
        "from fund_declarations d left join users cu on cu.username = d.created_by "
        "left join users fu on fu.username = d.confirmed_by where d.month = $1 and d.version = $2",
        month,
        version,
    )


async def latest_version(db: Db, month: str) -> int | None:
    return await db.fetchval("select max(version) from fund_declarations where month = $1", month)


async def sign_draft(db: Db, month: str, version: int, by: str) -> None:
    """Name `by` as the author of the version, if it is still a draft (the workflow names the schedule)."""
    await db.execute(
        "update fund_declarations set created_by = $3 where month = $1 and version = $2 and status = 'draft'",
        month,
        version,
        by,
    )


class NotADraft(ValueError):
    """The version to confirm is no longer a draft; `status` says what it is."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


async def confirm(conn: asyncpg.Connection, month: str, version: int, by: str, note: str) -> None:
    """Confirm the draft `version` (the month's confirmed version, if any, becomes superseded); `NotADraft`
    if it is not a draft any more."""
    async with conn.transaction():
        statuses = {
            r["version"]: r["status"]
            for r in await conn.fetch(
                "select version, status from fund_declarations where month = $1 for update", month
            )
        }
        if statuses[version] != "draft":
            raise NotADraft(statuses[version])
        await conn.execute(
            "update fund_declarations set status = 'superseded' where month = $1 and status = 'confirmed'", month
        )
        await conn.execute(
            "update fund_declarations set status = 'confirmed', confirmed_by = $3, confirmed_at = now(), "
            "note = nullif($4, '') where month = $1 and version = $2",
            month,
            version,
            by,
            note,
        )
