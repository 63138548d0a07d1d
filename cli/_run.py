"""Helpers shared by CLI commands: run a coroutine with a migrated database connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from db.migrate import upgrade
from db.pool import connect
from infra.config import Settings
from infra.servers import database_url

T = TypeVar("T")


def with_db(fn: Callable[[asyncpg.Connection], Awaitable[T]], *, migrate: bool = True) -> T:
    """Open the configured (or embedded) database, bring its schema up to date, run `fn`."""
    url = database_url(Settings())
    assert url is not None
    if migrate:
        upgrade(url)

    async def go() -> T:
        conn = await connect(url)
        try:
            return await fn(conn)
        finally:
            await conn.close()

    return asyncio.run(go())
