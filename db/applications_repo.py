"""One open application per person and assistance type (`open_applications`, migration 0028).

Acceptance claims every household member's ID number under the case's type before the workflow starts,
inside a transaction held until the start is done: the partial unique index makes a second intake for any of
them wait for the first and then find it (`claim` answers the conflicting case). The case's first activity
claims again (a case started elsewhere than the web app), quietly; a case that closes releases its rows in
the same transaction as its closing event (`cases_repo.record_event`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.pool import Db


@dataclass(frozen=True)
class OpenApplication:
    """A person's open case of a type: where it lies (its village, else its township) and when it was claimed."""

    case_id: str
    assistance_type: str
    township_code: str | None  # None: claimed, the workflow has not written the case row yet
    place: str | None
    claimed_at: datetime


class Taken(Exception):
    """`claim` found another open case holding one of the people under the type (raised inside the caller's
    transaction, so that nothing of the refused case stays claimed)."""

    def __init__(self, by: OpenApplication) -> None:
        super().__init__(by.case_id)
        self.by = by


_INSERT = (
    "insert into open_applications (case_id, id_number, assistance_type, claimed_at) "
    "select $1, n, $3, coalesce($4, now()) from unnest($2::text[]) as n "
    "on conflict do nothing"
)
_OPEN_OF = """
select distinct on (o.case_id) o.case_id, o.assistance_type, c.township_code,
       coalesce(c.village_code, c.township_code) as place, o.claimed_at
from open_applications o left join cases c on c.case_id = o.case_id
where o.released_at is null and o.id_number = any($1::text[]) and ($2::text is null or o.assistance_type = $2)
      and o.case_id <> coalesce($3, '')
order by o.case_id, o.claimed_at
"""


async def claim(conn: asyncpg.Connection, case_id: str, id_numbers: Sequence[str], assistance_type: str) -> None:
    """Claim the people for `case_id` in the caller's transaction; `Taken` (which rolls it back) if another open
    case holds one of them under the type."""
    await conn.execute(_INSERT, case_id, sorted(set(id_numbers)), assistance_type, None)
    other = await conn.fetchrow(_OPEN_OF, sorted(set(id_numbers)), assistance_type, case_id)
    if other:
        raise Taken(OpenApplication(**other))


async def claim_quietly(
    conn: asyncpg.Connection, case_id: str, id_numbers: Sequence[str], assistance_type: str, at: datetime
) -> None:
    """The case's own claim as its first activity writes the row: whatever another case holds stays its."""
    await conn.execute(_INSERT, case_id, sorted(set(id_numbers)), assistance_type, at)


async def release(conn: asyncpg.Connection, case_id: str, at: datetime) -> None:
    """A closed case holds nobody any more."""
    await conn.execute(
        "update open_applications set released_at = $2 where case_id = $1 and released_at is null", case_id, at
    )


async def open_of(db: Db, id_numbers: Sequence[str], assistance_type: str | None = None) -> list[OpenApplication]:
    """The open cases holding any of these people (of the type, if given), oldest first."""
    rows = await db.fetch(_OPEN_OF, sorted(set(id_numbers)), assistance_type, None)
    return sorted((OpenApplication(**r) for r in rows), key=lambda o: o.claimed_at)
