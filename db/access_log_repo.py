"""The access log (table `access_log`, migration 0024): who read which case file, looked up which household,
exported what, logged in (or failed to), and changed which user. Append-only: rows are only ever inserted here,
and a trigger refuses UPDATE, DELETE and TRUNCATE for every role, so the record cannot be rewritten by the
application. What a row holds is decided by webapp.access_log; this module only stores and searches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from db.pool import Db
from db.where import Where


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    username: str | None
    role: str | None
    kind: str
    record: str | None
    detail: str | None
    client_ip: str | None


@dataclass(frozen=True)
class Filters:
    """The supervisor's search: each one optional; `until` is exclusive."""

    username: str = ""
    record: str = ""
    kind: str = ""
    since: datetime | None = None
    until: datetime | None = None


async def record(
    db: Db,
    *,
    username: str | None,
    role: str | None,
    kind: str,
    record: str | None,
    detail: str | None = None,
    client_ip: str | None = None,
) -> int:
    """Append one row; returns its id."""
    return await db.fetchval(
        "insert into access_log (username, role, kind, record, detail, client_ip) "
        "values ($1, $2, $3, $4, $5, $6) returning id",
        username,
        role,
        kind,
        record,
        detail,
        client_ip,
    )


def _where(f: Filters) -> Where:
    where = Where()
    if f.username:
        where.add("username = {}", f.username)
    if f.record:
        where.add("record = {}", f.record)
    if f.kind:
        where.add("kind = {}", f.kind)
    if f.since is not None:
        where.add("at >= {}", f.since)
    if f.until is not None:
        where.add("at < {}", f.until)
    return where


async def search(db: Db, filters: Filters, *, limit: int, offset: int) -> tuple[list[Entry], int]:
    """One page of the rows matching `filters`, newest first, and how many match."""
    where = _where(filters)
    total = await db.fetchval(f"select count(*) from access_log{where.sql()}", *where.params)
    n = len(where.params)
    rows = await db.fetch(
        "select id, at, username, role, kind, record, detail, client_ip from access_log"
        f"{where.sql()} order by at desc, id desc limit ${n + 1} offset ${n + 2}",
        *where.params,
        limit,
        offset,
    )
    return [Entry(**r) for r in rows], total
