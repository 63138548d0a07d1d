"""Who is calling: a signed session cookie for the browser, a signed bearer token for scripts, and the
signing secret behind both (and behind CSRF tokens and portal receipts).

Both carry only the user name; the Actor (role, jurisdiction, active flag) is read from the database
on every request, so deactivating a user or moving them to another township takes effect at once.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from db import users_repo
from infra.config import Settings
from schemas.staff import Actor
from webapp.errors import unauthenticated

TOKEN_TTL = timedelta(hours=12)
_TOKEN_SALT = "jiuzhu.api-token"
SESSION_USER = "username"


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
    """The signing secret of sessions, tokens, CSRF and portal receipts.

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

    @cached_property
    def tokens(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=_TOKEN_SALT)


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


class Sessions(SessionMiddleware):
    """Starlette's signed-cookie sessions, keyed when the middleware stack is built (first request)."""

    def __init__(self, app: ASGIApp, keys: Keys) -> None:
        super().__init__(
            app,
            secret_key=keys.secret,
            session_cookie="jiuzhu_session",
            max_age=int(TOKEN_TTL.total_seconds()),
            same_site="lax",
            https_only=production_mode(),  # production sits behind TLS (deploy/): the cookie never goes in clear
        )


def caller_name(request: Request) -> str:
    """The user name the request carries: the bearer token if one is sent (then the cookie is ignored), else
    the session cookie; 401 if neither holds a valid one."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise unauthenticated()
        try:
            username = request.app.state.keys.tokens.loads(token.strip(), max_age=TOKEN_TTL.total_seconds())["u"]
        except (BadSignature, KeyError, TypeError):
            raise unauthenticated() from None
    else:
        username = request.session.get(SESSION_USER)
        if not username:
            raise unauthenticated()
    return username


async def current_actor(request: Request) -> Actor:
    """The caller (`caller_name`), read from the database: an unknown or deactivated user is 401."""
    username = caller_name(request)
    async with request.app.state.pool.acquire() as conn:
        actor = await users_repo.get_actor(conn, username)
    if actor is None:
        request.session.clear()
        raise unauthenticated()
    return actor
