"""Discovery lists (主动发现): a bureau's list stored, matched against the households and recipients in a few
set-based statements (never a query per row), its counts kept per township and kind, and the list purged when
the policy's retention runs out. The tasks the matching creates and the district's coverage: discovery_tasks_repo.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from db.pool import Db
from schemas.discovery import ListResult, SignalIn, SignalKind
from schemas.policy import DiscoveryPolicy

STAGED_COLUMNS = ("n", "id_number", "name", "kind", "signal_on", "given_township")


async def create_list(
    conn: asyncpg.Connection,
    *,
    bureau: str,
    source: str,
    filename: str | None,
    by: str,
    at: datetime,
    on: date,
    keep_until: date,
    signals: Sequence[SignalIn],
) -> int:
    """Store a list and stage its rows (COPY, not one insert per row) for `match_list`, in the same transaction;
    its id."""
    list_id = await conn.fetchval(
        "insert into discovery_lists (bureau, source, filename, received_by, received_at, received_on, keep_until) "
        "values ($1, $2, $3, $4, $5, $6, $7) returning id",
        bureau,
        source,
        filename,
        by,
        at,
        on,
        keep_until,
    )
    await conn.execute(_STAGING)
    records = [
        (n, s.id_number.upper(), s.name, s.kind.value, s.signal_on, s.township_code) for n, s in enumerate(signals)
    ]
    await conn.copy_records_to_table("discovery_incoming", records=records, columns=STAGED_COLUMNS)
    await conn.execute("analyze discovery_incoming")  # the matching's plan must know the list is large
    return list_id


# The list's rows wait in a temporary table of the session until they are matched (rows gone at commit): they
# are written to discovery_signals once, already classified, rather than written and then updated.
_STAGING = """
create temporary table if not exists discovery_incoming (
    n integer not null, id_number text not null, name text not null, kind text not null, signal_on date not null,
    given_township text
) on commit delete rows
"""


# Each signal once: the household its ID number belongs to (the newest, if several), the township of that
# household (else the township the bureau named, if it is one), and an active recipient of the help matching the
# signal's kind (policy `discovery.assisted_by`); then: assisted (counted), prompted (a recipient's signal of a
# kind that may change the help: a review prompt), tasked (a visit owed), or unplaced (no township known).
_CLASSIFY = """
with hh as (
    select distinct on (i.n) i.n, m.household_id, h.township_code
    from discovery_incoming i join household_members m on m.id_number = i.id_number
         join households h on h.id = m.household_id
    order by i.n, m.household_id desc
), rc as (
    select distinct on (i.n) i.n, r.case_id
    from discovery_incoming i join household_members m on m.id_number = i.id_number
           join recipients r on r.household_id = m.household_id and r.status = 'active'
           join unnest($2::text[], $3::text[]) as a(kind, assistance_type)
             on a.kind = i.kind and a.assistance_type = r.assistance_type
    order by i.n, r.decided_at desc
)
insert into discovery_signals (list_id, id_number, name, kind, signal_on, given_township, township_code, household_id,
                               recipient_case, outcome)
select $1, i.id_number, i.name, i.kind, i.signal_on, i.given_township, c.township, hh.household_id, rc.case_id,
       case when rc.case_id is not null
            then case when i.kind = any($4::text[]) then 'prompted' else 'assisted' end
            when c.township is null then 'unplaced'
            else 'tasked' end
from discovery_incoming i
left join hh on hh.n = i.n
left join rc on rc.n = i.n
left join places p on p.code = i.given_township and p.level = 'township'
cross join lateral (select coalesce(hh.township_code, p.code) as township) c
order by i.n
"""

# One task per person and kind (the first row of the list), unless one exists within the window: the exclusion
# constraint refuses it and the row counts as a duplicate.
_TASKS = """
with cand as (
    select distinct on (id_number, kind) id, id_number, name, kind, signal_on, township_code, household_id
    from discovery_signals where list_id = $1 and outcome = 'tasked'
    order by id_number, kind, id
), ins as (
    insert into discovery_tasks (task_id, list_id, signal_id, id_number, name, kind, signal_on, township_code,
                                 household_id, created_on, quiet_until)
    select 'FX-' || cand.id, $1, cand.id, id_number, name, kind, signal_on, township_code, household_id,
           $2::date, $2::date + $3::int
    from cand
    on conflict do nothing
    returning signal_id
)
update discovery_signals d set outcome = 'duplicate'
where d.list_id = $1 and d.outcome = 'tasked' and d.id not in (select signal_id from ins)  -- a hashed subplan
"""

# A recipient's signal of a kind that may change the help: one prompt per case and kind within the window, and
# a notice to the township's caseworkers naming the case (never the ID number); a repeat is only counted.
_PROMPTS = """
with cand as (
    select distinct on (recipient_case, kind) d.id, d.recipient_case, d.kind, d.signal_on, r.township_code
    from discovery_signals d join recipients r on r.case_id = d.recipient_case
    where d.list_id = $1 and d.outcome = 'prompted'
    order by recipient_case, kind, d.id
), ins as (
    insert into discovery_prompts (list_id, case_id, township_code, kind, signal_on, created_on, quiet_until)
    select $1, recipient_case, township_code, kind, signal_on, $2::date, $2::date + $3::int from cand
    on conflict do nothing
    returning id, case_id, township_code, kind, signal_on, case_id || ' ' || kind as prompted
), told as (
    insert into notifications (idempotency_key, case_id, audience, kind, subject, body)
    select 'discovery-prompt-' || ins.id, ins.case_id, 'role:township_caseworker@' || ins.township_code,
           'discovery-review-prompt', '保障对象出现新的困难信号',
           '保障对象（案件 ' || ins.case_id || '）有部门推送的新信号：' || ($4::jsonb ->> ins.kind) || '（'
           || ins.signal_on || '），请考虑提前开展动态管理复核'
    from ins
    on conflict (idempotency_key) do nothing
)
update discovery_signals d set outcome = 'assisted'
where d.list_id = $1 and d.outcome = 'prompted'
  and d.recipient_case || ' ' || d.kind not in (select prompted from ins)
"""

_COVERAGE = """
insert into discovery_coverage (list_id, township_code, kind, received, assisted, prompted, tasked, duplicates)
select $1, coalesce(township_code, ''), kind, count(*),
       count(*) filter (where outcome in ('assisted', 'prompted')),
       count(*) filter (where outcome = 'prompted'),
       count(*) filter (where outcome = 'tasked'),
       count(*) filter (where outcome = 'duplicate')
from discovery_signals where list_id = $1
group by coalesce(township_code, ''), kind
returning received, assisted, prompted, tasked, duplicates, township_code
"""


async def match_list(conn: asyncpg.Connection, list_id: int, on: date, policy: DiscoveryPolicy) -> ListResult:
    """Classify every signal of the list, create its tasks and prompts, count them (inside the caller's
    transaction)."""
    pairs = [(kind, t) for kind, types in policy.assisted_by.items() for t in types]
    kinds, types = [k for k, _ in pairs], [t for _, t in pairs]
    await conn.execute(_CLASSIFY, list_id, kinds, types, list(policy.review_prompt_kinds))
    await conn.execute("truncate discovery_incoming")
    await conn.execute(_TASKS, list_id, on, policy.dedup_days)
    labels = {k.value: k.label for k in SignalKind}
    await conn.execute(_PROMPTS, list_id, on, policy.dedup_days, labels)
    rows = await conn.fetch(_COVERAGE, list_id)
    task_ids = await conn.fetch("select task_id from discovery_tasks where list_id = $1 order by task_id", list_id)
    return ListResult(
        list_id=list_id,
        received=sum(r["received"] for r in rows),
        assisted=sum(r["assisted"] for r in rows),
        prompted=sum(r["prompted"] for r in rows),
        tasked=sum(r["tasked"] for r in rows),
        duplicates=sum(r["duplicates"] for r in rows),
        unplaced=sum(r["received"] for r in rows if r["township_code"] == ""),
        task_ids=[r["task_id"] for r in task_ids],
    )


@dataclass(frozen=True)
class ListRow:
    id: int
    bureau: str
    source: str
    filename: str | None
    received_at: datetime
    keep_until: date
    purged_at: datetime | None
    received: int
    assisted: int
    tasked: int


async def lists(db: Db, bureau: str | None, limit: int = 100) -> list[ListRow]:
    """A bureau's lists (all bureaus' for None), newest first, with what the matching counted."""
    rows = await db.fetch(
        """
        select l.id, l.bureau, l.source, l.filename, l.received_at, l.keep_until, l.purged_at,
               coalesce(sum(c.received), 0)::int as received, coalesce(sum(c.assisted), 0)::int as assisted,
               coalesce(sum(c.tasked), 0)::int as tasked
        from discovery_lists l left join discovery_coverage c on c.list_id = l.id
        where $1::text is null or l.bureau = $1
        group by l.id order by l.id desc limit $2
        """,
        bureau,
        limit,
    )
    return [ListRow(**dict(r)) for r in rows]


async def purge(pool: asyncpg.Pool, on: date) -> int:
    """Delete the rows (ID numbers, names) of every list kept past its `keep_until`; how many lists."""
    async with pool.acquire() as conn, conn.transaction():
        ids = await conn.fetch(
            "update discovery_lists set purged_at = now() where keep_until < $1 and purged_at is null returning id", on
        )
        await conn.execute("delete from discovery_signals where list_id = any($1::bigint[])", [r["id"] for r in ids])
    return len(ids)


async def signals_left(db: Db, list_id: int) -> int:
    return await db.fetchval("select count(*) from discovery_signals where list_id = $1", list_id)
