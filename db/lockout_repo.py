"""The log-in lock-out's counter per user name (table `login_failures`, migration 0007); the numbers are set
by webapp.ratelimit.

An attempt is counted *before* its password is checked (`claim`), in one statement, so that parallel attempts
cannot all pass the check while the count is still low: of a burst of wrong passwords exactly `max_failures`
are checked and counted, the one that reaches the limit sets the lock, and the rest are refused without an
Argon2 hash. A right password clears the count (`clear`), so a claim that turned out to be a success is
undone. Rows are keyed by the name as typed, whether or not such a user exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from db.pool import Db


@dataclass(frozen=True)
class Claim:
    """One attempt's place in the count: `counted` false when the name is locked (then nothing was counted);
    `failures` the count with this attempt; `lock_seconds` how long the lock (set by this attempt, or in
    force) still runs, by the database's clock, None when not locked."""

    counted: bool
    failures: int
    lock_seconds: float | None


# A count that has ended: its first failure is older than the window, or its lock is over.
_STALE = "(f.first_failed_at < now() - $3::interval or f.locked_until <= now())"
_COUNT = f"(case when {_STALE} then 1 else f.failures + 1 end)"


async def claim(db: Db, username: str, *, max_failures: int, window: timedelta, lock_for: timedelta) -> Claim:
    """Count one attempt at `username` unless the name is locked; the attempt that reaches `max_failures` locks
    it for `lock_for` (undone by `clear` if its password was right). Stale rows are pruned on the way, so names
    tried once and never again do not accumulate."""
    await db.execute(
        "delete from login_failures where last_failed_at < now() - $1::interval "
        "and (locked_until is null or locked_until < now())",
        max(window, lock_for),
    )
    row = await db.fetchrow(
        "insert into login_failures as f (username, failures, first_failed_at, last_failed_at, locked_until) "
        "values ($1, 1, now(), now(), case when 1 >= $2 then now() + $4::interval end) "
        "on conflict (username) do update set "
        f"failures = {_COUNT}, "
        f"first_failed_at = case when {_STALE} then now() else f.first_failed_at end, "
        "last_failed_at = now(), "
        f"locked_until = case when {_COUNT} >= $2 then now() + $4::interval end "
        f"where {_STALE} or f.locked_until is null "
        "returning failures, extract(epoch from locked_until - now())::float8 as lock_seconds",
        username,
        max_failures,
        window,
        lock_for,
    )
    if row is not None:
        return Claim(True, row["failures"], row["lock_seconds"])
    locked = await db.fetchrow(
        "select failures, greatest(extract(epoch from locked_until - now()), 1)::float8 as lock_seconds "
        "from login_failures where username = $1",
        username,
    )
    if locked is None:  # a success cleared the count in between: locked a moment ago, not any more
        return Claim(False, 0, lock_for.total_seconds())
    return Claim(False, locked["failures"], locked["lock_seconds"] or lock_for.total_seconds())


async def clear(db: Db, username: str) -> None:
    """A right password, or a new one: the count starts afresh and a lock is lifted."""
    await db.execute("delete from login_failures where username = $1", username)
