"""Moving-window rate limits shared by every web replica (table `rate_limit_hits`, one row per hit).

A limit is a `limits.RateLimitItem` ("20/15 minutes"): at most `amount` hits per key within any
`get_expiry()` seconds. The database clock decides, so replicas with skewed clocks still agree.
"""

from __future__ import annotations

import asyncpg
from limits import RateLimitItem

# Hits older than a day are removed now and then, by the hit that happens to come along.
PURGE_EVERY = 500
_hits_since_purge = 0

_RECENT = (
    "select count(*) from rate_limit_hits "
    "where scope = $1 and key = $2 and at > clock_timestamp() - make_interval(secs => $3::int)"
)


def _scope(limit: RateLimitItem, scope: str) -> str:
    return f"{scope}:{limit.amount}/{limit.get_expiry()}s"


async def test(db: asyncpg.Connection | asyncpg.Pool, limit: RateLimitItem, scope: str, key: str) -> bool:
    """True if `key` may still be hit now."""
    return await db.fetchval(_RECENT, _scope(limit, scope), key, limit.get_expiry()) < limit.amount


async def hit(db: asyncpg.Connection | asyncpg.Pool, limit: RateLimitItem, scope: str, key: str) -> bool:
    """Count one hit if `key` is within the limit; False (and nothing counted) if it is not, as with
    `limits`'s moving window, so a client hammering on a closed limit adds no rows."""
    global _hits_since_purge
    _hits_since_purge += 1
    if _hits_since_purge >= PURGE_EVERY:
        _hits_since_purge = 0
        await db.execute("delete from rate_limit_hits where at < now() - interval '1 day'")
    counted = await db.fetchval(
        f"insert into rate_limit_hits (scope, key) select $1, $2 where ({_RECENT}) < $4 returning true",
        _scope(limit, scope),
        key,
        limit.get_expiry(),
        limit.amount,
    )
    return bool(counted)
