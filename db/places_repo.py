"""Places (district → townships → villages): the tree, edits by an administrator, new villages.

Codes are the statistical division codes: 6 digits for the district, 9 for a township, 12 for a
village or community, each extending its parent's. Codes never change once stored (users, cases
and households refer to them); names and the pilot flag may.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import asyncpg

from db.pool import Db
from db.typed import every, one

VILLAGE_KINDS = ("村", "社区")
NAME_MAX = 64
_VILLAGE_CODE = re.compile(r"[0-9]{12}")


class PlaceError(ValueError):
    """A refused change; the message is Chinese, for the administrator as it is."""


@dataclass(frozen=True)
class Place:
    code: str
    name: str
    level: str  # district, township, village
    kind: str  # 区 / 街道 / 镇 / 乡 / 管委 / 村 / 社区
    parent_code: str | None
    is_pilot: bool
    source: str  # 'seed' or 'admin'
    note: str | None


@dataclass
class PlaceNode:
    place: Place
    children: list[PlaceNode] = field(default_factory=list)


_COLUMNS = "code, name, level, kind, parent_code, is_pilot, source, note"


async def place_tree(conn: asyncpg.Connection) -> list[PlaceNode]:
    """The roots (the district) with their descendants, each level in code order."""
    rows = await conn.fetch(f"select {_COLUMNS} from places order by code")
    nodes = {r["code"]: PlaceNode(Place(**r)) for r in rows}
    roots = []
    for node in nodes.values():
        parent = node.place.parent_code
        (nodes[parent].children if parent else roots).append(node)
    return roots


async def get_place(db: Db, code: str) -> Place | None:
    return await one(db, Place, f"select {_COLUMNS} from places where code = $1", code)


async def place_name(db: Db, code: str) -> str | None:
    place = await get_place(db, code)
    return place.name if place else None


async def places_at_level(db: Db, level: str, within: str = "") -> list[asyncpg.Record]:
    """Places of one level (inside the place `within`, if given) with their parent's name, in code order: the
    choices of a user's jurisdiction, of a form's township or village. Records (code, name, parent_code,
    parent_name)."""
    return await db.fetch(
        "select p.code, p.name, p.parent_code, parent.name as parent_name from places p "
        "left join places parent on parent.code = p.parent_code where p.level = $1 and starts_with(p.code, $2) "
        "order by p.code",
        level,
        within,
    )


async def townships_of(db: Db, place: str = "") -> list[Place]:
    """The townships within `place` (every one for the district, or by default), or the one `place` lies in
    (a village's), in code order."""
    return await every(
        db,
        Place,
        f"select {_COLUMNS} from places where level = 'township' and (starts_with(code, $1) or starts_with($1, code)) "
        "order by code",
        place,
    )


async def names(db: Db) -> dict[str, str]:
    """Every place's name by its code."""
    return {r["code"]: r["name"] for r in await db.fetch("select code, name from places")}


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise PlaceError("名称不能为空")
    if len(name) > NAME_MAX:
        raise PlaceError(f"名称最长 {NAME_MAX} 个字")
    return name


async def update_place(conn: asyncpg.Connection, code: str, *, name: str, is_pilot: bool) -> None:
    """Rename a place or change its pilot flag; `source` and the seed note stay, since the code is unchecked."""
    done = await conn.execute(
        "update places set name = $2, is_pilot = $3 where code = $1", code, _check_name(name), is_pilot
    )
    if done.endswith(" 0"):
        raise PlaceError(f"区划代码不存在：{code}")


async def add_village(
    conn: asyncpg.Connection, *, township_code: str, code: str, name: str, kind: str, is_pilot: bool
) -> None:
    """Add a village or community under a township; its 12-digit code must extend the township's."""
    name = _check_name(name)
    code = code.strip()
    parent = await conn.fetchrow("select level, name from places where code = $1", township_code)
    if parent is None:
        raise PlaceError(f"区划代码不存在：{township_code}")
    if parent["level"] != "township":
        raise PlaceError("村（社区）只能添加在乡镇（街道）之下")
    if not _VILLAGE_CODE.fullmatch(code):
        raise PlaceError("村（社区）区划代码应为 12 位数字")
    if not code.startswith(township_code):
        raise PlaceError(f"区划代码应以所属乡镇（{parent['name']}）的代码 {township_code} 开头")
    if kind not in VILLAGE_KINDS:
        raise PlaceError("类型应为村或社区")
    try:
        await conn.execute(
            "insert into places (code, name, level, kind, parent_code, is_pilot, source) "
            "values ($1, $2, 'village', $3, $4, $5, 'admin')",
            code,
            name,
            kind,
            township_code,
            is_pilot,
        )
    except asyncpg.UniqueViolationError:
        existing = await conn.fetchval("select name from places where code = $1", code)
        raise PlaceError(f"区划代码已存在：{code}（{existing}）") from None


async def count(db: Db, level: str | None = None) -> int:
    """How many places (of one level, if given)."""
    return await db.fetchval("select count(*) from places where level = coalesce($1, level)", level)


async def district_code(db: Db) -> str:
    return await db.fetchval("select code from places where level = 'district'")
