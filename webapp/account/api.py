"""Log-in over HTTP: a session for the browser and a bearer token for scripts; log-out; who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from db import places_repo
from schemas.staff import Actor, Bureau, Role
from webapp import ratelimit
from webapp.deps import CurrentActor, Db
from webapp.errors import ErrorBody
from webapp.sessions import SESSION_USER


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, description="用户名")
    password: str = Field(min_length=1, max_length=256, description="密码")


class UserOut(BaseModel):
    username: str
    full_name: str
    role: Role
    role_label: str
    place_code: str
    place_name: str
    bureau: Bureau | None


class LoginOut(BaseModel):
    token: str = Field(description="Bearer 令牌（12小时有效），脚本调用时放在 Authorization 头")
    user: UserOut


async def _user_out(db: Db, actor: Actor) -> UserOut:
    place_name = await places_repo.place_name(db, actor.place_code)
    return UserOut(
        username=actor.username,
        full_name=actor.full_name,
        role=actor.role,
        role_label=actor.role.label,
        place_code=actor.place_code,
        place_name=place_name or actor.place_code,
        bureau=actor.bureau,
    )


router = APIRouter(prefix="/api", tags=["登录"])
_401 = {401: {"model": ErrorBody, "description": "未登录"}}
_LOGIN = {
    401: {"model": ErrorBody, "description": "用户名或密码错误"},
    429: {"model": ErrorBody, "description": "账户已临时锁定（account_locked）或登录尝试过于频繁（too_many_attempts）"},
}


@router.post("/auth/login", response_model=LoginOut, summary="登录", responses=_LOGIN)
async def login(body: LoginIn, request: Request, db: Db) -> LoginOut:
    """Check the password (Argon2), start a session and hand out a bearer token for scripts.

    5 failed attempts lock the user name for 15 minutes (429 account_locked); one address is limited
    in attempts too (429 too_many_attempts): see webapp.ratelimit."""
    try:
        actor = await ratelimit.log_in(db, request, body.username, body.password)
    except ratelimit.LoginRefused as refused:
        raise refused.as_api_error() from None
    request.session.clear()
    request.session[SESSION_USER] = actor.username
    token = request.app.state.keys.tokens.dumps({"u": actor.username})
    return LoginOut(token=token, user=await _user_out(db, actor))


@router.post("/auth/logout", status_code=204, summary="退出登录")
async def logout(request: Request) -> None:
    """Ends the browser session; a bearer token simply expires after 12 hours."""
    request.session.clear()


@router.get("/me", response_model=UserOut, summary="当前用户", responses=_401)
async def me(actor: CurrentActor, db: Db) -> UserOut:
    return await _user_out(db, actor)
