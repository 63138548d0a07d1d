"""Lists of review cases, always within a reader's jurisdiction: the case search (API, district list, its
exports) from a typed `CaseQuery`, the overdue list, the inbox's open cases and the verification queue.

A case lies where its most precise place is (village, else township). The district that holds every place
reads its lists without the prefix test: evaluating it on 100,000 rows was most of a district-wide list's
time (bench/findings.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from db.cases_repo import CASE_SQL, CaseRow
from db.pool import Db
from db.typed import every
from db.where import Where
from rules.clock import at_time, end_of
from rules.stages import Stage
from schemas.review_records import VerificationRequest

IN_JURISDICTION = "starts_with(coalesce(c.village_code, c.township_code), {})"
# Open means "not in a closed stage". The stage column is rewritten with every event; the status column
# can be left at 'open' when a decision's event and the closing event are persisted concurrently.
IS_OPEN = "c.stage not in ({})".format(", ".join(f"'{s.value}'" for s in Stage if s.closed))
ORDER = "order by c.deadline asc nulls last, c.accepted_at, c.case_id"
OVERDUE_ORDER = "order by c.deadline nulls last, c.case_id"
# Up to this many matches a page is sorted in memory (a few milliseconds) rather than read in index order.
_SORT_AT_MOST = 2000


async def only_root(db: Db, place: str) -> bool:
    """Whether `place` is the only district: the root of every place, so of every case's place."""
    return await db.fetchval("select coalesce(bool_and(code = $1), false) from places where level = 'district'", place)


async def in_jurisdiction(db: Db, place: str) -> str:
    """`IN_JURISDICTION`, or for the district that holds every place a condition true of every row that still
    takes the place as its parameter."""
    return "{}::text is not null" if await only_root(db, place) else IN_JURISDICTION


@dataclass(frozen=True)
class CaseQuery:
    """The cases a list shows: within the reader's jurisdiction `within`, and each filter that is not None."""

    within: str
    township: str | None = None
    assistance_type: str | None = None
    stage: str | None = None
    overdue: bool | None = None
    deadline_before: date | None = None  # due on or before
    accepted_from: date | None = None  # Beijing days, both included
    accepted_to: date | None = None
    name_prefix: str | None = None
    id_masked: str | None = None  # the applicant's whole ID number, masked as stored
    id_tail: str | None = None  # the end of the masked ID number, e.g. its last four characters

    async def where(self, db: Db) -> Where:
        """The condition on `cases c`; the jurisdiction's parameter is `$1`."""
        w = Where().add(await in_jurisdiction(db, self.within), self.within)
        for condition, value in (
            ("c.township_code = {}", self.township),
            ("c.assistance_type = {}", self.assistance_type),
            ("c.stage = {}", self.stage),
            ("c.overdue = {}", self.overdue),
            ("c.deadline <= {}", self.deadline_before),
            # Beijing days as a range of accepted_at itself, not a cast of every row's timestamp.
            ("c.accepted_at >= {}", self.accepted_from and at_time(self.accepted_from)),
            ("c.accepted_at < {}", self.accepted_to and end_of(self.accepted_to)),
            ("starts_with(c.applicant_name, {})", self.name_prefix),
            ("c.applicant_id_masked = {}", self.id_masked),
            ("c.applicant_id_masked like '%' || {}", self.id_tail),
        ):
            if value is not None:
                w.add(condition, value)
        return w


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    total: int
    page: int


async def page_of_cases(
    db: asyncpg.Pool, query: CaseQuery, *, page: int, page_size: int, clamp: bool = False
) -> CasePage:
    """One page of the matches, the nearest deadline first, and how many match; `clamp` turns a page past the
    last into the last."""
    w = await query.where(db)
    async with db.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot for the count and the page. The count also says where the matches start in
        # deadline order, so the page is read along the (deadline, accepted_at, case_id) index from there;
        # a few matches are sorted instead, as the rows a filter picks (an open stage, a date range) may
        # all lie at one end of that index (bench/RESULTS.md, migration 0009).
        found = await conn.fetchrow(
            "select count(*) as total, min(c.deadline) as first, count(*) filter (where c.deadline is null) as undated "
            f"from cases c{w.sql()}",
            *w.params,
        )
        if clamp:
            page = min(page, max(1, -(-found["total"] // page_size)))
        order = "c.deadline asc nulls last"
        if found["total"] <= _SORT_AT_MOST:
            order = "c.deadline + 0 asc nulls last"  # same order; no index matches it, so the planner sorts
        elif found["undated"] == 0 and found["first"] is not None:
            w.add("c.deadline >= {}", found["first"])  # true of every match: where the walk starts
        # The page's numbers first, then their rows: the rows skipped on the way to a deep page are not
        # joined with their places.
        rows = await conn.fetch(
            f"{CASE_SQL} where c.case_id = any(array(select c.case_id from cases c{w.sql()} "
            f"order by {order}, c.accepted_at, c.case_id limit {page_size} offset {(page - 1) * page_size})) "
            f"{ORDER}",
            *w.params,
        )
    return CasePage([CaseRow(**r) for r in rows], found["total"], page)


async def all_cases(db: Db, query: CaseQuery) -> list[CaseRow]:
    """Every match, the nearest deadline first (the exports)."""
    w = await query.where(db)
    return [CaseRow(**r) for r in await db.fetch(f"{CASE_SQL}{w.sql()} {ORDER}", *w.params)]


def overdue_where(within: str, township: str | None = None) -> Where:
    """Open cases within `within` (of this township, if given) past their deadline or escalated to the district."""
    w = Where().add(IS_OPEN).add("(c.overdue or c.case_id in (select case_id from escalations))")
    w.add(IN_JURISDICTION, within)
    if township:
        w.add("c.township_code = {}", township)
    return w


async def page_of_overdue(db: Db, within: str, township: str | None, *, page: int, page_size: int) -> CasePage:
    """The `overdue_where` cases, the longest overdue first; a page past the last is the last."""
    w = overdue_where(within, township)
    total = await db.fetchval(f"select count(*) from cases c{w.sql()}", *w.params)
    page = min(page, max(1, -(-total // page_size)))
    rows = await db.fetch(
        f"{CASE_SQL}{w.sql()} {OVERDUE_ORDER} limit {page_size} offset {(page - 1) * page_size}", *w.params
    )
    return CasePage([CaseRow(**r) for r in rows], total, page)


# ---- the inbox ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenCase:
    """An open case with what its event log says is done (the progress columns, `rules.progress`): a visit
    or an interview counts if it is later than the last objection that sent the case back to investigation."""

    case_id: str
    stage: str
    place: str  # the village, else the township
    township_code: str
    policy_version: int
    handled_by: str
    deadline: date | None
    overdue: bool
    accepted_at: datetime
    paused: bool
    relatives_match: bool
    district_visit_required: bool
    district_approval: bool  # the township referred the approval to the district
    district_visit_done: bool
    home_visit_done: bool
    neighbour_done: bool
    verification_open: bool  # a request to the verification centre waits for its result


async def open_cases_for(db: Db, within: str, username: str) -> list[OpenCase]:
    """Every open case within `within` that `username` is not barred from. The verification request is probed
    per case (an index lookup each, not a scan of every request ever made), and only the columns that decide
    the tasks and the order are read (a district officer's inbox holds every open case of the county)."""
    return await every(
        db,
        OpenCase,
        """
        select c.case_id, c.stage, coalesce(c.village_code, c.township_code) as place, c.township_code,
               c.policy_version, c.handled_by, c.deadline, c.overdue, c.accepted_at, c.paused, c.relatives_match,
               c.district_visit_required, c.district_approval, c.district_visit_done,
               coalesce(c.home_visit_at > coalesce(c.reinvestigate_at, '-infinity'), false) as home_visit_done,
               coalesce(c.neighbour_at > coalesce(c.reinvestigate_at, '-infinity'), false) as neighbour_done,
               exists(select from verification_requests r where r.case_id = c.case_id and r.status = 'requested')
                   as verification_open
        from cases c
        where c.status = 'open' and starts_with(coalesce(c.village_code, c.township_code), $1)
          and not ($2::text = any(c.barred_users))
        """,
        within,
        username,
    )


@dataclass(frozen=True)
class CaseHeading:
    """What a list line says of a case besides its progress."""

    case_id: str
    assistance_type: str
    applicant_name: str
    deadline_provisional: bool
    township_name: str
    village_name: str | None


async def case_headings(db: Db, case_ids: list[str]) -> dict[str, CaseHeading]:
    rows = await db.fetch(
        "select c.case_id, c.assistance_type, c.applicant_name, c.deadline_provisional, t.name as township_name, "
        "v.name as village_name from cases c join places t on t.code = c.township_code "
        "left join places v on v.code = c.village_code where c.case_id = any($1::text[])",
        case_ids,
    )
    return {r["case_id"]: CaseHeading(**r) for r in rows}


# ---- the verification queue ----------------------------------------------------------------------------


async def verification_queue(
    db: Db, within: str, status: str | None, limit: int
) -> tuple[list[VerificationRequest], int]:
    """Requests to the verification centre for cases within `within` (with this status, if given), oldest
    first, at most `limit`; and how many there are."""
    w = Where().add(IN_JURISDICTION, within)
    if status:
        w.add("r.status = {}", status)
    base = f"from verification_requests r join cases c on c.case_id = r.case_id{w.sql()}"
    total = await db.fetchval("select count(*) " + base, *w.params)
    rows = await db.fetch(
        "select r.case_id, r.township_code, c.applicant_name, c.applicant_id_masked, c.assistance_type, "
        "r.requested_at, r.adapter, r.status, r.answered_by, r.answered_at, c.deadline as case_deadline "
        f"{base} order by r.requested_at, r.id limit {limit}",
        *w.params,
    )
    return [VerificationRequest(**r) for r in rows], total
