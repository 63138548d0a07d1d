"""Log-in, log-out, password change, language switch, and each role's home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from db import places_repo, users_repo
from schemas.staff import Role
from webapp import access_log, ratelimit
from webapp.access_log import Kind
from webapp.deps import AppSettings, Db, PageActor
from webapp.i18n import COOKIE, LOCALES
from webapp.render import render
from webapp.sessions import PASSWORD_CHANGE, current_session, end_session, start_session

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
    await start_session(request, actor, kind="page")
    if (await current_session(request)).must_change_password:  # a one-time code: a password first
        return RedirectResponse(PASSWORD_CHANGE, status_code=303)
    return RedirectResponse(_safe_next(next) or HOME[actor.role], status_code=303)


@router.post("/logout")
async def logout(request: Request, everywhere: Annotated[str, Form()] = "") -> RedirectResponse:
    """End this browser's session at once (a copy of its cookie is refused from now on); `everywhere` (the
    account page's button) ends every session of the user, other browsers and bearer tokens included."""
    await end_session(request, everywhere=bool(everywhere))
    return RedirectResponse("/login", status_code=303)


def _session_limits(settings: AppSettings) -> dict[str, int]:
    return {"session_idle": settings.session_idle_minutes, "session_hours": settings.session_max_hours}


@router.get("/account")
async def account(request: Request, actor: PageActor, db: Db, settings: AppSettings) -> Response:
    place = await places_repo.place_name(db, actor.place_code)
    return render(request, "account/account.html", {"place_name": place} | _session_limits(settings), actor=actor)


@router.post("/account/password")
async def change_password(
    request: Request,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    *,
    actor: PageActor,
    db: Db,
    settings: AppSettings,
) -> Response:
    """A new password ends every session of the user (other browsers, bearer tokens, and this one); this browser
    goes on in a new session."""
    place = await places_repo.place_name(db, actor.place_code)
    error, minutes = None, 0
    try:  # the same lock-out counter as the log-in: a wrong current password is a failed log-in
        await ratelimit.check_password(db, actor.username, current, ip=ratelimit.client_ip(request))
    except ratelimit.LoginRefused as refused:
        error, minutes = ("wrong_current" if refused.code == "bad_credentials" else refused.code), refused.minutes
    if error is None and new != confirm:
        error = "mismatch"
    elif error is None:
        try:
            async with db.acquire() as conn:
                await users_repo.set_password(conn, actor.username, new)
        except users_repo.WeakPassword as weak:
            error = weak.code
        else:
            await start_session(request, actor, kind="page")
            await access_log.record(request, actor, Kind.PASSWORD_CHANGED, actor.username)
    context = {"place_name": place, "error": error, "minutes": minutes, "changed": error is None}
    status = 200 if error is None else 429 if error == "account_locked" else 422
    return render(request, "account/account.html", context | _session_limits(settings), status=status, actor=actor)


@router.get(PASSWORD_CHANGE)
async def new_password_form(request: Request, actor: PageActor) -> Response:
    """After a log-in with a one-time code: the only page such a session may open (webapp.sessions)."""
    if not (await current_session(request)).must_change_password:
        return RedirectResponse("/account", status_code=303)
    return render(request, "account/new_password.html", {}, actor=actor)


@router.post(PASSWORD_CHANGE)
async def set_new_password(
    request: Request,
    new: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    *,
    actor: PageActor,
    db: Db,
) -> Response:
    """The password of a user who logged in with a one-time code, without the current one (the code is used up):
    it ends every session of theirs, and this browser goes on in a new one. Anyone else changes theirs on
    /account with the current password."""
    if not (await current_session(request)).must_change_password:
        return RedirectResponse("/account", status_code=303)
    error = "mismatch" if new != confirm else None
    if error is None:
        try:
            async with db.acquire() as conn:
                await users_repo.set_password(conn, actor.username, new)
        except users_repo.WeakPassword as weak:
            error = weak.code
    if error is not None:
        return render(request, "account/new_password.html", {"error": error}, status=422, actor=actor)
    await start_session(request, actor, kind="page")
    await access_log.record(request, actor, Kind.PASSWORD_CHANGED, actor.username, detail="one-time code")
    return RedirectResponse(HOME[actor.role], status_code=303)


@router.post("/lang")
async def switch_language(request: Request, locale: Annotated[str, Form()] = "zh_CN") -> RedirectResponse:
    back = _safe_next(request.headers.get("referer", "").removeprefix(str(request.base_url).rstrip("/"))) or "/"
    response = RedirectResponse(back, status_code=303)
    if locale in LOCALES:
        response.set_cookie(COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax")
    return response
