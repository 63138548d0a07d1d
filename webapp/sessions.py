"""Who is calling: a session, kept in PostgreSQL (db/sessions_repo.py), behind the browser's session cookie and
the bearer token the API log-in hands out; and the signing secret of the cookie (and of CSRF tokens and portal
receipts).

A log-in starts one session: a random secret, of which the database keeps only a digest. The browser's cookie
(signed by Starlette) carries it, and the API log-in returns the same secret as the bearer token, so log-out
through either ends both. A session ends when it is idle longer than `Settings.session_idle_minutes` or older
than `session_max_hours`, and at once on log-out, a password change, the user's deactivation or the
administrator's "end all sessions" (its row is deleted): a copied cookie or token is then refused like a forged
one. The Actor (role, jurisdiction, active flag) is read with the session on every request, so a transfer to
another township takes effect at once too.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from functools import cached_property
from pathlib import Path

import asyncpg
from fastapi import Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from db import sessions_repo
from infra.config import Settings
from schemas.staff import Actor
from webapp.errors import ApiError, unauthenticated

SESSION_ID = "sid"  # the session cookie's field holding the session's secret
_FOUND = "jiuzhu_session"  # where a request keeps the session it was found to carry (request.state)


PRODUCTION_KEY_MIN = 32


class SecretKeyMissing(RuntimeError):
    """Production mode without a configured signing secret: the app refuses to start."""


def production_mode() -> bool:
    return Settings().production


def configured_secret() -> str | None:
    """`JIUZHU_SECRET_KEY`, else the contents of the file named by `JIUZHU_SECRET_KEY_FILE` (a mounted secret)."""
    settings = Settings()
    if settings.secret_key:
        return settings.secret_key.get_secret_value()
    if path := settings.secret_key_file:
        try:
            key = Path(path).read_text().strip()
        except OSError as exc:
            raise SecretKeyMissing(f"JIUZHU_SECRET_KEY_FILE={path} cannot be read: {exc.strerror}") from None
        if not key:
            raise SecretKeyMissing(f"JIUZHU_SECRET_KEY_FILE={path} is empty")
        return key
    return None


class Keys:
    """The signing secret of the session cookie, CSRF tokens and portal receipts.

    Development: given, else from the environment or a file, else a random key kept in `var/secret_key`
    (resolved on first use, so importing the app writes nothing to disk). Production
    (`JIUZHU_ENV=production`): only given, `JIUZHU_SECRET_KEY` or `JIUZHU_SECRET_KEY_FILE`, at least
    32 characters, checked when the app is created, so a misconfigured web app never starts.
    """

    def __init__(self, settings: Settings, secret: str | None = None) -> None:
        self._settings = settings
        self._given = secret
        if production_mode():
            _ = self.secret

    @cached_property
    def secret(self) -> str:
        if self._given:
            key = self._given
        elif found := configured_secret():
            key = found
        elif production_mode():
            raise SecretKeyMissing(
                "JIUZHU_ENV=production but no signing secret is configured: set JIUZHU_SECRET_KEY or "
                "JIUZHU_SECRET_KEY_FILE (e.g. `openssl rand -hex 32`); production never uses a default "
                "or generated key"
            )
        else:
            return _persisted_secret(self._settings.var_dir)
        if production_mode() and len(key) < PRODUCTION_KEY_MIN:
            raise SecretKeyMissing(
                f"JIUZHU_ENV=production: the signing secret must have at least {PRODUCTION_KEY_MIN} characters"
            )
        return key


def _persisted_secret(var_dir: Path) -> str:
    """A random key kept in `var/secret_key` so sessions survive restarts; created atomically, mode 0600."""
    path = var_dir / "secret_key"
    var_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        key = secrets.token_urlsafe(48)
        f.write(key)
    return key


def limits(settings: Settings) -> sessions_repo.Limits:
    """When sessions end, as the settings say."""
    return sessions_repo.Limits(
        idle=timedelta(minutes=settings.session_idle_minutes), absolute=timedelta(hours=settings.session_max_hours)
    )


def session_cookie_name(production: bool) -> str:
    """`__Host-` in production: Secure, Path=/ and no Domain, so no sibling host can set or overwrite it."""
    return "__Host-jiuzhu_session" if production else "jiuzhu_session"


class Sessions(SessionMiddleware):
    """Starlette's signed cookie, keyed when the middleware stack is built (first request): it carries the
    session's secret (and the admin pages' one-shot messages); the session itself is the database's.
    Path=/ and no Domain (Starlette's defaults), HttpOnly, SameSite=Lax; Secure and `__Host-` in production."""

    def __init__(self, app: ASGIApp, keys: Keys, settings: Settings) -> None:
        super().__init__(
            app,
            secret_key=keys.secret,
            session_cookie=session_cookie_name(production_mode()),
            max_age=settings.session_max_hours * 3600,
            same_site="lax",
            https_only=production_mode(),  # production sits behind TLS (deploy/): the cookie never goes in clear
        )


def _presented(request: Request) -> tuple[str, bool]:
    """The session secret the request carries and whether it came as a bearer token: the bearer token if one is
    sent (then the cookie is ignored), else the session cookie's; 401 if neither carries one."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated()
        return token.strip(), True
    secret = request.session.get(SESSION_ID)
    if not isinstance(secret, str) or not secret:
        raise unauthenticated()
    return secret, False


async def current_session(request: Request) -> sessions_repo.Found:
    """The caller's live session and user, found once per request (the idempotency middleware and the route
    both ask); 401 if there is none: no credentials, a forged or ended session, a deactivated user."""
    found = getattr(request.state, _FOUND, None)
    if found is not None:
        return found
    secret, bearer = _presented(request)
    pool: asyncpg.Pool = request.app.state.pool
    found = await sessions_repo.find(pool, secret, limits(request.app.state.settings))
    if found is None:
        if not bearer:
            request.session.clear()  # the browser drops an ended session
        raise unauthenticated()
    setattr(request.state, _FOUND, found)
    return found


async def caller_name(request: Request) -> str:
    """The user name of the caller's live session; 401 if there is none."""
    return (await current_session(request)).actor.username


# Where a user who logged in with a one-time code may go before choosing a password (and log-out).
PASSWORD_CHANGE = "/account/new-password"


def password_change_required() -> ApiError:
    return ApiError(403, "password_change_required", "请先设置新密码")


async def current_actor(request: Request) -> Actor:
    """The caller, read from the database with their session: no live session or an inactive user is 401; a
    user who logged in with a one-time code is refused everything (403 `password_change_required`, pages are
    sent to PASSWORD_CHANGE) until they choose a password."""
    found = await current_session(request)
    if found.must_change_password and request.url.path != PASSWORD_CHANGE:
        raise password_change_required()
    return found.actor


async def start_session(request: Request, actor: Actor, *, kind: str) -> str:
    """A new session for `actor`, who has just proved who they are (log-in, or a password change, which ended
    the old ones): the browser's cookie now carries it, replacing whatever it carried (no fixation). Returns
    its secret, which the API log-in also hands out as the bearer token."""
    secret = secrets.token_urlsafe(32)
    await sessions_repo.start(
        request.app.state.pool,
        actor.username,
        secret,
        kind=kind,
        limits=limits(request.app.state.settings),
        client_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
    request.session.clear()
    request.session[SESSION_ID] = secret
    if hasattr(request.state, _FOUND):
        delattr(request.state, _FOUND)
    return secret


async def end_session(request: Request, *, everywhere: bool = False) -> None:
    """Log-out: end the caller's session (its cookie and its bearer token alike), or with `everywhere` every
    session of the user; the browser's cookie is emptied either way. Without a live session, nothing to end."""
    try:
        found = await current_session(request)
    except ApiError:  # 401: nothing to end
        found = None
    pool: asyncpg.Pool = request.app.state.pool
    if found is not None and everywhere:
        await sessions_repo.end_all(pool, found.actor.username)
    elif found is not None:
        await sessions_repo.end(pool, found.session_id)
    request.session.clear()
