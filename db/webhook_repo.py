"""The partner bureaus' webhooks: their endpoints (URL and shared secret, table `bureau_endpoints`) and the nonces
of their signed callbacks already used (`webhook_nonces`, schemas.webhook)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.pool import Db


@dataclass(frozen=True)
class BureauEndpoint:
    url: str
    secret: str


async def bureau_endpoint(db: Db, bureau: str) -> BureauEndpoint | None:
    """The bureau's active webhook, if it has one (else its inbox in Jiuzhu takes referrals)."""
    row = await db.fetchrow("select url, secret from bureau_endpoints where bureau = $1 and active", bureau)
    return BureauEndpoint(row["url"], row["secret"]) if row else None


async def first_use_of_nonce(db: asyncpg.Pool, bureau: str, nonce: str, now: datetime, keep_seconds: int) -> bool:
    """Record the bureau's callback nonce: True the first time, False if it was seen before (a replay). Nonces
    older than `keep_seconds` are forgotten on the way."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            "delete from webhook_nonces where seen_at < $1::timestamptz - make_interval(secs => $2)",
            now,
            keep_seconds,
        )
        added = await conn.fetchval(
            "insert into webhook_nonces (bureau, nonce, seen_at) values ($1, $2, $3) "
            "on conflict (bureau, nonce) do nothing returning true",
            bureau,
            nonce,
            now,
        )
    return bool(added)
