"""One open application per person and assistance type (`open_applications`, migration 0028).

Acceptance claims every household member's ID number under the case's type before the workflow starts,
inside a transaction held until the start is done: the partial unique index makes a second intake for any of
them wait for the first and then find it (`claim` answers the conflicting case). In the same transaction it
refuses a household with a member who receives that help already, in any household (`recipient_people`,
migration 0035: `AlreadyRecipient`); a roster import claims its people the same way while it writes them, so an
acceptance under way and an import wait for each other. The case's first activity
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


class AlreadyRecipient(Exception):
    """`claim` found one of the people active in the recipients register under the type (the household's case, and
    where it lies: its village, else its township)."""

    def __init__(self, case_id: str, place: str) -> None:
        super().__init__(case_id)
        self.case_id = case_id
        self.place = place


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
_RECIPIENT_OF = """
select p.case_id, coalesce(c.village_code, c.township_code) as place
from recipient_people p join cases c on c.case_id = p.case_id
where p.stopped_at is null and p.id_number = any($1::text[]) and p.assistance_type = $2
order by p.enrolled_at, p.case_id limit 1
"""


async def claim(conn: asyncpg.Connection, case_id: str, id_numbers: Sequence[str], assistance_type: str) -> None:
    """Claim the people for `case_id` in the caller's transaction; `Taken` (which rolls it back) if another open
    case holds one of them under the type, `AlreadyRecipient` if one of them receives that help already."""
    people = sorted(set(id_numbers))
    await conn.execute(_INSERT, case_id, people, assistance_type, None)
    other = await conn.fetchrow(_OPEN_OF, people, assistance_type, case_id)
    if other:
        raise Taken(OpenApplication(**other))
    if enrolled := await conn.fetchrow(_RECIPIENT_OF, people, assistance_type):
        raise AlreadyRecipient(enrolled["case_id"], enrolled["place"])


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
