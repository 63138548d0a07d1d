"""The demo users (`jiuzhu up --demo`): created on an empty users table, and refused in production while any
of them still has the published demo password."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg

from db.passwords import verify_password
from db.users_repo import DEMO_PASSWORD, DEMO_USERS, DemoUser, add_user


class DemoPasswordInProduction(RuntimeError):
    """Production with a user who still has the published demo password: the web app and worker refuse to start."""


async def demo_password_users(conn: asyncpg.Connection | asyncpg.Pool) -> list[str]:
    """Active users whose password is still the demo password (one Argon2 check each, on the hash threads)."""
    rows = await conn.fetch("select username, password_hash from users where active order by username")
    matches = await asyncio.gather(*(verify_password(r["password_hash"], DEMO_PASSWORD) for r in rows))
    return [r["username"] for r, match in zip(rows, matches, strict=True) if match]


async def refuse_demo_passwords(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    """Production start-up: raise if any active user still has the demo password (`jiuzhu up --demo` users)."""
    if names := await demo_password_users(conn):
        raise DemoPasswordInProduction(
            f"生产环境（JIUZHU_ENV=production）拒绝启动：以下用户仍在使用公开的演示密码：{'、'.join(names)}。"
            "请用 `jiuzhu users passwd` 设置新密码或停用这些用户后再启动。"
        )


async def add_demo_users(conn: asyncpg.Connection, users: Iterable[DemoUser]) -> None:
    """Add `users` (username, full name, role, place, bureau), each with the demo password and marked demo."""
    for username, name, role, place, bureau in users:
        await add_user(
            conn,
            username=username,
            full_name=name,
            role=role,
            place_code=place,
            password=DEMO_PASSWORD,
            bureau=bureau,
            demo=True,
        )


async def ensure_demo_users(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
    """On an empty users table, create the demo set; returns (username, role label, place) created."""
    if await conn.fetchval("select exists(select 1 from users)"):
        return []
    async with conn.transaction():
        await add_demo_users(conn, DEMO_USERS)
    return [(username, role.label, place) for username, _, role, place, _ in DEMO_USERS]
