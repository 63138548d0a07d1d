"""One asyncpg pool per process, created in `main()` and handed to whoever needs it."""

from __future__ import annotations

import json

import asyncpg

# What a repository function that runs one statement takes: a pool or a connection (inside a transaction).
Db = asyncpg.Connection | asyncpg.Pool


async def _init(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init)


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await _init(conn)
    return conn
