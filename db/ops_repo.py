"""What operations ask of the databases: whether PostgreSQL answers, its migration revision, the rows of every
table and a snapshot to dump them from (`jiuzhu backup` / `restore`, `jiuzhu status`, `/readyz`), and how many
workflows the Temporal dev server's SQLite file holds."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from db.pool import Db


async def ping(db: Db) -> None:
    """Raises unless the database answers."""
    await db.fetchval("select 1")


async def migration(db: Db) -> str | None:
    """The Alembic revision the database is at."""
    return await db.fetchval("select version_num from alembic_version")


async def table_counts(conn: asyncpg.Connection, tables: list[str] | None = None) -> dict[str, int]:
    """Exact row counts of `tables` (default: every table of ours, Alembic's own left out), by name."""
    if tables is None:
        rows = await conn.fetch(
            "select tablename from pg_tables where schemaname = 'public' and tablename <> 'alembic_version' "
            "order by tablename"
        )
        tables = [r["tablename"] for r in rows]
    return {t: await conn.fetchval(f'select count(*) from "{t}"') for t in tables}


@dataclass(frozen=True)
class Snapshot:
    id: str  # what `pg_dump --snapshot` takes
    migration: str | None
    postgres: str  # the server's version
    counts: dict[str, int]  # rows of every table, as the snapshot sees them


@asynccontextmanager
async def exported_snapshot(conn: asyncpg.Connection) -> AsyncIterator[Snapshot]:
    """A read-only repeatable-read snapshot, exported so that `pg_dump` dumps the very rows counted here; it
    stays valid while the block runs."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        snapshot = await conn.fetchval("select pg_export_snapshot()")
        revision = await migration(conn)
        counts = await table_counts(conn)
        server = await conn.fetchval("show server_version")
        yield Snapshot(snapshot, revision, server, counts)


def temporal_counts(path: Path) -> dict[str, int]:
    """Workflows (and how many run) in a dev-server file, the server's own namespace left out.

    Reads the server's internal schema: best effort, empty if a later server changed it."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            total, running = conn.execute(
                "select count(*), coalesce(sum(c.status = 1), 0) from current_executions c "
                "join namespaces n on n.id = c.namespace_id where n.name <> 'temporal-system'"
            ).fetchone()
        finally:
            conn.close()
        return {"workflows": total, "running": running}
    except sqlite3.Error:
        return {}
