"""Users and roles: list, create, edit role / jurisdiction / active flag, reset a password, end a user's sessions.

The administrator never chooses anyone's password: a new account and a reset get a one-time code, shown once
on the answering page (never stored in clear, never in the cookie), good for one log-in within 24 hours, after
which the user must choose a password (users_repo.issue_code, webapp.sessions). Every change is written to the
access log (webapp.access_log).

The checks are `users_repo`'s (the CLI uses the same), so the page and `jiuzhu users add` refuse the
same things with the same Chinese messages. The jurisdiction list follows the chosen role's level
(ROLE_LEVEL): htmx swaps it when the role changes; without script the server still refuses a mismatch.
"""

from __future__ import annotations

from dataclasses import asdict
from itertools import groupby
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from db import places_repo, sessions_repo, users_repo
from schemas.staff import ROLE_LEVEL, Bureau, Role
from webapp import access_log
from webapp.access_log import Kind
from webapp.admin.common import AdminActor, SearchedUsers, done, local, render_admin, user_or_404
from webapp.deps import AppSettings, Db
from webapp.render import form_model, render
from webapp.sessions import limits

router = APIRouter(include_in_schema=False)

DEFAULT_ROLE = Role.TOWNSHIP_CASEWORKER


def _role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


def _bureau(value: str) -> Bureau | None:
    """None for "no bureau" and for a value that is none; `add_user` then says a bureau is required."""
    try:
        return Bureau(value)
    except ValueError:
        return None


async def _place_groups(conn: asyncpg.Connection, role: Role) -> list[tuple[str, list[asyncpg.Record]]]:
    """Places at the role's level, grouped under their parent (villages under their township)."""
    rows = await places_repo.places_at_level(conn, ROLE_LEVEL[role])
    grouped = groupby(rows, key=lambda r: r["parent_name"] or "")
    return [(parent if ROLE_LEVEL[role] == "village" else "", list(places)) for parent, places in grouped]


async def _form_context(conn: asyncpg.Connection, form: dict[str, Any]) -> dict[str, Any]:
    """The form as typed, with the jurisdiction choices for its role; a single choice comes selected."""
    role = _role(form["role"]) or DEFAULT_ROLE
    groups = await _place_groups(conn, role)
    codes = [p["code"] for _, places in groups for p in places]
    place_code = codes[0] if len(codes) == 1 else form.get("place_code", "")
    return {
        "form": form | {"role": role.value, "place_code": place_code},
        "role": role,
        "roles": list(Role),
        "bureaus": list(Bureau),
        "place_groups": groups,
        "single_place": len(codes) == 1,
    }


async def _edit_context(conn: asyncpg.Connection, user: users_repo.UserRow, settings: AppSettings) -> dict[str, Any]:
    """The user page's form (as stored) and the user's live sessions."""
    form = asdict(user) | {"bureau": user.bureau or "", "id_number": user.id_number or ""}
    live = await sessions_repo.live_sessions(conn, user.username, limits(settings))
    return await _form_context(conn, form) | {"user": user, "live_sessions": live, "local": local}


@router.get("/admin/users")
async def users(request: Request, *, actor: AdminActor, found: SearchedUsers) -> Response:
    context = {"users": found.rows, "pager": found.pager, "q": found.q, "Bureau": Bureau}
    return render_admin(request, "admin/users.html", context, actor)


@router.get("/admin/users/new")
async def new_user(request: Request, *, actor: AdminActor, db: Db) -> Response:
    form = dict.fromkeys(("username", "full_name", "place_code", "bureau", "id_number"), "")
    form["role"] = DEFAULT_ROLE.value
    async with db.acquire() as conn:
        context = await _form_context(conn, form)
    return render_admin(request, "admin/user_form.html", context, actor)


@router.get("/admin/users/place-field")
async def place_field(
    request: Request, role: str = "", place_code: str = "", bureau: str = "", *, actor: AdminActor, db: Db
) -> Response:
    """The jurisdiction (and bureau) fields for a role, swapped in by htmx when the role changes."""
    async with db.acquire() as conn:
        context = await _form_context(conn, {"role": role, "place_code": place_code, "bureau": bureau})
    return render(request, "admin/_place_field.html", context, actor=actor)


USER_FIELDS = "full_name role place_code bureau id_number"  # what the user form posts, both new and edit
NewUserForm = form_model("NewUserForm", f"username {USER_FIELDS}")
EditUserForm = form_model("EditUserForm", USER_FIELDS, active=False)


@router.post("/admin/users")
async def create_user(
    request: Request, fields: Annotated[NewUserForm, Form()], *, actor: AdminActor, db: Db
) -> Response:
    """A new user with a one-time code for their first log-in (shown once here)."""
    form = fields.model_dump() | {"username": fields.username.strip()}
    username, role, place_code = form["username"], fields.role, fields.place_code
    async with db.acquire() as conn:
        try:
            if _role(role) is None:
                raise users_repo.UserError("请选择角色")
            code = users_repo.new_code()
            await users_repo.add_user(
                conn,
                username=username,
                full_name=fields.full_name,
                role=Role(role),
                place_code=place_code,
                password=code,
                bureau=_bureau(fields.bureau),
                id_number=fields.id_number,
                one_time=True,
            )
        except users_repo.UserError as e:
            context = await _form_context(conn, form) | {"error": str(e)}
            return render_admin(request, "admin/user_form.html", context, actor, status=422)
    await access_log.record(request, actor, Kind.USER_CREATED, username, detail=f"{role} {place_code}")
    return _show_code(request, actor, username, code, created=True)


def _show_code(request: Request, actor: AdminActor, username: str, code: str, *, created: bool) -> Response:
    """The one-time code, shown once: not cached, not in the cookie."""
    hours = int(users_repo.CODE_VALID.total_seconds() // 3600)
    context = {"username": username, "code": code, "created": created, "hours": hours}
    response = render_admin(request, "admin/one_time_code.html", context, actor)
    response.headers["cache-control"] = "no-store"
    return response


def _changes(user: users_repo.UserRow, role: str, place_code: str, active: bool) -> list[tuple[Kind, str]]:
    """What the access log records of an edit: role or jurisdiction changed, (de)activated, else an edit."""
    found = []
    if (user.role, user.place_code) != (role, place_code):
        found.append((Kind.USER_ROLE, f"{user.role} {user.place_code} → {role} {place_code}"))
    if user.active != active:
        found.append((Kind.USER_DEACTIVATED, "") if user.active else (Kind.USER_REACTIVATED, ""))
    return found or [(Kind.USER_EDITED, "")]


@router.get("/admin/users/{username}/edit")
async def edit_user(request: Request, username: str, *, actor: AdminActor, db: Db, settings: AppSettings) -> Response:
    async with db.acquire() as conn:
        user = await user_or_404(conn, username)
        context = await _edit_context(conn, user, settings)
    return render_admin(request, "admin/user_form.html", context, actor)


@router.post("/admin/users/{username}/edit")
async def update_user(
    request: Request,
    username: str,
    fields: Annotated[EditUserForm, Form()],
    *,
    actor: AdminActor,
    db: Db,
    settings: AppSettings,
) -> Response:
    """Save a user; deactivating them ends their sessions at once (users_repo.update_user)."""
    form = fields.model_dump()
    role, place_code, active = fields.role, fields.place_code, fields.active
    async with db.acquire() as conn:
        user = await user_or_404(conn, username)
        try:
            if _role(role) is None:
                raise users_repo.UserError("请选择角色")
            await users_repo.update_user(
                conn,
                username,
                full_name=fields.full_name,
                role=Role(role),
                place_code=place_code,
                bureau=_bureau(fields.bureau),
                active=active,
                id_number=fields.id_number,
            )
        except users_repo.UserError as e:
            context = await _edit_context(conn, user, settings) | await _form_context(conn, form) | {"error": str(e)}
            return render_admin(request, "admin/user_form.html", context, actor, status=422)
    for kind, detail in _changes(user, role, place_code, active):
        await access_log.record(request, actor, kind, username, detail=detail or None)
    return done(request, f"/admin/users/{username}/edit", "updated", username=username)


@router.post("/admin/users/{username}/password")
async def reset_password(request: Request, username: str, *, actor: AdminActor, db: Db) -> Response:
    """A one-time code replaces the user's password (the old one stops working) and ends every session of theirs;
    the administrator gives it to the user, who must choose a password when logging in with it."""
    async with db.acquire() as conn:
        await user_or_404(conn, username)
        code, ended = await users_repo.issue_code(conn, username)
    await access_log.record(request, actor, Kind.USER_RESET, username, detail=f"sessions ended: {ended}")
    return _show_code(request, actor, username, code, created=False)


@router.post("/admin/users/{username}/sessions/end")
async def end_sessions(request: Request, username: str, *, actor: AdminActor, db: Db) -> Response:
    """End every session of the user at once: each browser is sent to log in, each bearer token refused (401)."""
    async with db.acquire() as conn:
        await user_or_404(conn, username)
        ended = await sessions_repo.end_all(conn, username)
    await access_log.record(request, actor, Kind.USER_SESSIONS_ENDED, username, detail=f"sessions ended: {ended}")
    return done(request, f"/admin/users/{username}/edit", "sessions_ended", username=username, count=ended)
