"""Places: the district → township → village tree, renaming and the pilot flag, new villages.

The seed rows' names come from public sources and their codes still have to be checked against the
statistical division codes; the page shows that note so the administrator knows what to verify.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from db import places_repo
from webapp.admin.common import AdminActor, done, render_admin
from webapp.deps import Db
from webapp.errors import not_found

router = APIRouter(include_in_schema=False)


async def _place_or_404(conn: asyncpg.Connection, code: str) -> places_repo.Place:
    place = await places_repo.get_place(conn, code)
    if place is None:
        raise not_found(f"区划代码不存在：{code}")
    return place


def _walk(node: places_repo.PlaceNode) -> list[places_repo.PlaceNode]:
    return [node, *(d for child in node.children for d in _walk(child))]


@router.get("/admin/places")
async def places(request: Request, *, actor: AdminActor, db: Db) -> Response:
    async with db.acquire() as conn:
        tree = await places_repo.place_tree(conn)
    notes = sorted({n.place.note for root in tree for n in _walk(root) if n.place.note})
    return render_admin(request, "admin/places.html", {"tree": tree, "notes": notes}, actor)


@router.get("/admin/places/{code}/edit")
async def edit_place(request: Request, code: str, *, actor: AdminActor, db: Db) -> Response:
    async with db.acquire() as conn:
        place = await _place_or_404(conn, code)
    form = {"name": place.name, "is_pilot": place.is_pilot}
    return render_admin(request, "admin/place_form.html", {"place": place, "form": form}, actor)


@router.post("/admin/places/{code}/edit")
async def update_place(
    request: Request,
    code: str,
    name: Annotated[str, Form()] = "",
    is_pilot: Annotated[bool, Form()] = False,
    *,
    actor: AdminActor,
    db: Db,
) -> Response:
    async with db.acquire() as conn:
        place = await _place_or_404(conn, code)
        try:
            await places_repo.update_place(conn, code, name=name, is_pilot=is_pilot)
        except places_repo.PlaceError as e:
            context = {"place": place, "form": {"name": name, "is_pilot": is_pilot}, "error": str(e)}
            return render_admin(request, "admin/place_form.html", context, actor, status=422)
    return done(request, f"/admin/places#p-{code}", "place_updated", name=name.strip())


@router.get("/admin/places/{code}/villages/new")
async def new_village(request: Request, code: str, *, actor: AdminActor, db: Db) -> Response:
    async with db.acquire() as conn:
        township = await _place_or_404(conn, code)
    form = {"code": code, "name": "", "kind": places_repo.VILLAGE_KINDS[0], "is_pilot": township.is_pilot}
    context = {"township": township, "form": form, "kinds": places_repo.VILLAGE_KINDS}
    return render_admin(request, "admin/village_form.html", context, actor)


@router.post("/admin/places/{code}/villages")
async def add_village(
    request: Request,
    code: str,
    village_code: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    is_pilot: Annotated[bool, Form()] = False,
    *,
    actor: AdminActor,
    db: Db,
) -> Response:
    async with db.acquire() as conn:
        township = await _place_or_404(conn, code)
        try:
            await places_repo.add_village(
                conn, township_code=code, code=village_code, name=name, kind=kind, is_pilot=is_pilot
            )
        except places_repo.PlaceError as e:
            form = {"code": village_code, "name": name, "kind": kind, "is_pilot": is_pilot}
            context = {"township": township, "form": form, "kinds": places_repo.VILLAGE_KINDS, "error": str(e)}
            return render_admin(request, "admin/village_form.html", context, actor, status=422)
    village_code = village_code.strip()
    return done(request, f"/admin/places#p-{village_code}", "village_added", name=name.strip(), code=village_code)
