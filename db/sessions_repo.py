"""Server-side sessions (table `sessions`, migration 0021): one row per log-in, found by the SHA-256 digest of
the secret that the session cookie and the bearer token carry; ending a session deletes its row.

Times are the database's (`now()`): every web replica agrees on when a session has been idle too long, and
the tests' moved process clock (time-machine) does not end the sessions of a test that skips days.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from db.pool import Db
from db.typed import every
from schemas.staff import Actor

# How often a session's `last_seen_at` is written: not on every request, at most once a minute (the idle
# timeout is counted from the last write, so it is exact to this much).
TOUCH_EVERY = timedelta(minutes=1)


def digest(secret: str) -> bytes:
    """What the table keeps of a session's secret."""
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class Limits:
    """When a session ends: idle this long, or this old."""

    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class Found:
    """A live session and its (active) user."""

    session_id: int
    actor: Actor
    must_change_password: bool = False  # logged in with a one-time code: may do nothing but choose a password


async def start(
    db: Db, username: str, secret: str, *, kind: str, limits: Limits, client_ip: str | None, user_agent: str | None
) -> int:
    """A new session of `username` (an active user) behind `secret`; ended ones are pruned on the way."""
    await db.execute(
        "delete from sessions where last_seen_at < now() - $1::interval or created_at < now() - $2::interval",
        limits.idle,
        limits.absolute,
    )
    return await db.fetchval(
        "insert into sessions (token_hash, user_id, kind, client_ip, user_agent) "
        "select $1, id, $3, $4, $5 from users where username = $2 and active returning id",
        digest(secret),
        username,
        kind,
        client_ip,
        (user_agent or "")[:200] or None,
    )


async def find(db: Db, secret: str, limits: Limits) -> Found | None:
    """The live session behind `secret` with its user, if the session has not ended (idle, too old, ended) and
    the user is active; marks it seen (at most every TOUCH_EVERY)."""
    row = await db.fetchrow(
        "with found as (select id, user_id, last_seen_at from sessions where token_hash = $1 "
        "  and last_seen_at > now() - $2::interval and created_at > now() - $3::interval), "
        "touched as (update sessions s set last_seen_at = now() from found "
        "  where s.id = found.id and found.last_seen_at < now() - $4::interval) "
        "select found.id as session_id, u.must_change_password, "
        "u.username, u.full_name, u.role, u.place_code, u.bureau "
        "from found join users u on u.id = found.user_id where u.active",
        digest(secret),
        limits.idle,
        limits.absolute,
        TOUCH_EVERY,
    )
    if row is None:
        return None
    values = dict(row)
    session_id, must_change = values.pop("session_id"), values.pop("must_change_password")
    return Found(session_id, Actor(**values), must_change)


async def end(db: Db, session_id: int) -> None:
    """End one session (log-out)."""
    await db.execute("delete from sessions where id = $1", session_id)


async def end_all(db: Db, username: str) -> int:
    """End every session of `username` (password changed, user deactivated, the administrator's "end all",
    log-out everywhere); how many there were."""
    done = await db.execute("delete from sessions where user_id = (select id from users where username = $1)", username)
    return int(done.split()[-1])


@dataclass(frozen=True)
class SessionRow:
    kind: str
    created_at: datetime
    last_seen_at: datetime
    client_ip: str | None
    user_agent: str | None


async def live_sessions(db: Db, username: str, limits: Limits) -> list[SessionRow]:
    """The sessions of `username` that have not ended, the most recently used first (the admin's user page)."""
    return await every(
        db,
        SessionRow,
        "select s.kind, s.created_at, s.last_seen_at, s.client_ip, s.user_agent from sessions s "
        "join users u on u.id = s.user_id where u.username = $1 "
        "and s.last_seen_at > now() - $2::interval and s.created_at > now() - $3::interval "
        "order by s.last_seen_at desc",
        username,
        limits.idle,
        limits.absolute,
    )
