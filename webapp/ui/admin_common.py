"""What the admin pages share: the administrator-only guard, a one-shot message carried across the
redirect after a successful POST, paging, and "today" in the county's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from infra.config import TIMEZONE
from schemas.staff import Actor, Role
from webapp.errors import forbidden
from webapp.ui.render import PageActor, render

PAGE_SIZE = 50
_FLASH = "admin_flash"


async def admin_actor(actor: Actor = PageActor) -> Actor:
    if actor.role is not Role.ADMIN:
        raise forbidden("只有系统管理员可以使用系统管理功能")
    return actor


AdminActor = Depends(admin_actor)


def today() -> dt.date:
    return dt.datetime.now(ZoneInfo(TIMEZONE)).date()


def done(request: Request, url: str, kind: str, **values: Any) -> RedirectResponse:
    """Redirect after a successful POST (so a reload does not repeat it); the next page says what was done.

    The message lives in the signed session cookie, so it cannot be forged through a link.
    """
    request.session[_FLASH] = {"kind": kind, **values}
    return RedirectResponse(url, status_code=303)


def render_admin(
    request: Request, template: str, context: dict[str, Any], actor: Actor, *, status: int = 200
) -> HTMLResponse:
    """`render` plus the pending one-shot message as `flash` (None if there is none)."""
    flash = request.session.pop(_FLASH, None)
    return render(request, template, {"flash": flash} | context, actor=actor, status=status)


@dataclass(frozen=True)
class Pager:
    """Page `page` (from 1) of `total` rows, for admin/_pager.html."""

    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))
