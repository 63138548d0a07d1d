"""Log-in over HTTP: a session for the browser and a bearer token for scripts; log-out; who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from db import places_repo
from schemas.staff import Actor, Bureau, Role
from webapp import ratelimit
from webapp.deps import CurrentActor, Db
from webapp.errors import error_responses
from webapp.sessions import end_session, start_session


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
    token: str = Field(
        description="Bearer 令牌，脚本调用时放在 Authorization 头；与浏览器会话同属一个会话：闲置 30 分钟、"
        "登录满 12 小时（可配置）、退出登录、修改密码或停用账户后失效"
    )
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
_401 = error_responses({401: "未登录"})
_LOGIN = error_responses(
    {
        401: "用户名或密码错误",
        429: "账户已临时锁定（account_locked）或登录尝试过于频繁（too_many_attempts）",
    }
)


@router.post("/auth/login", response_model=LoginOut, summary="登录", responses=_LOGIN)
async def login(body: LoginIn, request: Request, db: Db) -> LoginOut:
    """Check the password (Argon2), start a session (the browser's cookie) and hand out its bearer token for
    scripts.

    5 failed attempts lock the user name for 15 minutes (429 account_locked); one address is limited
    in attempts too (429 too_many_attempts): see webapp.ratelimit."""
    try:
        actor = await ratelimit.log_in(db, request, body.username, body.password)
    except ratelimit.LoginRefused as refused:
        raise refused.as_api_error() from None
    token = await start_session(request, actor, kind="api")
    return LoginOut(token=token, user=await _user_out(db, actor))


@router.post("/auth/logout", status_code=204, summary="退出登录")
async def logout(
    request: Request,
    everywhere: Annotated[bool, Query(description="true：结束本人的全部会话（所有浏览器和令牌）")] = False,
) -> None:
    """Ends the caller's session at once, whether it is sent as the bearer token or the cookie (both are one
    session); `everywhere=true` ends every session of the user. Without a live session there is nothing to end
    (still 204)."""
    await end_session(request, everywhere=everywhere)


@router.get("/me", response_model=UserOut, summary="当前用户", responses=_401)
async def me(actor: CurrentActor, db: Db) -> UserOut:
    return await _user_out(db, actor)
