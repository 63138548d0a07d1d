"""Rendering pages: one Jinja2 environment, the request's language, the logged-in user, the CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from schemas.identity import mask_id, mask_phone
from schemas.staff import Actor, Role
from webapp.auth import current_actor
from webapp.errors import ApiError
from webapp.i18n import LOCALES, gettext_callables, locale_of

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.install_null_translations(newstyle=True)  # replaced per request by the caller's language
env.filters["mask_id"] = mask_id
env.filters["mask_phone"] = mask_phone


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to the log-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


async def page_actor(request: Request) -> Actor:
    """The logged-in user of a page; anonymous visitors are sent to log in and then brought back."""
    try:
        return await current_actor(request)
    except ApiError as exc:
        if exc.status == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target) from None
        raise


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def csrf_token(request: Request) -> str:
    get = request.scope.get("csrftoken")
    return get() if get else ""


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    actor: Actor | None = None,
) -> HTMLResponse:
    locale = locale_of(request)
    gettext, ngettext = gettext_callables(locale)
    ctx = {
        "request": request,
        "actor": actor,
        "Role": Role,
        "csrf_token": csrf_token(request),
        "locale": locale,
        "locales": LOCALES,
        "gettext": gettext,
        "_": gettext,
        "ngettext": ngettext,
        "temporal_ui": request.app.state.settings.temporal_ui_url,
    } | (context or {})
    return HTMLResponse(env.get_template(template).render(ctx), status_code=status)


def render_error(request: Request, status: int, message: str, actor: Actor | None = None) -> HTMLResponse:
    return render(request, "ui/error.html", {"status": status, "message": message}, status=status, actor=actor)


PageActor = Depends(page_actor)
