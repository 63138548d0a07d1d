"""Policy versions in the database; the version in force on a day is the latest that took effect."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from db.pool import Db
from db.typed import one
from schemas.policy import Policy


async def in_force(conn: Db, on: date) -> Policy:
    row = await conn.fetchrow(
        "select body from policy_versions where effective_from <= $1 order by effective_from desc limit 1", on
    )
    if row is None:
        raise LookupError(f"no policy version in force on {on}")
    return Policy.model_validate(row["body"])


async def get(conn: Db, version: int) -> Policy:
    row = await conn.fetchrow("select body from policy_versions where version = $1", version)
    if row is None:
        raise LookupError(f"no policy version {version}")
    return Policy.model_validate(row["body"])


async def all_versions(conn: Db) -> list[Policy]:
    """Every version, in the order they took effect."""
    rows = await conn.fetch("select body from policy_versions order by effective_from")
    return [Policy.model_validate(r["body"]) for r in rows]


async def latest_effective_from(conn: Db) -> date | None:
    """The day the latest version takes effect (possibly in the future); None before any."""
    return await conn.fetchval("select max(effective_from) from policy_versions")


async def latest(conn: Db) -> Policy:
    """The version that takes effect last (possibly in the future)."""
    row = await conn.fetchrow("select body from policy_versions order by effective_from desc limit 1")
    if row is None:
        raise LookupError("no policy version")
    return Policy.model_validate(row["body"])


async def max_version(conn: Db) -> int:
    """The highest version number stored (0 on an empty table)."""
    return await conn.fetchval("select coalesce(max(version), 0) from policy_versions")


async def of_versions(conn: Db, versions: Iterable[int]) -> dict[int, Policy]:
    """These versions by number."""
    rows = await conn.fetch("select body from policy_versions where version = any($1::int[])", list(versions))
    policies = [Policy.model_validate(r["body"]) for r in rows]
    return {p.version: p for p in policies}


@dataclass(frozen=True)
class VersionInfo:
    """Who stored a version and when (`get` gives its content)."""

    version: int
    effective_from: date
    note: str | None
    created_by: str | None
    created_at: datetime


_INFO = "select version, effective_from, note, created_by, created_at from policy_versions"


async def list_versions(conn: asyncpg.Connection) -> list[VersionInfo]:
    return [VersionInfo(**r) for r in await conn.fetch(f"{_INFO} order by version")]


class PolicyError(ValueError):
    """A version that cannot be stored; the message is Chinese, for the administrator as it is."""


async def add(conn: asyncpg.Connection, policy: Policy, created_by: str) -> None:
    """Store a new version; versions are immutable, so an existing number or date is a `PolicyError`."""
    try:
        await conn.execute(
            "insert into policy_versions (version, effective_from, body, note, created_by) values ($1,$2,$3,$4,$5)",
            policy.version,
            policy.effective_from,
            policy.model_dump(mode="json"),
            policy.note,
            created_by,
        )
    except asyncpg.UniqueViolationError as e:
        if e.constraint_name == "policy_versions_pkey":
            raise PolicyError(f"第 {policy.version} 版已存在；已保存的版本不可修改，请使用新的版本号") from None
        raise PolicyError(f"{policy.effective_from} 起施行的版本已存在，每个生效日期只能有一个版本") from None


async def get_version(conn: asyncpg.Connection, version: int) -> VersionInfo | None:
    """Who stored a version and when (`get` gives its content)."""
    return await one(conn, VersionInfo, f"{_INFO} where version = $1", version)


async def ensure_default(conn: asyncpg.Connection) -> bool:
    """Install the built-in defaults as version 1 on an empty table; True if it did."""
    if await conn.fetchval("select exists(select 1 from policy_versions)"):
        return False
    await add(conn, Policy(), "system")
    return True
