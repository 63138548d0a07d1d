"""Log-in, log-out, password change, language switch, and each role's home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from db import places_repo, users_repo
from schemas.staff import Role
from webapp import ratelimit
from webapp.deps import Db, PageActor
from webapp.i18n import COOKIE, LOCALES
from webapp.render import render
from webapp.sessions import SESSION_USER

router = APIRouter(include_in_schema=False)

HOME = {
    Role.VILLAGE_CADRE: "/inbox",
    Role.TOWNSHIP_CASEWORKER: "/inbox",
    Role.TOWNSHIP_APPROVER: "/inbox",
    Role.DISTRICT_OFFICER: "/inbox",
    Role.DISTRICT_SUPERVISOR: "/dashboard",
    Role.ADMIN: "/admin",
    Role.BUREAU_STAFF: "/bureau",
}


def _safe_next(target: str | None) -> str | None:
    """Only paths on this site, never another host (open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@router.get("/")
async def home(actor: PageActor) -> RedirectResponse:
    return RedirectResponse(HOME[actor.role], status_code=303)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "account/login.html", {"next": _safe_next(next) or "", "username": ""})


@router.post("/login")
async def login(
    request: Request,
    db: Db,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    try:
        actor = await ratelimit.log_in(db, request, username.strip(), password)
    except ratelimit.LoginRefused as refused:  # wrong password, user name locked, or too many from this address
        context = {"next": _safe_next(next) or "", "username": username, "error": refused.code}
        return render(request, "account/login.html", context | {"minutes": refused.minutes}, status=refused.status)
    request.session.clear()
    request.session[SESSION_USER] = actor.username
    return RedirectResponse(_safe_next(next) or HOME[actor.role], status_code=303)


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/account")
async def account(request: Request, actor: PageActor, db: Db) -> Response:
    place = await places_repo.place_name(db, actor.place_code)
    return render(request, "account/account.html", {"place_name": place}, actor=actor)


@router.post("/account/password")
async def change_password(
    request: Request,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    *,
    actor: PageActor,
    db: Db,
) -> Response:
    place = await places_repo.place_name(db, actor.place_code)
    error = None
    async with db.acquire() as conn:
        if await users_repo.authenticate(conn, actor.username, current) is None:
            error = "wrong_current"
        elif new != confirm:
            error = "mismatch"
        else:
            try:
                await users_repo.set_password(conn, actor.username, new)
            except users_repo.UserError:
                error = "too_short"
    context = {"place_name": place, "error": error, "changed": error is None}
    return render(request, "account/account.html", context, status=200 if error is None else 422, actor=actor)


@router.post("/lang")
async def switch_language(request: Request, locale: Annotated[str, Form()] = "zh_CN") -> RedirectResponse:
    back = _safe_next(request.headers.get("referer", "").removeprefix(str(request.base_url).rstrip("/"))) or "/"
    response = RedirectResponse(back, status_code=303)
    if locale in LOCALES:
        response.set_cookie(COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
    return response
