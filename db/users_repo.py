"""Staff users: Argon2 password hashes (argon2-cffi), roles and jurisdiction checks at write time."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from db import lockout_repo, sessions_repo
from db.passwords import hash_password, verify_password, waste_time
from db.pool import Db
from db.typed import every, one
from schemas.identity import validate_resident_id
from schemas.staff import ROLE_LEVEL, Actor, Bureau, Role, StaffRef


class UserError(ValueError):
    pass


class WeakPassword(UserError):
    """A new password the policy refuses; `code` names the rule (too_short, username, demo) for the pages."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


PASSWORD_MIN = 12
DEMO_PASSWORD = "jiuzhu2026"


def check_new_password(username: str, password: str) -> None:
    """The rules for a password chosen now (a new user, a reset, a change): at least PASSWORD_MIN characters,
    not the user name, not the demo password that every demo account is created with."""
    if password == DEMO_PASSWORD:
        raise WeakPassword("demo", "不能使用演示密码")
    if password.strip().casefold() == username.strip().casefold():
        raise WeakPassword("username", "密码不能与用户名相同")
    if len(password) < PASSWORD_MIN:
        raise WeakPassword("too_short", f"密码至少 {PASSWORD_MIN} 位")


# A one-time code (an administrator's reset, a new account): stored as the password's hash, good for one
# log-in within CODE_VALID, after which the user must choose a password. No 0/O, 1/I/L: read out by phone.
CODE_VALID = timedelta(hours=24)
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CONSUMED = "!one-time-code-used"  # no Argon2 hash: nothing verifies against it


def new_code() -> str:
    """A random one-time code, 4 groups of 4 ("K7QM-2XHP-9RTA-W4ZN", about 79 bits)."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
USERNAME = re.compile(USERNAME_PATTERN)
LEVEL_NAMES = {"district": "区", "township": "乡镇", "village": "村"}
NAME_MAX = 64  # Actor.full_name's limit: a longer name could be stored but never log in


def _check_full_name(full_name: str) -> str:
    name = full_name.strip()
    if not name:
        raise UserError("姓名不能为空")
    if len(name) > NAME_MAX:
        raise UserError(f"姓名最长 {NAME_MAX} 个字")
    return name


def _check_id_number(id_number: str | None) -> str | None:
    """The user's own resident ID number, normalised; None when not given."""
    if id_number is None or not id_number.strip():
        return None
    try:
        return validate_resident_id(id_number)
    except ValueError as e:
        raise UserError(str(e)) from None


def _unique_violation(e: asyncpg.UniqueViolationError, username: str) -> UserError:
    if e.constraint_name == "users_id_number":
        return UserError("该身份证号码已登记在另一用户名下")
    return UserError(f"用户名已存在：{username}")


async def _check_assignment(conn: asyncpg.Connection, role: Role, place_code: str, bureau: Bureau | None) -> None:
    """The jurisdiction must exist and be at the role's level; only bureau staff name a bureau."""
    level = await conn.fetchval("select level from places where code = $1", place_code)
    if level is None:
        raise UserError(f"区划代码不存在：{place_code}")
    if level != ROLE_LEVEL[role]:
        want = ROLE_LEVEL[role]
        raise UserError(
            f"{role.label}的辖区应为{LEVEL_NAMES[want]}级（{want}），{place_code} 是{LEVEL_NAMES[level]}级（{level}）"
        )
    if (role is Role.BUREAU_STAFF) != (bureau is not None):
        raise UserError("部门工作人员必须指定部门，其他角色不得指定部门")


async def add_user(
    conn: asyncpg.Connection,
    *,
    username: str,
    full_name: str,
    role: Role,
    place_code: str,
    password: str,
    bureau: Bureau | None = None,
    id_number: str | None = None,
    demo: bool = False,
    one_time: bool = False,
) -> int:
    """A new user. `demo`: a demo account (`jiuzhu up` on an empty database, tests), whose password is the
    demo password and is not held to the policy; everyone else's is (`check_new_password`). `one_time`: the
    password is a one-time code (`new_code`, the administrator's page), valid CODE_VALID, to be replaced at the
    first log-in."""
    if not USERNAME.fullmatch(username):
        raise UserError("用户名只能由字母、数字、下划线、点和连字符组成，最长 64 位")
    full_name = _check_full_name(full_name)
    id_number = _check_id_number(id_number)
    await _check_assignment(conn, role, place_code, bureau)
    if not demo:
        check_new_password(username, password)
    try:
        return await conn.fetchval(
            "insert into users (username, full_name, role, place_code, bureau, password_hash, id_number, "
            "must_change_password, password_expires_at) "
            "values ($1,$2,$3,$4,$5,$6,$7,$8,case when $8 then now() + $9::interval end) returning id",
            username,
            full_name,
            role.value,
            place_code,
            bureau.value if bureau else None,
            await hash_password(password),
            id_number,
            one_time,
            CODE_VALID,
        )
    except asyncpg.UniqueViolationError as e:
        raise _unique_violation(e, username) from None


async def update_user(
    conn: asyncpg.Connection,
    username: str,
    *,
    full_name: str,
    role: Role,
    place_code: str,
    bureau: Bureau | None,
    active: bool,
    id_number: str | None = None,
) -> None:
    """Change everything but the user name (sessions and case histories refer to it); `id_number` None or
    empty clears the user's ID number.

    Refuses to leave the system without an active administrator, who alone could undo that. Deactivating a
    user ends their sessions at once.
    """
    full_name = _check_full_name(full_name)
    id_number = _check_id_number(id_number)
    await _check_assignment(conn, role, place_code, bureau)
    async with conn.transaction():
        admins = {
            r["username"]
            for r in await conn.fetch("select username from users where role = 'admin' and active for update")
        }
        if admins == {username} and not (role is Role.ADMIN and active):
            raise UserError("至少要保留一名启用的系统管理员")
        try:
            done = await conn.execute(
                "update users set full_name = $2, role = $3, place_code = $4, bureau = $5, active = $6, "
                "id_number = $7 where username = $1",
                username,
                full_name,
                role.value,
                place_code,
                bureau.value if bureau else None,
                active,
                id_number,
            )
        except asyncpg.UniqueViolationError as e:
            raise _unique_violation(e, username) from None
        if not active:
            await sessions_repo.end_all(conn, username)
    if done.endswith(" 0"):
        raise UserError(f"用户不存在：{username}")


async def set_id_number(conn: asyncpg.Connection, username: str, id_number: str | None) -> None:
    """Record (or, None or empty, clear) the user's own resident ID number."""
    id_number = _check_id_number(id_number)
    try:
        done = await conn.execute("update users set id_number = $2 where username = $1", username, id_number)
    except asyncpg.UniqueViolationError as e:
        raise _unique_violation(e, username) from None
    if done.endswith(" 0"):
        raise UserError(f"用户不存在：{username}")


@dataclass(frozen=True)
class UserRow:
    """A user as the admin pages and `jiuzhu users list` show them, inactive ones included."""

    id: int
    username: str
    full_name: str
    role: str
    place_code: str
    place_name: str
    bureau: str | None
    active: bool
    created_at: datetime
    id_number: str | None  # the user's own resident ID number, if recorded: show it masked in lists


@dataclass(frozen=True)
class UserCounts:
    active: int
    inactive: int


_USER_COLUMNS = (
    "u.id, u.username, u.full_name, u.role, u.place_code, p.name as place_name, u.bureau, u.active, u.created_at, "
    "u.id_number"
)
_USERS = f"select {_USER_COLUMNS} from users u join places p on p.code = u.place_code"
_ORDER = "order by u.place_code, u.role, u.username"


async def get_user(db: Db, username: str) -> UserRow | None:
    """One user as the admin pages show it, inactive ones included."""
    return await one(db, UserRow, f"{_USERS} where u.username = $1", username)


async def page_users(db: Db, *, search: str = "", limit: int, offset: int) -> tuple[list[UserRow], int]:
    """One page of users (in `list_users` order) whose user name or name contains `search`, and the total."""
    where = "where u.username ilike $1 or u.full_name ilike $1"
    pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    total = await db.fetchval(f"select count(*) from users u {where}", pattern)
    rows = await db.fetch(f"{_USERS} {where} {_ORDER} limit $2 offset $3", pattern, limit, offset)
    return [UserRow(**r) for r in rows], total


async def list_users(db: Db) -> list[UserRow]:
    return [UserRow(**r) for r in await db.fetch(f"{_USERS} {_ORDER}")]


async def user_counts(db: Db) -> UserCounts:
    """Active and deactivated users."""
    row = await db.fetchrow(
        "select count(*) filter (where active) as active, count(*) filter (where not active) as inactive from users"
    )
    return UserCounts(**row)


async def authenticate(db: Db, username: str, password: str) -> Actor | None:
    """The active user if `password` is theirs. The hash runs off the event loop (db.passwords); give a pool,
    not a connection, where one can: a connection held across the hash is idle for its ~120 ms.

    A one-time code (`must_change_password`) works once, before it expires: the log-in that uses it replaces
    it with a value nothing matches, so the user must choose a password in that session (webapp.sessions)."""
    row = await db.fetchrow(
        "select username, full_name, role, place_code, bureau, password_hash, must_change_password, "
        "coalesce(password_expires_at > now(), true) as valid from users where username = $1 and active",
        username,
    )
    if row is None or not row["valid"]:
        await waste_time(password)  # same cost whether or not the user exists
        return None
    if not await verify_password(row["password_hash"], password):
        return None
    if row["must_change_password"]:
        used = await db.fetchval(
            "update users set password_hash = $3 where username = $1 and password_hash = $2 returning id",
            username,
            row["password_hash"],
            _CONSUMED,
        )
        if used is None:  # a parallel log-in used the code first
            return None
    return actor_from_row(row)


async def front_line_staff_named(db: Db, names: list[str]) -> list[tuple[str, str]]:
    """(user name, full name) of township staff and village cadres whose full name is one of `names`, or ends
    in one after a space ("石婆店镇经办人 李娟" for 李娟): the relatives an applicant declares."""
    rows = await db.fetch(
        "select username, full_name from users where role in ('township_caseworker', 'township_approver', "
        "'village_cadre') and exists (select 1 from unnest($1::text[]) n "
        "where full_name = n or full_name like '% ' || n)",
        names,
    )
    return [(r["username"], r["full_name"]) for r in rows]


# ---- the review's relatives check (近亲属备案) and home visits -------------------------------------------------


@dataclass(frozen=True)
class NamedUser:
    """A user found for the relatives check: by their ID number (`key` is it) or by name (`key` is the name)."""

    key: str
    username: str
    full_name: str
    role: str
    place_code: str
    has_id_number: bool


async def users_with_id_numbers(db: Db, id_numbers: list[str]) -> list[NamedUser]:
    """Users (active or not: a bar does no harm) whose own ID number is one of `id_numbers`."""
    return await every(
        db,
        NamedUser,
        "select id_number as key, username, full_name, role, place_code, true as has_id_number from users "
        "where id_number = any($1::text[]) order by username",
        id_numbers,
    )


async def staff_named(db: Db, names: list[str], *, within: str, roles: tuple[str, ...]) -> list[NamedUser]:
    """Active users of `roles` responsible for a place inside `within` whose full name is one of `names`, or
    ends in one after a space ("石婆店镇经办人 李娟" for 李娟): namesakes of the relatives an applicant declares."""
    return await every(
        db,
        NamedUser,
        "select n as key, u.username, u.full_name, u.role, u.place_code, u.id_number is not null as has_id_number "
        "from users u join unnest($1::text[]) n on u.full_name = n or u.full_name like '% ' || n "
        "where u.active and starts_with(u.place_code, $2) and u.role = any($3::text[]) order by u.username",
        names,
        within,
        list(roles),
    )


async def staff_refs(db: Db, usernames: list[str]) -> dict[str, StaffRef]:
    """The active users among `usernames`, as a workflow is told about them (e.g. the investigators)."""
    rows = await db.fetch(
        "select username, full_name, role, place_code from users where username = any($1::text[]) and active",
        usernames,
    )
    return {r["username"]: StaffRef(**r) for r in rows}


async def full_names(db: Db, usernames: Iterable[str] | None = None) -> dict[str, str]:
    """Users' full names by user name: of these users, or of every user."""
    if usernames is None:
        rows = await db.fetch("select username, full_name from users")
    else:
        rows = await db.fetch("select username, full_name from users where username = any($1::text[])", list(usernames))
    return {r["username"]: r["full_name"] for r in rows}


@dataclass(frozen=True)
class StaffName:
    username: str
    full_name: str
    role: str
    place_code: str


async def staff_for_place(db: Db, place: str, roles: list[str]) -> list[StaffName]:
    """Active staff of these roles responsible for `place` (their jurisdiction holds it), the closest first:
    who may be named in a case's home visit (investigators, assisting village cadres)."""
    return await every(
        db,
        StaffName,
        "select username, full_name, role, place_code from users where active and starts_with($1, place_code) "
        "and role = any($2::text[]) order by length(place_code) desc, role, username",
        place,
        roles,
    )


async def count(db: Db) -> int:
    return await db.fetchval("select count(*) from users")


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
    """A new password (the user's own change, the administrator's reset, `jiuzhu users passwd`), held to the
    policy; every session of the user (pages and bearer tokens) ends, and a lock-out is lifted."""
    check_new_password(username, password)
    password_hash = await hash_password(password)
    async with conn.transaction():
        done = await conn.execute(
            "update users set password_hash = $2, must_change_password = false, password_expires_at = null "
            "where username = $1",
            username,
            password_hash,
        )
        if done.endswith(" 0"):
            raise UserError(f"用户不存在：{username}")
        await sessions_repo.end_all(conn, username)
        await lockout_repo.clear(conn, username)


async def issue_code(conn: asyncpg.Connection, username: str) -> tuple[str, int]:
    """The administrator's reset: a new one-time code replaces the user's password (the old one stops working),
    valid CODE_VALID for one log-in, after which the user must choose a password; every session of the user
    ends and a lock-out is lifted. Returns the code (shown once, never stored in clear) and the sessions ended."""
    code = new_code()
    code_hash = await hash_password(code)
    async with conn.transaction():
        done = await conn.execute(
            "update users set password_hash = $2, must_change_password = true, "
            "password_expires_at = now() + $3::interval where username = $1",
            username,
            code_hash,
            CODE_VALID,
        )
        if done.endswith(" 0"):
            raise UserError(f"用户不存在：{username}")
        ended = await sessions_repo.end_all(conn, username)
        await lockout_repo.clear(conn, username)
    return code, ended


DemoUser = tuple[str, str, Role, str, Bureau | None]  # (username, full name, role, place, bureau)
DEMO_USERS: list[DemoUser] = [
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
