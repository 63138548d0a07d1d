"""Security headers on every response (issue 16, point 10).

- `Content-Security-Policy`: scripts only from this origin (no inline script, no `on*=` handlers, no eval: the
  pages' behaviour is in `webapp/static/js/`, `tests/security/test_headers.py` scans the templates); styles from
  this origin only (no `style=` attribute or `<style>` in a template: the scan below; htmx's own indicator
  style is turned off by `htmx-config`); no framing
  (`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for older browsers). FastAPI's `/docs` and `/redoc`
  load Swagger UI and ReDoc from their CDN with an inline bootstrap script: they get a policy of their own
  that allows just that (they show no personal data).
- `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`.
- `Cache-Control: no-store` on everything but the static files: pages, API answers, exports and PDFs carry
  personal data, which must stay out of shared and browser caches.
- `Strict-Transport-Security` in production (always behind TLS, deploy/).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; style-src 'self' 'unsafe-inline' "
    f"{DOCS_CDN} https://fonts.googleapis.com; img-src 'self' data: https://fastapi.tiangolo.com; "
    f"font-src 'self' https://fonts.gstatic.com; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
STATIC_PREFIX = "/static/"
HSTS = "max-age=31536000; includeSubDomains"

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, production: bool) -> None:
        self.app = app
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        docs = path.startswith(DOCS_PATHS)
        static = path.startswith(STATIC_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON.items():
                    headers[name] = value
                headers["content-security-policy"] = DOCS_CSP if docs else CSP
                if not static:
                    headers["cache-control"] = "no-store"
                if self.production:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)
