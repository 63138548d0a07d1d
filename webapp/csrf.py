"""CSRF protection for every form (asgi-csrf: a signed double-submit cookie plus a form field or header).

API calls are exempt unless they look like a form: a cross-site page can only send the "simple"
content types (form, multipart, text) without a CORS pre-flight, which this app never grants; the
session cookie is SameSite=lax besides, and bearer-token calls are exempt by the library itself.
"""

from __future__ import annotations

from asgi_csrf import asgi_csrf
from starlette.types import ASGIApp, Receive, Scope, Send

from webapp.sessions import Keys, production_mode

# Forms that anonymous visitors post (no session cookie yet), which asgi-csrf would otherwise let through.
PROTECTED_WITHOUT_COOKIES = ["/login", "/portal/apply", "/portal/ask", "/portal/complain", "/portal/status"]


FORM_TYPES = {b"application/x-www-form-urlencoded", b"multipart/form-data", b"text/plain"}


def _api_call(scope: Scope) -> bool:
    if not scope["path"].startswith("/api/"):
        return False
    headers = dict(scope.get("headers") or [])
    return headers.get(b"content-type", b"").split(b";")[0].strip().lower() not in FORM_TYPES


class Csrf:
    """Wraps the app once the signing secret is known (the first request), like the session middleware."""

    def __init__(self, app: ASGIApp, keys: Keys) -> None:
        self.app = app
        self.keys = keys
        self._wrapped: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._wrapped is None:
            self._wrapped = asgi_csrf(
                self.app,
                signing_secret=self.keys.secret,
                skip_if_scope=_api_call,
                always_protect=PROTECTED_WITHOUT_COOKIES,
                cookie_secure=production_mode(),
            )
        await self._wrapped(scope, receive, send)
