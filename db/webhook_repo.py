"""The partner bureaus' webhooks: their endpoints (URL and shared secret, table `bureau_endpoints`), the nonces
of their signed callbacks already used (`webhook_nonces`, schemas.webhook), and a delivery refused for its
endpoint, noted on the referral."""

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


async def refuse_delivery(db: asyncpg.Pool, referral_id: str, code: str, summary: str, at: datetime) -> None:
    """A referral not sent to its bureau's endpoint (`code`: schemas.webhook.endpoint_refusal) is taken by the
    bureau's inbox in Jiuzhu instead, and its log says why (once, however often the delivery is retried)."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("update referrals set adapter = 'inbox' where referral_id = $1", referral_id)
        await conn.execute(
            "insert into frontdoor_log (subject_type, subject_id, log_key, kind, actor, payload, occurred_at) "
            "values ('referral', $1, 'delivery-refused', 'delivery_refused', null, $2, $3) "
            "on conflict (subject_type, subject_id, log_key) do nothing",
            referral_id,
            {"code": code, "summary": summary},
            at,
        )


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
