"""Rendering pages: one Jinja2 environment, the request's language, the logged-in user, the CSRF token.

Templates live beside the feature that renders them (`webapp/<feature>/templates/<area>/…`); the shared
layout (`ui/base.html`, `ui/error.html`) in `webapp/templates/`. One loader reads all of them, so a template
is named by its area folder and name (`caseworker/case.html`), and no name may stand in two folders.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ValidationError, create_model

from rules.clock import BEIJING, last_day
from schemas.identity import mask_id, mask_phone
from schemas.labels import category_label
from schemas.staff import Actor, Role
from webapp import authz
from webapp.errors import ApiError, chinese_message
from webapp.i18n import LOCALES, gettext_callables, locale_of
from webapp.sessions import current_actor

WEBAPP = Path(__file__).resolve().parent
# The shared layout first, then each feature's folder.
TEMPLATE_DIRS = [WEBAPP / "templates", *sorted(p for p in WEBAPP.glob("*/templates") if p.is_dir())]


def _unique_names(dirs: list[Path]) -> None:
    """A template name in two folders would be shadowed by the first: refuse to start instead."""
    seen: dict[str, Path] = {}
    for root in dirs:
        for path in root.rglob("*.html"):
            name = path.relative_to(root).as_posix()
            if name in seen:
                raise RuntimeError(f"template {name} stands in {seen[name]} and {root}")
            seen[name] = root


_unique_names(TEMPLATE_DIRS)

env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIRS),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.install_null_translations(newstyle=True)  # replaced per request by the caller's language
env.filters["mask_id"] = mask_id
env.filters["mask_phone"] = mask_phone


def bjtime(at: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An instant (aware datetime or ISO text, as workflow state carries it) in Beijing time; every page
    shows times this way, never UTC."""
    if at is None or at == "":
        return ""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    if when.tzinfo is None:  # naive values in workflow state are UTC
        when = when.replace(tzinfo=UTC)
    return when.astimezone(BEIJING).strftime(fmt)


env.filters["bjtime"] = bjtime
env.filters["category_label"] = category_label
env.filters["last_day"] = lambda at: last_day(datetime.fromisoformat(at) if isinstance(at, str) else at).isoformat()


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


def form_key() -> str:
    """A fresh idempotency key for one rendered form (its hidden `idempotency_key`, read by webapp.idempotency):
    a double click or a browser's resubmit of that form is done once."""
    return uuid.uuid4().hex


# The hidden fields every form carries besides its own (the CSRF token, the form's idempotency key).
HIDDEN_FIELDS = frozenset({"csrftoken", "idempotency_key"})


def form_model(name: str, fields: str, **defaults: Any) -> type[BaseModel]:
    """A page form's fields as one model, for a route's `Annotated[Model, Form()]` parameter: each of `fields`
    (names separated by spaces) text defaulting to "", each of `defaults` defaulting to (and typed as) its
    value. FastAPI reads a form model as it reads single `Form()` parameters (a blank or missing field takes
    its default); its `model_dump()` is the form as typed, to show again."""
    spec: dict[str, Any] = {f: (str, "") for f in fields.split()} | {f: (type(d), d) for f, d in defaults.items()}
    return create_model(name, **spec)


@dataclass(frozen=True)
class Feedback:
    """What a page shows after a form: the `done` message of a step that went through (read from the redirect's
    `?done=`), or the `error` of a refused one with the `values` typed, to show again, and the HTTP `status`."""

    done: str | bool | None = None
    error: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    status: int = 200

    @classmethod
    def refused(
        cls, why: ApiError | ValidationError | str, values: dict[str, Any] | None = None, *, status: int = 422
    ) -> Feedback:
        """A refused form, shown again with `values`: an API refusal's message and status; a form its model
        refused, each field's Chinese message and 422; or the message `why` with `status`."""
        if isinstance(why, ApiError):
            why, status = why.message, why.status
        elif isinstance(why, ValidationError):
            why = "；".join(chinese_message(e) for e in why.errors(include_url=False, include_input=False))
        return cls(error=why, values=values or {}, status=status)

    def context(self, *keys: str) -> dict[str, Any]:
        """The template's variables `done`, `error` and `values`, or only those of `keys` a template reads."""
        shown = {"done": self.done, "error": self.error, "values": self.values}
        return {k: shown[k] for k in keys or shown}


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
        "form_key": form_key,
        "locale": locale,
        "colon": "：" if locale == "zh_CN" else ": ",  # Chinese text takes the full-width colon
        "locales": LOCALES,
        "gettext": gettext,
        "_": gettext,
        "ngettext": ngettext,
        "temporal_ui": request.app.state.settings.temporal_ui_url,
    } | (context or {})
    return HTMLResponse(env.get_template(template).render(ctx), status_code=status)


def render_error(request: Request, status: int, message: str, actor: Actor | None = None) -> HTMLResponse:
    return render(request, "ui/error.html", {"status": status, "message": message}, status=status, actor=actor)


def refusal_page(request: Request, exc: ApiError, actor: Actor) -> HTMLResponse:
    """A refusal as a page that keeps the user's menu (the app-wide handler renders pages without the user)."""
    return render_error(request, exc.status, exc.message, actor)


async def page_or_refusal(request: Request, actor: Actor, page: Awaitable[HTMLResponse]) -> HTMLResponse:
    """`page`, or the refusal building it raised (role, jurisdiction, not found) as a page with the menu."""
    try:
        return await page
    except ApiError as exc:
        return refusal_page(request, exc, actor)


def refused(request: Request, actor: Actor, action: str, message: str | None = None) -> HTMLResponse | None:
    """None if the authorisation table lets `actor` do `action`; else its 403 page, with the menu, saying
    `message` where the page words it its own way."""
    if authz.may(actor, action):
        return None
    return render_error(request, 403, message or authz.denied(actor, action), actor)
