"""The near-relatives register keeps its history: a withdrawn entry stays with who withdrew it and when,
no longer bars its staff member from a case, and the same person can be declared again."""

from __future__ import annotations

from datetime import date

import asyncpg

from activities.review import ReviewActivities
from activities.verification import DatabaseVerificationCentre
from db import relatives_repo
from schemas.relatives import RelativesCheckIn
from tests.support.factories import resident_id

RELATIVE = resident_id(date(1950, 1, 1))


async def _barred(pool: asyncpg.Pool, id_number: str) -> list[str]:
    """Whom the review's relatives check keeps away from a case with this household member."""
    check = ReviewActivities(pool, DatabaseVerificationCentre(pool)).check_relatives
    matches = await check(RelativesCheckIn(case_id="REL-H", id_numbers=[id_number], declared_staff_names=[]))
    return [m.username for m in matches]


async def test_a_withdrawn_relative_is_kept_and_bars_no_one(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        uid = await conn.fetchval("select id from users where username = 'shipo_diaocha'")
        rid = await relatives_repo.add_relative(conn, uid, name="王母", id_number=RELATIVE, relation="父母")
        assert await _barred(pool, RELATIVE) == ["shipo_diaocha"]

        before = await conn.fetchval("select clock_timestamp()")  # the database's clock stamps the withdrawal
        assert await relatives_repo.remove_relative(conn, uid, rid, by="admin")
        after = await conn.fetchval("select clock_timestamp()")
        assert await relatives_repo.relatives_of(conn, uid) == []
        assert await relatives_repo.relative_counts(conn, [uid]) == {}
        [kept] = await relatives_repo.withdrawn_of(conn, uid)
        assert (kept["id"], kept["relative_id_number"], kept["removed_by"]) == (rid, RELATIVE, "admin")
        assert before <= kept["removed_at"] <= after
        assert await _barred(pool, RELATIVE) == []
        assert not await relatives_repo.remove_relative(conn, uid, rid, by="admin")  # already withdrawn

        again = await relatives_repo.add_relative(conn, uid, name="王母", id_number=RELATIVE, relation="父母")
        assert again != rid and [r["id"] for r in await relatives_repo.relatives_of(conn, uid)] == [again]
        assert await relatives_repo.relative_counts(conn, [uid]) == {uid: 1}
        assert await _barred(pool, RELATIVE) == ["shipo_diaocha"]
        assert await conn.fetchval("select count(*) from staff_relatives") == 2


async def test_another_users_entry_cannot_be_withdrawn(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        owner = await conn.fetchval("select id from users where username = 'shipo_shenpi'")
        other = await conn.fetchval("select id from users where username = 'shipo_jingban'")
        rid = await relatives_repo.add_relative(conn, owner, name="李父", id_number=RELATIVE, relation="父母")
        assert not await relatives_repo.remove_relative(conn, other, rid, by="shipo_jingban")
        assert await conn.fetchval("select removed_at from staff_relatives where id = $1", rid) is None
        assert await _barred(pool, RELATIVE) == ["shipo_shenpi"]
