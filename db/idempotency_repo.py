"""Idempotency keys (table `idempotency_keys`): one row per user, route and key, claimed before the work is
done and holding the first answer afterwards, so a repeated request (double click, browser resubmit, client
retry) gets that answer and does nothing else.

`claim` says what the caller should do: the work (`Claimed`), answer what is stored (`Stored`), refuse a key
reused for another body (`Reused`) or wait for the request that holds it (`Busy`). A claim left behind by a
process that died is taken over after `stale_after` seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg

# Rows are kept at least 24 hours; those older than 48 are removed now and then, by the claim that comes along.
KEEP_HOURS = 48
PURGE_EVERY = 200
_claims_since_purge = 0


@dataclass(frozen=True)
class Claimed:
    """This request does the work, and records its answer with `finish` (or gives the key back with `release`).
    `since`: when the key was first claimed (the same when a stale claim is taken over)."""

    since: str = ""


@dataclass(frozen=True)
class Stored:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reused:
    """The key was first sent with another body."""


@dataclass(frozen=True)
class Busy:
    """The first request with this key is still being worked on."""


Claim = Claimed | Stored | Reused | Busy


async def claim(
    db: asyncpg.Pool, username: str, route: str, key: str, fingerprint: str, *, stale_after: float
) -> Claim:
    global _claims_since_purge
    _claims_since_purge += 1
    if _claims_since_purge >= PURGE_EVERY:
        _claims_since_purge = 0
        await purge(db)
    inserted = await db.fetchval(
        "insert into idempotency_keys (username, route, key, fingerprint) values ($1, $2, $3, $4) "
        "on conflict (username, route, key) do nothing returning created_at::text",
        username,
        route,
        key,
        fingerprint,
    )
    if inserted:
        return Claimed(inserted)
    row = await db.fetchrow(
        "select fingerprint, state, response_status, response_headers, response_body, "
        "clock_timestamp() - claimed_at > make_interval(secs => $4) as stale "
        "from idempotency_keys where username = $1 and route = $2 and key = $3",
        username,
        route,
        key,
        stale_after,
    )
    if row is None:  # given back (or purged) in the meantime: try again
        return await claim(db, username, route, key, fingerprint, stale_after=stale_after)
    if row["fingerprint"] != fingerprint:
        return Reused()
    if row["state"] == "done":
        return Stored(row["response_status"], json.loads(row["response_headers"]), bytes(row["response_body"]))
    if row["stale"]:
        taken = await db.fetchval(
            "update idempotency_keys set claimed_at = clock_timestamp() "
            "where username = $1 and route = $2 and key = $3 and state = 'in_progress' "
            "and clock_timestamp() - claimed_at > make_interval(secs => $4) returning created_at::text",
            username,
            route,
            key,
            stale_after,
        )
        if taken:
            return Claimed(taken)
    return Busy()


async def finish(
    db: asyncpg.Pool, username: str, route: str, key: str, status: int, headers: dict[str, str], body: bytes
) -> None:
    await db.execute(
        "update idempotency_keys set state = 'done', response_status = $4, response_headers = $5::jsonb, "
        "response_body = $6, done_at = clock_timestamp() where username = $1 and route = $2 and key = $3",
        username,
        route,
        key,
        status,
        json.dumps(headers),
        body,
    )


async def expire(db: asyncpg.Pool, username: str, route: str, key: str, *, after: float) -> None:
    """Forget the answer kept for the key if it was given more than `after` seconds ago (a key that names a
    request's content, not one request: webapp.idempotency `CONTENT_KEYED`)."""
    await db.execute(
        "delete from idempotency_keys where username = $1 and route = $2 and key = $3 and state = 'done' "
        "and clock_timestamp() - done_at > make_interval(secs => $4)",
        username,
        route,
        key,
        after,
    )


async def release(db: asyncpg.Pool, username: str, route: str, key: str) -> None:
    """Give the key back unanswered (the work failed, or its answer is not one to repeat): a retry does it again."""
    await db.execute(
        "delete from idempotency_keys where username = $1 and route = $2 and key = $3 and state = 'in_progress'",
        username,
        route,
        key,
    )


async def purge(db: asyncpg.Pool) -> None:
    await db.execute(
        "delete from idempotency_keys where created_at < clock_timestamp() - make_interval(hours => $1)", KEEP_HOURS
    )
