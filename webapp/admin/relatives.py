"""The staff near-relatives register (近亲属备案): the administrator keeps anyone's, every staff member
their own at /account/relatives. Both use one template; only whose register and the URLs differ.

The review workflow's relatives check matches applicants' ID numbers against this table, so an ID is
validated (GB 11643 checksum) before it is stored, and shown masked afterwards. A withdrawn entry stays on
the page, greyed, with who withdrew it and when, for the conflict-of-interest audit.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from db import relatives_repo, users_repo
from schemas.staff import Actor
from webapp.admin.common import AdminActor, SearchedUsers, done, local, render_admin, user_or_404
from webapp.deps import Db, PageActor
from webapp.errors import not_found

router = APIRouter(include_in_schema=False)

OWN = "/account/relatives"


def _admin_base(username: str) -> str:
    return f"/admin/relatives/{username}"


@router.get("/admin/relatives")
async def staff(request: Request, *, actor: AdminActor, db: Db, found: SearchedUsers) -> Response:
    async with db.acquire() as conn:
        counts = await relatives_repo.relative_counts(conn, [r.id for r in found.rows])
    context = {"staff": found.rows, "counts": counts, "pager": found.pager, "q": found.q}
    return render_admin(request, "admin/relatives_staff.html", context, actor)


async def _register(
    request: Request,
    conn: asyncpg.Connection,
    actor: Actor,
    owner: users_repo.UserRow,
    base: str,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
) -> Response:
    context = {
        "owner": owner,
        "own": base == OWN,
        "base": base,
        "relatives": await relatives_repo.relatives_of(conn, owner.id),
        "withdrawn": await relatives_repo.withdrawn_of(conn, owner.id),
        "local": local,
        "relations": relatives_repo.RELATIONS,
        "form": form or {"name": "", "id_number": "", "relation": ""},
        "error": error,
    }
    return render_admin(request, "admin/relatives.html", context, actor, status=422 if error else 200)


async def _add(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    username: str,
    base: str,
    name: str,
    id_number: str,
    relation: str,
) -> Response:
    async with db.acquire() as conn:
        owner = await user_or_404(conn, username)
        try:
            await relatives_repo.add_relative(conn, owner.id, name=name, id_number=id_number, relation=relation)
        except relatives_repo.RelativeError as e:
            form = {"name": name, "id_number": id_number, "relation": relation}
            return await _register(request, conn, actor, owner, base, form=form, error=str(e))
    return done(request, base, "relative_added", name=name.strip())


async def _remove(
    request: Request, actor: Actor, db: asyncpg.Pool, username: str, base: str, relative_id: int
) -> Response:
    async with db.acquire() as conn:
        owner = await user_or_404(conn, username)
        if not await relatives_repo.remove_relative(conn, owner.id, relative_id, by=actor.username):
            raise not_found("该备案记录不存在")
    return done(request, base, "relative_removed")


@router.get("/admin/relatives/{username}")
async def register(request: Request, username: str, *, actor: AdminActor, db: Db) -> Response:
    async with db.acquire() as conn:
        return await _register(request, conn, actor, await user_or_404(conn, username), _admin_base(username))


@router.post("/admin/relatives/{username}")
async def add(
    request: Request,
    username: str,
    name: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    relation: Annotated[str, Form()] = "",
    *,
    actor: AdminActor,
    db: Db,
) -> Response:
    return await _add(request, actor, db, username, _admin_base(username), name, id_number, relation)


@router.post("/admin/relatives/{username}/{relative_id}/delete")
async def remove(request: Request, username: str, relative_id: int, *, actor: AdminActor, db: Db) -> Response:
    return await _remove(request, actor, db, username, _admin_base(username), relative_id)


@router.get(OWN)
async def own_register(request: Request, *, actor: PageActor, db: Db) -> Response:
    async with db.acquire() as conn:
        return await _register(request, conn, actor, await user_or_404(conn, actor.username), OWN)


@router.post(OWN)
async def own_add(
    request: Request,
    name: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    relation: Annotated[str, Form()] = "",
    *,
    actor: PageActor,
    db: Db,
) -> Response:
    return await _add(request, actor, db, actor.username, OWN, name, id_number, relation)


@router.post(OWN + "/{relative_id}/delete")
async def own_remove(request: Request, relative_id: int, *, actor: PageActor, db: Db) -> Response:
    return await _remove(request, actor, db, actor.username, OWN, relative_id)
