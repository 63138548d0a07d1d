"""CSRF protection for every form (asgi-csrf: a signed token in a cookie, repeated in a form field or header),
bound to the staff session.

Anonymous forms (`/login`, the portal) use asgi-csrf's double submit as it is: a random signed token in the
CSRF cookie, which the form must repeat. Once a browser has a session, its token is derived from the session
instead: HMAC(signing key, the session's secret), signed as asgi-csrf signs its tokens. Before asgi-csrf sees a
request that carries a session, the CSRF cookie it reads is replaced by that derived token, so whatever CSRF
cookie the browser sends (one planted by a sibling site, or copied from another session) is ignored, and a token
from another session's page is refused (403). The token changes with each log-in, never within a session.

In production both cookies are `__Host-` prefixed (Secure, Path=/, no Domain: no sibling host can set or
overwrite them); in development and tests over http they keep plain names.

API calls are exempt unless they look like a form: a cross-site page can only send the "simple" content types
(form, multipart, text) without a CORS pre-flight, which this app never grants; the session cookie is
SameSite=lax besides, and bearer-token calls are exempt by the library itself.
"""

from __future__ import annotations

import hashlib
import hmac
from http.cookies import CookieError, SimpleCookie

from asgi_csrf import DEFAULT_SIGNING_NAMESPACE, asgi_csrf
from itsdangerous import URLSafeSerializer
from starlette.types import ASGIApp, Receive, Scope, Send

from webapp.sessions import SESSION_ID, Keys, production_mode

# Forms that anonymous visitors post (no session cookie yet), which asgi-csrf would otherwise let through.
PROTECTED_WITHOUT_COOKIES = ["/login", "/portal/apply", "/portal/ask", "/portal/complain", "/portal/status"]

FORM_TYPES = {b"application/x-www-form-urlencoded", b"multipart/form-data", b"text/plain"}


def cookie_name(production: bool) -> str:
    return "__Host-csrftoken" if production else "csrftoken"


def _api_call(scope: Scope) -> bool:
    if not scope["path"].startswith("/api/"):
        return False
    headers = dict(scope.get("headers") or [])
    return headers.get(b"content-type", b"").split(b";")[0].strip().lower() not in FORM_TYPES


def session_token(secret: str, session_secret: str) -> str:
    """The CSRF token of the session whose secret is `session_secret`, as asgi-csrf would sign one."""
    digest = hmac.new(secret.encode(), b"csrf\0" + session_secret.encode(), hashlib.sha256).hexdigest()
    return URLSafeSerializer(secret).dumps(digest, DEFAULT_SIGNING_NAMESPACE)


def _with_cookie(scope: Scope, name: str, value: str) -> Scope:
    """The scope with its cookies as sent, but the cookie `name` set to `value` (one merged cookie header)."""
    others = [v for k, v in scope.get("headers") or [] if k == b"cookie"]
    jar = SimpleCookie()
    for raw in others:
        try:
            jar.load(raw.decode("latin-1"))
        except CookieError:  # an unparseable cookie header counts as none
            continue
    pairs = [f"{k}={m.coded_value}" for k, m in jar.items() if k != name] + [f"{name}={value}"]
    headers = [(k, v) for k, v in scope.get("headers") or [] if k != b"cookie"]
    headers.append((b"cookie", "; ".join(pairs).encode("latin-1")))
    return {**scope, "headers": headers}


class Csrf:
    """Wraps the app once the signing secret is known (the first request). Sits inside the session middleware,
    whose `scope["session"]` says which session, if any, the request carries."""

    def __init__(self, app: ASGIApp, keys: Keys) -> None:
        self.app = app
        self.keys = keys
        self.production = production_mode()
        self.cookie = cookie_name(self.production)
        self._wrapped: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._wrapped is None:
            self._wrapped = asgi_csrf(
                self.app,
                signing_secret=self.keys.secret,
                cookie_name=self.cookie,
                skip_if_scope=_api_call,
                always_protect=PROTECTED_WITHOUT_COOKIES,
                cookie_secure=self.production,
            )
        if scope["type"] == "http":
            sid = (scope.get("session") or {}).get(SESSION_ID)
            if isinstance(sid, str) and sid:
                scope = _with_cookie(scope, self.cookie, session_token(self.keys.secret, sid))
        await self._wrapped(scope, receive, send)
