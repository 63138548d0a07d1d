"""Who sits where: the active staff of given roles at given places, to name the people a case, event, request or
referral waits on (rules/waiting.py says which role at which place)."""

from __future__ import annotations

from dataclasses import dataclass

from db.pool import Db
from db.typed import every


@dataclass(frozen=True)
class SeatedStaff:
    username: str
    full_name: str
    role: str
    place_code: str
    bureau: str | None


async def staff_at(db: Db, places: list[str], roles: list[str]) -> list[SeatedStaff]:
    """Active users whose jurisdiction is exactly one of `places` and whose role is one of `roles`, by user name."""
    return await every(
        db,
        SeatedStaff,
        "select username, full_name, role, place_code, bureau from users "
        "where active and place_code = any($1::text[]) and role = any($2::text[]) order by username",
        places,
        roles,
    )
