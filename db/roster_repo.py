"""The roster import's SQL (issue 18, point 1): what a dry run checks against the database, and the import itself.

An import is one transaction: the file's households and members are COPY'd (asyncpg `copy_records_to_table`)
into temporary tables, then households, members, cases (channel `imported`, closed at stage `enrolled`, no
workflow), recipients (with their next review scheduled, `review_pending`; their people in `recipient_people` by
its trigger), payment accounts, the case events that mark them imported, and the import log are written by a
handful of set-based `insert ... select`. Imports are serialised by an advisory lock, under which the people are
checked again (`taken`: a recipient now, or held by an open application); a file whose SHA-256 is in
`roster_imports` already changes nothing, and a household whose key (applicant's ID number, kind of assistance)
was imported before is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.pool import Db
from db.typed import every

LOCK = 0x726F73746572  # 'roster': one import at a time

# The temporary tables' columns, in the order of the records `infra.roster_import` builds.
HOUSEHOLD_COLUMNS = (
    "key_no",
    "applicant_id",
    "assistance_type",
    "township_code",
    "village_code",
    "address",
    "hukou_type",
    "phone",
    "applicant_name",
    "applicant_id_masked",
    "category",
    "amount_fen",
    "people",
    "first_month",
    "paid_from",
    "decided_at",
    "cadence",
    "last_review",
    "next_review",
    "account_kind",
    "bank_name",
    "account_number",
    "account_masked",
    "holder_name",
    "holder_relation",
    "summary",
)
MEMBER_COLUMNS = ("key_no", "name", "id_number", "relation", "is_applicant")

_TEMP = """
create temp table roster_hh (
    key_no int primary key, applicant_id text, assistance_type text, township_code text, village_code text,
    address text, hukou_type text, phone text, applicant_name text, applicant_id_masked text, category text,
    amount_fen bigint, people int, first_month date, paid_from date, decided_at timestamptz, cadence int,
    last_review date, next_review date, account_kind text, bank_name text, account_number text, account_masked text,
    holder_name text, holder_relation text, summary text, case_id text, household_id bigint
) on commit drop;
create temp table roster_members (
    key_no int, name text, id_number text, relation text, is_applicant boolean
) on commit drop;
"""


@dataclass(frozen=True)
class PlaceRow:
    code: str
    name: str
    level: str
    parent_code: str | None


async def places(db: Db) -> list[PlaceRow]:
    return await every(db, PlaceRow, "select code, name, level, parent_code from places order by code")


@dataclass(frozen=True)
class ImportLog:
    id: int
    file_sha256: str
    filename: str
    imported_by: str
    households: int
    members: int
    skipped: int
    imported_at: datetime


_LOG = "select id, file_sha256, filename, imported_by, households, members, skipped, imported_at from roster_imports"


async def imported_file(db: Db, file_sha256: str) -> ImportLog | None:
    row = await db.fetchrow(_LOG + " where file_sha256 = $1", file_sha256)
    return None if row is None else ImportLog(**row)


async def recent_imports(db: Db, limit: int = 20) -> list[ImportLog]:
    return [ImportLog(**r) for r in await db.fetch(_LOG + " order by imported_at desc, id desc limit $1", limit)]


async def imported_keys(db: Db, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (applicant's ID number, kind of assistance) keys were imported before."""
    rows = await db.fetch(
        "select h.applicant_id_number, h.assistance_type from roster_households h "
        "join unnest($1::text[], $2::text[]) as k(id_number, kind) "
        "on h.applicant_id_number = k.id_number and h.assistance_type = k.kind",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    return {(r["applicant_id_number"], r["assistance_type"]) for r in rows}


# Why a person cannot be imported: a member of a household receiving help now (dibao or tekun, any household), or
# held by an open dibao/tekun application (`open_applications`, other than the import's own claim, $2).
_TAKEN = """
select x.id_number,
       case when exists (select from recipient_people p where p.id_number = x.id_number and p.stopped_at is null)
            then 'recipient' else 'application' end as why
from unnest($1::text[]) as x(id_number)
where exists (select from recipient_people p where p.id_number = x.id_number and p.stopped_at is null)
   or exists (select from open_applications o where o.id_number = x.id_number and o.released_at is null
              and o.case_id <> $2)
"""


async def taken(db: Db, id_numbers: Sequence[str], claim: str = "") -> dict[str, str]:
    """The people among `id_numbers` who may not be imported: ID number -> 'recipient' (a member of a household
    receiving help now) or 'application' (an open application holds them)."""
    return {r["id_number"]: r["why"] for r in await db.fetch(_TAKEN, list(id_numbers), claim)}


class PeopleTaken(Exception):
    """Found under the import's lock (`taken`): another import or an application got there first; nothing is
    written."""

    def __init__(self, people: dict[str, str]) -> None:
        super().__init__(f"{len(people)} people taken")
        self.people = people


@dataclass(frozen=True)
class ImportResult:
    log: ImportLog
    already: bool  # the same file was imported before: nothing changed


async def import_roster(
    conn: asyncpg.Connection,
    *,
    file_sha256: str,
    filename: str,
    imported_by: str,
    policy_version: int,
    households: Sequence[tuple],
    members: Sequence[tuple],
    skipped: int = 0,
) -> ImportResult:
    """Write the file's households in one transaction (see the module's docstring); `skipped` households of the
    file the caller already found imported before are counted in the log."""
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock($1)", LOCK)
        before = await imported_file(conn, file_sha256)
        if before is not None:
            return ImportResult(before, already=True)
        await conn.execute(_TEMP)
        await conn.copy_records_to_table("roster_hh", records=households, columns=HOUSEHOLD_COLUMNS)
        await conn.copy_records_to_table("roster_members", records=members, columns=MEMBER_COLUMNS)
        skipped += await conn.fetchval(
            "with gone as (delete from roster_hh t using roster_households h "
            "where h.applicant_id_number = t.applicant_id and h.assistance_type = t.assistance_type returning 1) "
            "select count(*) from gone"
        )
        # The check again, under the lock (another import may have taken someone since the caller's check). The
        # people are claimed as an application claims them first: an acceptance of one of them that is under way
        # is waited for (then found), and one that comes now waits for this import (then finds them enrolled).
        claim = f"roster:{file_sha256[:16]}"
        await conn.execute(
            "insert into open_applications (case_id, id_number, assistance_type) "
            "select $1, m.id_number, t.assistance_type from roster_members m join roster_hh t using (key_no) "
            "order by m.id_number on conflict do nothing",
            claim,
        )
        people = await conn.fetchval(
            "select array_agg(m.id_number) from roster_members m join roster_hh using (key_no)"
        )
        if found := await taken(conn, people or [], claim):
            raise PeopleTaken(found)
        import_id = await conn.fetchval(
            "insert into roster_imports (file_sha256, filename, imported_by, households, members, skipped) "
            "values ($1, $2, $3, 0, 0, $4) returning id",
            file_sha256,
            filename,
            imported_by,
            skipped,
        )
        await conn.execute(
            "with n as (select key_no, nextval('roster_case_seq') as case_no, "
            "nextval(pg_get_serial_sequence('households', 'id')) as household_id "
            "from (select key_no from roster_hh order by key_no) o) "
            "update roster_hh t set case_id = 'IMP-' || lpad(n.case_no::text, 7, '0'), household_id = n.household_id "
            "from n where n.key_no = t.key_no"
        )
        await conn.execute(
            "insert into households (id, township_code, village_code, address, hukou_type, phone) "
            "select household_id, township_code, village_code, address, hukou_type, phone from roster_hh"
        )
        n_members = await conn.fetchval(
            "with added as (insert into household_members (household_id, name, id_number, relation, is_applicant) "
            "select t.household_id, m.name, m.id_number, m.relation, m.is_applicant "
            "from roster_members m join roster_hh t using (key_no) returning 1) select count(*) from added"
        )
        await conn.execute(
            "insert into cases (case_id, workflow_id, assistance_type, household_id, township_code, village_code, "
            "applicant_name, applicant_id_masked, channel, policy_version, stage, status, accepted_at, decided_at, "
            "closed_at, category, monthly_amount_fen) "
            "select case_id, 'imported-' || case_id, assistance_type, household_id, township_code, village_code, "
            "applicant_name, applicant_id_masked, 'imported', $1, 'enrolled', 'closed', decided_at, decided_at, "
            "now(), category, amount_fen from roster_hh",
            policy_version,
        )
        await conn.execute(
            "insert into recipients (case_id, household_id, assistance_type, township_code, category, "
            "monthly_amount_fen, people, first_payment_month, paid_from, decided_at, review_cadence_months, "
            "next_review_on, last_review_on, review_pending) "
            "select case_id, household_id, assistance_type, township_code, category, amount_fen, people, "
            "first_month, paid_from, decided_at, cadence, next_review, last_review, true from roster_hh"
        )
        await conn.execute(
            "insert into payment_accounts (case_id, kind, bank_name, account_number, account_masked, holder_name, "
            "holder_relation, changed_by, reason) "
            "select case_id, account_kind, bank_name, account_number, account_masked, holder_name, holder_relation, "
            "$1, '救助对象名册导入' from roster_hh",
            imported_by,
        )
        await conn.execute(
            "insert into case_events (case_id, event_key, kind, stage, actor, actor_role, payload, occurred_at) "
            "select case_id, 'imported', 'imported', 'enrolled', $1, 'admin', "
            "jsonb_build_object('summary', summary, 'source', 'imported', 'import_id', $2::bigint), now() "
            "from roster_hh",
            imported_by,
            import_id,
        )
        await conn.execute(
            "insert into case_events (case_id, event_key, kind, stage, actor, actor_role, payload, occurred_at) "
            "select case_id, 'imported-review', 'ongoing_review_imported', 'enrolled', $1, 'admin', "
            "jsonb_build_object('summary', '动态管理复核（导入）：上次复核 ' || last_review::text || '，下次复核 ' "
            "|| next_review::text, 'source', 'imported'), (last_review + time '12:00') at time zone 'Asia/Shanghai' "
            "from roster_hh where last_review is not null",
            imported_by,
        )
        await conn.execute(
            "insert into roster_households (applicant_id_number, assistance_type, case_id, import_id) "
            "select applicant_id, assistance_type, case_id, $1 from roster_hh",
            import_id,
        )
        await conn.execute("delete from open_applications where case_id = $1", claim)  # enrolled now
        row = await conn.fetchrow(
            "update roster_imports set households = (select count(*) from roster_hh), members = $2 where id = $1 "
            "returning id, file_sha256, filename, imported_by, households, members, skipped, imported_at",
            import_id,
            n_members,
        )
        return ImportResult(ImportLog(**row), already=False)


async def reviews_by_month(db: Db, import_id: int) -> dict[str, int]:
    """How many of an import's households are next reviewed in each month ('YYYY-MM')."""
    rows = await db.fetch(
        "select to_char(r.next_review_on, 'YYYY-MM') as month, count(*) as n from roster_households h "
        "join recipients r on r.case_id = h.case_id where h.import_id = $1 group by 1 order by 1",
        import_id,
    )
    return {r["month"]: r["n"] for r in rows}


# ---- the error sheets of the administrator's dry runs ------------------------------------------------------------

SHEET_DAYS = 1


async def keep_error_sheet(db: Db, check_id: str, by: str, filename: str, errors: int, sheet: bytes) -> None:
    """Keep a dry run's error sheet for its administrator; sheets older than a day go."""
    await db.execute(f"delete from roster_checks where created_at < now() - interval '{SHEET_DAYS} day'")
    await db.execute(
        "insert into roster_checks (id, created_by, filename, errors, sheet) values ($1, $2, $3, $4, $5)",
        check_id,
        by,
        filename,
        errors,
        sheet,
    )


async def error_sheet(db: Db, check_id: str, by: str) -> tuple[str, bytes] | None:
    """The sheet (and its file's name) if `by` made it within the day."""
    row = await db.fetchrow(
        f"select filename, sheet from roster_checks where id = $1 and created_by = $2 "
        f"and created_at >= now() - interval '{SHEET_DAYS} day'",
        check_id,
        by,
    )
    return None if row is None else (row["filename"], bytes(row["sheet"]))
