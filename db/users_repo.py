"""Staff users: Argon2 password hashes (argon2-cffi), roles and jurisdiction checks at write time."""

from __future__ import annotations

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from schemas.staff import ROLE_LEVEL, Actor, Bureau, Role

_hasher = PasswordHasher()


class UserError(ValueError):
    pass


async def add_user(
    conn: asyncpg.Connection,
    *,
    username: str,
    full_name: str,
    role: Role,
    place_code: str,
    password: str,
    bureau: Bureau | None = None,
) -> int:
    level = await conn.fetchval("select level from places where code = $1", place_code)
    if level is None:
        raise UserError(f"区划代码不存在：{place_code}")
    if level != ROLE_LEVEL[role]:
        raise UserError(f"{role.label}的辖区应为{ROLE_LEVEL[role]}级，{place_code} 是{level}级")
    if (role is Role.BUREAU_STAFF) != (bureau is not None):
        raise UserError("部门工作人员必须指定部门，其他角色不得指定部门")
    if len(password) < 8:
        raise UserError("密码至少 8 位")
    try:
        return await conn.fetchval(
            "insert into users (username, full_name, role, place_code, bureau, password_hash) "
            "values ($1,$2,$3,$4,$5,$6) returning id",
            username,
            full_name,
            role.value,
            place_code,
            bureau.value if bureau else None,
            _hasher.hash(password),
        )
    except asyncpg.UniqueViolationError:
        raise UserError(f"用户名已存在：{username}") from None


async def list_users(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "select u.id, u.username, u.full_name, u.role, u.place_code, p.name as place_name, u.bureau, u.active "
        "from users u join places p on p.code = u.place_code order by u.place_code, u.role, u.username"
    )


async def authenticate(conn: asyncpg.Connection, username: str, password: str) -> Actor | None:
    row = await conn.fetchrow(
        "select username, full_name, role, place_code, bureau, password_hash from users where username = $1 and active",
        username,
    )
    if row is None:
        _hasher.hash(password)  # same cost whether or not the user exists
        return None
    try:
        _hasher.verify(row["password_hash"], password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    return actor_from_row(row)


async def get_actor(conn: asyncpg.Connection, username: str) -> Actor | None:
    row = await conn.fetchrow(
        "select username, full_name, role, place_code, bureau from users where username = $1 and active",
        username,
    )
    return actor_from_row(row) if row else None


def actor_from_row(row: asyncpg.Record) -> Actor:
    return Actor(
        username=row["username"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        place_code=row["place_code"],
        bureau=Bureau(row["bureau"]) if row["bureau"] else None,
    )


async def set_password(conn: asyncpg.Connection, username: str, password: str) -> None:
    if len(password) < 8:
        raise UserError("密码至少 8 位")
    done = await conn.execute(
        "update users set password_hash = $2 where username = $1", username, _hasher.hash(password)
    )
    if done.endswith(" 0"):
        raise UserError(f"用户不存在：{username}")


DEMO_PASSWORD = "jiuzhu2026"

# (username, full name, role, place, bureau)
DEMO_USERS = [
    ("admin", "系统管理员", Role.ADMIN, "341503", None),
    ("qu_jiandu", "区监督员 周敏", Role.DISTRICT_SUPERVISOR, "341503", None),
    ("qu_minzheng", "区民政局 陈立", Role.DISTRICT_OFFICER, "341503", None),
    ("shipo_jingban", "石婆店镇经办人 李娟", Role.TOWNSHIP_CASEWORKER, "341503106", None),
    ("shipo_diaocha", "石婆店镇经办人 王强", Role.TOWNSHIP_CASEWORKER, "341503106", None),
    ("shipo_shenpi", "石婆店镇审批人 张华", Role.TOWNSHIP_APPROVER, "341503106", None),
    ("shipo_cun1", "石婆店镇示范村一 村干部 刘芳", Role.VILLAGE_CADRE, "341503106201", None),
    ("shunhe_jingban", "顺河镇经办人 赵磊", Role.TOWNSHIP_CASEWORKER, "341503104", None),
    ("shunhe_diaocha", "顺河镇经办人 孙燕", Role.TOWNSHIP_CASEWORKER, "341503104", None),
    ("shunhe_shenpi", "顺河镇审批人 吴刚", Role.TOWNSHIP_APPROVER, "341503104", None),
    ("gulou_jingban", "鼓楼街道经办人 郑洁", Role.TOWNSHIP_CASEWORKER, "341503001", None),
    ("gulou_diaocha", "鼓楼街道经办人 冯涛", Role.TOWNSHIP_CASEWORKER, "341503001", None),
    ("gulou_shenpi", "鼓楼街道审批人 何静", Role.TOWNSHIP_APPROVER, "341503001", None),
    ("yiliao_bu", "区医保局 工作人员", Role.BUREAU_STAFF, "341503", Bureau.MEDICAL_INSURANCE),
]


async def ensure_demo_users(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
    """On an empty users table, create the demo set; returns (username, role label, place) created."""
    if await conn.fetchval("select exists(select 1 from users)"):
        return []
    created = []
    async with conn.transaction():
        for username, name, role, place, bureau in DEMO_USERS:
            await add_user(
                conn,
                username=username,
                full_name=name,
                role=role,
                place_code=place,
                password=DEMO_PASSWORD,
                bureau=bureau,
            )
            created.append((username, role.label, place))
    return created
