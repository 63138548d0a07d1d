"""The staff near-relatives register (近亲属备案) that the review workflow's relatives check reads.

ID numbers are stored normalised (upper-case X), since the check matches them exactly against the
applicant's household members. A withdrawn entry is kept with who withdrew it and when (migration 0012),
for the conflict-of-interest audit; every reader of the register but `withdrawn_of` skips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db import users_repo
from db.pool import Db
from db.typed import every
from rules.access import district_of
from rules.recusal import RELATED_STAFF_ROLES
from schemas.identity import validate_resident_id
from schemas.relatives import DeclaredRelativesIn, Namesake, RelativesCheck, RelativesMatch

# Near relatives in the sense of the recusal rules, as a staff member declares them.
RELATIONS = ("配偶", "父母", "子女", "兄弟姐妹", "祖父母/外祖父母", "孙子女/外孙子女", "其他近姻亲")
NAME_MAX = 64


class RelativeError(ValueError):
    """A refused entry; the message is Chinese, shown in the form as it is."""


async def relatives_of(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    """`user_id`'s current entries, oldest first."""
    return await conn.fetch(
        "select id, relative_name, relative_id_number, relation, created_at from staff_relatives "
        "where user_id = $1 and removed_at is null order by created_at, id",
        user_id,
    )


async def withdrawn_of(conn: asyncpg.Connection, user_id: int) -> list[asyncpg.Record]:
    """`user_id`'s withdrawn entries, the latest withdrawal first: the register's history."""
    return await conn.fetch(
        "select id, relative_name, relative_id_number, relation, created_at, removed_at, removed_by "
        "from staff_relatives where user_id = $1 and removed_at is not null order by removed_at desc, id desc",
        user_id,
    )


async def add_relative(conn: asyncpg.Connection, user_id: int, *, name: str, id_number: str, relation: str) -> int:
    name = name.strip()
    if not name:
        raise RelativeError("亲属姓名不能为空")
    if len(name) > NAME_MAX:
        raise RelativeError(f"亲属姓名最长 {NAME_MAX} 个字")
    try:
        id_number = validate_resident_id(id_number)
    except ValueError as e:
        raise RelativeError(str(e)) from None
    if relation not in RELATIONS:
        raise RelativeError("请选择与本人的关系")
    try:
        return await conn.fetchval(
            "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
            "values ($1, $2, $3, $4) returning id",
            user_id,
            name,
            id_number,
            relation,
        )
    except asyncpg.UniqueViolationError:
        raise RelativeError("该身份证号码已在本人的备案中") from None


async def remove_relative(conn: asyncpg.Connection, user_id: int, relative_id: int, *, by: str) -> bool:
    """Withdraw one entry of `user_id`'s register, recording `by` (a user name) and the time; the row stays.
    False if it is not theirs or already withdrawn."""
    done = await conn.execute(
        "update staff_relatives set removed_at = now(), removed_by = $3 "
        "where id = $1 and user_id = $2 and removed_at is null",
        relative_id,
        user_id,
        by,
    )
    return not done.endswith(" 0")


async def relative_counts(conn: asyncpg.Connection, user_ids: list[int]) -> dict[int, int]:
    """How many relatives each of `user_ids` has registered and not withdrawn (absent: none)."""
    rows = await conn.fetch(
        "select user_id, count(*) as n from staff_relatives "
        "where user_id = any($1::bigint[]) and removed_at is null group by user_id",
        user_ids,
    )
    return {r["user_id"]: r["n"] for r in rows}


async def count_registered(db: Db) -> int:
    """Entries in the register, withdrawn ones left out."""
    return await db.fetchval("select count(*) from staff_relatives where removed_at is null")


@dataclass(frozen=True)
class RegisteredRelative:
    """A staff member one of whose registered near relatives is among the ID numbers looked for."""

    username: str
    full_name: str
    relation: str
    relative_name: str


async def staff_related_to(db: Db, id_numbers: list[str]) -> list[RegisteredRelative]:
    """Staff whose current register names any of `id_numbers` (the review's relatives check)."""
    rows = await db.fetch(
        "select u.username, u.full_name, r.relation, r.relative_name from staff_relatives r "
        "join users u on u.id = r.user_id where r.relative_id_number = any($1::text[]) and r.removed_at is null",
        id_numbers,
    )
    return [RegisteredRelative(r["username"], r["full_name"], r["relation"], r["relative_name"]) for r in rows]


async def registered_matches(db: Db, id_numbers: list[str]) -> dict[str, RelativesMatch]:
    """The staff barred from a household whose members have `id_numbers` by their own register, by user name:
    the review's relatives check at acceptance, and each ongoing review with the register as it is then."""
    return {
        r.username: RelativesMatch(
            username=r.username, full_name=r.full_name, reason=f"近亲属备案：{r.relative_name}（{r.relation}）"
        )
        for r in await staff_related_to(db, id_numbers)
    }


async def member_id_numbers(db: Db, case_id: str) -> list[str]:
    """The ID numbers of the members of a case's household."""
    rows = await db.fetch(
        "select m.id_number from cases c join household_members m on m.household_id = c.household_id "
        "where c.case_id = $1 order by m.id",
        case_id,
    )
    return [r["id_number"] for r in rows]


@dataclass(frozen=True)
class WithdrawnEntry:
    """A withdrawn entry of the register, with the cases of that relative accepted after the withdrawal."""

    full_name: str  # the staff member's
    username: str
    place_name: str
    relative_name: str
    relative_id_number: str
    relation: str
    created_at: datetime
    removed_at: datetime
    removed_by: str | None  # by name where known
    later_cases: list[str]  # within the place the audit looks at, oldest first


async def withdrawn_within(db: Db, place: str, limit: int) -> list[WithdrawnEntry]:
    """The latest `limit` entries withdrawn by staff within `place`, with the cases of townships within `place`
    that the relative's household applied for after the withdrawal (the relatives check no longer saw them)."""
    return await every(
        db,
        WithdrawnEntry,
        """
        select u.full_name, u.username, p.name as place_name, r.relative_name, r.relative_id_number, r.relation,
               r.created_at, r.removed_at, coalesce(rb.full_name, r.removed_by) as removed_by,
               array(select c.case_id from household_members m join cases c on c.household_id = m.household_id
                     where m.id_number = r.relative_id_number and c.accepted_at > r.removed_at
                       and starts_with(c.township_code, $1)
                     order by c.accepted_at) as later_cases
        from staff_relatives r
        join users u on u.id = r.user_id
        join places p on p.code = u.place_code
        left join users rb on rb.username = r.removed_by
        where r.removed_at is not null and starts_with(u.place_code, $1)
        order by r.removed_at desc limit $2
        """,
        place,
        limit,
    )


# ---- the relatives check (近亲属备案比对) of a review case or an emergency event ---------------------------------


async def check_declared(db: Db, req: DeclaredRelativesIn) -> RelativesCheck:
    """Staff whose register names a household member, or whose own ID number the applicant declared, are barred;
    a relative declared by name only is not barred automatically: the users of that name in the district of
    `req.township_code` are namesake warnings to settle; a declared relative matching no account is returned as
    unmatched (to be filed). The review's relatives check and the emergency workflow's both call this."""
    barred = await registered_matches(db, req.id_numbers)
    ids = [r.id_number for r in req.declared if r.id_number]
    by_id: dict[str, list[users_repo.NamedUser]] = {}
    for u in await users_repo.users_with_id_numbers(db, ids) if ids else []:
        by_id.setdefault(u.key, []).append(u)
    names = sorted({r.staff_name.strip() for r in req.declared})
    by_name: dict[str, list[users_repo.NamedUser]] = {}
    for u in await users_repo.staff_named(db, names, within=district_of(req.township_code), roles=RELATED_STAFF_ROLES):
        by_name.setdefault(u.key, []).append(u)
    namesakes: list[Namesake] = []
    unmatched: list[int] = []
    for i, r in enumerate(req.declared):
        owners = by_id.get(r.id_number or "", [])
        for u in owners:
            barred.setdefault(
                u.username,
                RelativesMatch(
                    username=u.username,
                    full_name=u.full_name,
                    reason=f"申请人申报的近亲属（{r.relation}），身份证号码一致",
                ),
            )
        if owners:
            continue
        # Declared with an ID number no user has: a namesake with an ID number of their own is someone else.
        same_name = [u for u in by_name.get(r.staff_name.strip(), []) if not (r.id_number and u.has_id_number)]
        warned = [u for u in same_name if u.username not in barred]
        namesakes += [
            Namesake(
                declared=i,
                staff_name=r.staff_name,
                relation=r.relation,
                workplace=r.workplace,
                username=u.username,
                full_name=u.full_name,
                role=u.role,
                place_code=u.place_code,
            )
            for u in warned
        ]
        if not same_name:
            unmatched.append(i)
    return RelativesCheck(
        barred=sorted(barred.values(), key=lambda m: m.username), namesakes=namesakes, unmatched=unmatched
    )
