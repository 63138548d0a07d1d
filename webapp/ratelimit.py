"""Log-in throttling, shared by the log-in form (`POST /login`) and the API (`POST /api/auth/login`).

Two independent limits:

- **per user name** (in PostgreSQL, so every web replica and a restart see the same count): after
  `MAX_FAILURES` failed attempts within `FAILURE_WINDOW` the name is locked for `LOCK_FOR`; while it is
  locked even the right password is refused without being checked. A successful log-in, or a new
  password set by the administrator, clears the count. Names that do not exist are counted and locked
  the same way, so the lock-out does not reveal which names exist.
- **per client IP** (also in PostgreSQL, db/throttle_repo.py): at most `IP_FAILURES` failed attempts,
  and at most `IP_ATTEMPTS` attempts of any outcome (each costs an Argon2 hash), so one address cannot
  try many names (credential stuffing) or tie up the CPU, however many web replicas it spreads over.

The client IP is `request.client.host`: behind a reverse proxy uvicorn must be started with
`--proxy-headers --forwarded-allow-ips=<proxy>` or every user shares the proxy's address (deploy/).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from fastapi import Request
from limits import parse

from db import throttle_repo, users_repo
from schemas.staff import Actor
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


def _minutes_until(until: datetime) -> int:
    return max(1, math.ceil((until - datetime.now(UTC)).total_seconds() / 60))


def account_locked(until: datetime) -> LoginRefused:
    minutes = _minutes_until(until)
    return LoginRefused(429, "account_locked", f"账户已临时锁定，请 {minutes} 分钟后再试", minutes)


def too_many_attempts() -> LoginRefused:
    minutes = math.ceil(IP_FAILURES.get_expiry() / 60)
    return LoginRefused(429, "too_many_attempts", f"登录尝试过于频繁，请 {minutes} 分钟后再试", minutes)


async def check_log_in(conn: asyncpg.Connection, username: str, password: str, ip: str) -> Actor:
    """The actor if the password is right and no limit applies; raises LoginRefused otherwise."""
    if not await throttle_repo.test(conn, IP_FAILURES, "login-failed", ip) or not await throttle_repo.hit(
        conn, IP_ATTEMPTS, "login-any", ip
    ):
        log.warning("login throttled", ip=ip)
        raise too_many_attempts()
    # A name that cannot exist (empty, too long) is not worth a row; the IP limit still counts it.
    counted = 1 <= len(username) <= USERNAME_MAX
    if counted and (until := await users_repo.login_locked_until(conn, username)):
        log.info("login refused: locked", username=username, ip=ip)
        raise account_locked(until)
    actor = await users_repo.authenticate(conn, username, password)
    if actor is None:
        await throttle_repo.hit(conn, IP_FAILURES, "login-failed", ip)
        if counted:
            until = await users_repo.record_failed_login(
                conn, username, max_failures=MAX_FAILURES, window=FAILURE_WINDOW, lock_for=LOCK_FOR
            )
            if until:
                log.warning("login locked", username=username, ip=ip, minutes=_minutes_until(until))
                raise account_locked(until)
        log.info("login failed", username=username, ip=ip)
        raise bad_credentials()
    await users_repo.clear_failed_logins(conn, actor.username)
    return actor


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def log_in(db: asyncpg.Pool, request: Request, username: str, password: str) -> Actor:
    """Check a log-in from `request`'s address through both limits; raises LoginRefused."""
    async with db.acquire() as conn:
        return await check_log_in(conn, username, password, client_ip(request))
