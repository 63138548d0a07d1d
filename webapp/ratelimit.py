"""Log-in throttling, shared by the log-in form (`POST /login`) and the API (`POST /api/auth/login`).

Two independent limits:

- **per user name** (in PostgreSQL, so every web replica and a restart see the same count): after
  `MAX_FAILURES` failed attempts within `FAILURE_WINDOW` the name is locked for `LOCK_FOR`; while it is
  locked even the right password is refused without being checked. Each attempt is counted before its
  password is checked, in one statement (db/lockout_repo.py `claim`), so a burst of parallel attempts gets
  exactly `MAX_FAILURES` checks, not one per request. A successful log-in, or a new password, clears the
  count. Names that do not exist are counted and locked the same way, so the lock-out does not reveal
  which names exist.
- **per client IP** (also in PostgreSQL, db/throttle_repo.py): at most `IP_FAILURES` failed attempts,
  and at most `IP_ATTEMPTS` attempts of any outcome (each costs an Argon2 hash), so one address cannot
  try many names (credential stuffing) or tie up the CPU, however many web replicas it spreads over.

The client IP is `request.client.host`, which the app takes from X-Forwarded-For only when the request comes
from one of `JIUZHU_TRUSTED_PROXIES` (webapp/app.py); set it to the reverse proxy's address, or every user
shares the proxy's address (deploy/).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import structlog
from fastapi import Request
from limits import parse

from db import lockout_repo, throttle_repo, users_repo
from schemas.staff import Actor
from webapp import access_log
from webapp.access_log import Kind
from webapp.errors import ApiError

log = structlog.get_logger("webapp")

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
IP_FAILURES = parse("20/15 minutes")
IP_ATTEMPTS = parse("60/minute")
USERNAME_MAX = 64


class LoginRefused(Exception):
    """Why a log-in was refused: `code` is bad_credentials, account_locked or too_many_attempts."""

    def __init__(self, status: int, code: str, message: str, minutes: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.minutes = minutes

    def as_api_error(self) -> ApiError:
        return ApiError(self.status, self.code, self.message)


def bad_credentials() -> LoginRefused:
    return LoginRefused(401, "bad_credentials", "用户名或密码错误")


def account_locked(seconds: float) -> LoginRefused:
    """The lock's refusal, with the minutes it still runs (by the database's clock, which set it)."""
    minutes = max(1, math.ceil(seconds / 60))
    return LoginRefused(429, "account_locked", f"账户已临时锁定，请 {minutes} 分钟后再试", minutes)


def too_many_attempts() -> LoginRefused:
    minutes = math.ceil(IP_FAILURES.get_expiry() / 60)
    return LoginRefused(429, "too_many_attempts", f"登录尝试过于频繁，请 {minutes} 分钟后再试", minutes)


async def check_log_in(db: asyncpg.Pool | asyncpg.Connection, username: str, password: str, ip: str) -> Actor:
    """The actor if the password is right and no limit applies; raises LoginRefused otherwise. Given the pool,
    no connection is held while the password is hashed (off the event loop, db.passwords)."""
    if not await throttle_repo.test(db, IP_FAILURES, "login-failed", ip) or not await throttle_repo.hit(
        db, IP_ATTEMPTS, "login-any", ip
    ):
        log.warning("login throttled", ip=ip)
        raise too_many_attempts()

    async def counted_failure() -> None:
        await throttle_repo.hit(db, IP_FAILURES, "login-failed", ip)

    return await check_password(db, username, password, ip=ip, on_wrong=counted_failure)


async def check_password(
    db: asyncpg.Pool | asyncpg.Connection,
    username: str,
    password: str,
    *,
    ip: str,
    on_wrong: Callable[[], Awaitable[None]] | None = None,
) -> Actor:
    """`username`'s password checked against the per-name lock-out counter: the log-in's, and the account page's
    current password (a wrong one there counts as a failed log-in, so a stolen session cannot guess the password
    unhindered). Raises LoginRefused (bad_credentials, account_locked); a right password clears the count.
    `on_wrong` runs for each wrong password that was checked (the log-in's per-address count)."""
    # A name that cannot exist (empty, too long) is not worth a row; the IP limit still counts it.
    claim = None
    if 1 <= len(username) <= USERNAME_MAX:
        claim = await lockout_repo.claim(
            db, username, max_failures=MAX_FAILURES, window=FAILURE_WINDOW, lock_for=LOCK_FOR
        )
        if not claim.counted:
            log.info("login refused: locked", username=username, ip=ip)
            raise account_locked(claim.lock_seconds or LOCK_FOR.total_seconds())
    actor = await users_repo.authenticate(db, username, password)
    if actor is None:
        if on_wrong is not None:
            await on_wrong()
        if claim is not None and claim.lock_seconds is not None:  # this failure was the one that locks
            log.warning("login locked", username=username, ip=ip, failures=claim.failures)
            raise account_locked(claim.lock_seconds)
        log.info("login failed", username=username, ip=ip)
        raise bad_credentials()
    await lockout_repo.clear(db, actor.username)
    return actor


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def log_in(db: asyncpg.Pool, request: Request, username: str, password: str) -> Actor:
    """Check a log-in from `request`'s address through both limits; raises LoginRefused. Both outcomes go to
    the access log, a failure with the user name tried and why (bad_credentials, account_locked,
    too_many_attempts)."""
    try:
        actor = await check_log_in(db, username, password, client_ip(request))
    except LoginRefused as refused:
        tried = username[:USERNAME_MAX]
        await access_log.record(request, None, Kind.LOGIN_FAILED, tried, detail=refused.code, username=tried)
        raise
    await access_log.record(request, actor, Kind.LOGIN_OK, actor.username)
    return actor
