"""What the admin pages share: the administrator-only guard, a one-shot message carried across the
redirect after a successful POST, paging, the user named in a URL, and dates in the county's time zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from db import users_repo
from infra.clock import BEIJING
from schemas.staff import Actor
from webapp import authz
from webapp.deps import Db, PageActor
from webapp.errors import not_found
from webapp.render import render

PAGE_SIZE = 50
_FLASH = "admin_flash"


async def admin_actor(actor: PageActor) -> Actor:
    authz.require(actor, "admin")
    return actor


AdminActor = Annotated[Actor, Depends(admin_actor)]


def local(at: dt.datetime) -> dt.datetime:
    """A stored time as the county's clock shows it."""
    return at.astimezone(BEIJING)


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


@dataclass(frozen=True)
class UserSearch:
    """One page of the users whose user name or name contains `q`: the users list, the register's staff."""

    q: str
    rows: list[users_repo.UserRow]
    pager: Pager


async def user_search(db: Db, q: str = "", page: Annotated[int, Query(ge=1)] = 1) -> UserSearch:
    async with db.acquire() as conn:
        rows, total = await users_repo.page_users(
            conn, search=q.strip(), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    return UserSearch(q, rows, Pager(page, total))


# After AdminActor in a signature, so that only the administrator's request reads the users.
SearchedUsers = Annotated[UserSearch, Depends(user_search)]


async def user_or_404(conn: asyncpg.Connection, username: str) -> users_repo.UserRow:
    """The user a URL names."""
    user = await users_repo.get_user(conn, username)
    if user is None:
        raise not_found(f"用户不存在：{username}")
    return user
