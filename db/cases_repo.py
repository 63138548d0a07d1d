"""Review cases and what hangs off them: the case row, its event log and the progress that log implies,
escalations, the request to the verification centre, and the notification outbox.

Every writer of `case_events` (the review workflow, supervision re-checks, ongoing reviews, benchmark seeds)
goes through `append_events`, which keeps the case row's progress columns (`rules.progress`) in the same
transaction. A restore brings the columns back with the rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
from pydantic import ConfigDict, Field

from db import applications_repo
from db.pool import Db
from db.typed import every, insert_once, one
from rules import progress
from schemas.identity import mask_id
from schemas.review import CaseEvent, NotificationIn
from schemas.review_records import (
    CaseEventIn,
    CaseFacts,
    EscalationIn,
    OpenCaseIn,
    TakeOverIn,
    VerificationAnsweredIn,
    VerificationRequestIn,
)

# Event kinds renamed when each action got one name (migration 0014); a write scheduled before the change
# and retried after it still lands under the new name.
RENAMED_KINDS = {"materials_missing": "missing_materials", "taken_over": "take_over"}


@dataclass(frozen=True)
class CaseRef:
    case_id: str
    workflow_id: str


async def policy_version(db: Db, case_id: str) -> int | None:
    """The policy version a case was accepted under; None for a case not yet recorded."""
    return await db.fetchval("select policy_version from cases where case_id = $1", case_id)


async def insert_case(conn: asyncpg.Connection, req: OpenCaseIn, policy_version: int) -> None:
    """The household, its members and the case row, in the caller's transaction."""
    app = req.start.application
    hh = app.household
    household_id = await conn.fetchval(
        "insert into households (township_code, village_code, address, hukou_type, phone) "
        "values ($1,$2,$3,$4,$5) returning id",
        hh.township_code,
        hh.village_code,
        hh.address,
        hh.hukou_type.value,
        hh.phone,
    )
    await conn.executemany(
        "insert into household_members (household_id, name, id_number, relation, is_applicant) values ($1,$2,$3,$4,$5)",
        [(household_id, m.name, m.id_number, m.relation.value, m is hh.applicant) for m in hh.members],
    )
    await conn.execute(
        "insert into cases (case_id, workflow_id, assistance_type, household_id, township_code, village_code, "
        "applicant_name, applicant_id_masked, channel, policy_version, stage, accepted_at) "
        "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'accepted',$11)",
        app.application_id,
        req.workflow_id,
        app.assistance_type.value,
        household_id,
        hh.township_code,
        hh.village_code,
        hh.applicant.name,
        mask_id(hh.applicant.id_number),
        app.channel.value,
        policy_version,
        req.accepted_at,
    )
    ids = [m.id_number for m in hh.members]
    await applications_repo.claim_quietly(conn, app.application_id, ids, app.assistance_type.value, req.accepted_at)


# ---- the event log ------------------------------------------------------------------------------------

_APPEND = """
insert into case_events (case_id, event_key, kind, stage, actor, actor_role, payload, occurred_at, recorded_at)
select e.case_id, e.event_key, e.kind, coalesce(e.stage, c.stage), e.actor, e.actor_role, e.payload::jsonb,
       coalesce(e.occurred_at, now()), coalesce(e.recorded_at, now())
from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
            $8::timestamptz[], $9::timestamptz[])
     with ordinality as e(case_id, event_key, kind, stage, actor, actor_role, payload, occurred_at, recorded_at, n)
join cases c on c.case_id = e.case_id
order by e.n
on conflict (case_id, event_key) do nothing
returning id, case_id, event_key, occurred_at
"""
_PROGRESS_COLUMNS = (
    "paused, paused_changed_at, home_visit_at, neighbour_at, reinvestigate_at, district_visit_done, "
    "barred_users, relatives_match, district_visit_required, district_approval"
)
_SET_PROGRESS = (
    "update cases set paused = $2, paused_changed_at = $3, home_visit_at = $4, neighbour_at = $5, "
    "reinvestigate_at = $6, district_visit_done = $7, barred_users = $8, relatives_match = $9, "
    "district_visit_required = $10, district_approval = $11 where case_id = $1"
)


def _renamed(e: CaseEvent) -> CaseEvent:
    new = RENAMED_KINDS.get(e.kind)
    if new is None:
        return e
    key = e.event_key.removesuffix(f"-{e.kind}") + f"-{new}" if e.event_key.endswith(f"-{e.kind}") else e.event_key
    return e.model_copy(update={"kind": new, "event_key": key})


async def append_events(db: Db, events: Sequence[CaseEvent]) -> list[CaseEvent]:
    """Append events to their cases' logs, once per case and key (a replayed write changes nothing), and
    bring each case's progress columns up to date from the events actually added. An event of a case
    that is not recorded is dropped. Returns the events added, in order."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await append_events(conn, events)
    conn = db
    events = [_renamed(e) for e in events]
    async with conn.transaction():
        rows = await conn.fetch(
            _APPEND,
            [e.case_id for e in events],
            [e.event_key for e in events],
            [e.kind for e in events],
            [e.stage for e in events],
            [e.actor for e in events],
            [e.actor_role for e in events],
            [json.dumps(e.payload) for e in events],
            [e.occurred_at for e in events],
            [e.recorded_at for e in events],
        )
        by_key = {(e.case_id, e.event_key): e for e in events}
        added = [
            by_key[(r["case_id"], r["event_key"])].model_copy(update={"occurred_at": r["occurred_at"]})
            for r in sorted(rows, key=lambda r: r["id"])
        ]
        await _keep_progress(conn, [e for e in added if e.kind in progress.KINDS])
    return added


async def _keep_progress(conn: asyncpg.Connection, events: list[CaseEvent]) -> None:
    if not events:
        return
    rows = await conn.fetch(
        f"select case_id, {_PROGRESS_COLUMNS} from cases where case_id = any($1::text[]) order by case_id for update",
        sorted({e.case_id for e in events}),
    )
    now = {r["case_id"]: progress.CaseProgress(**{k: v for k, v in dict(r).items() if k != "case_id"}) for r in rows}
    for e in events:
        assert e.occurred_at is not None
        now[e.case_id] = progress.after_event(now[e.case_id], e.kind, e.payload, e.occurred_at)
    await conn.executemany(
        _SET_PROGRESS,
        [
            (
                case_id,
                p.paused,
                p.paused_changed_at,
                p.home_visit_at,
                p.neighbour_at,
                p.reinvestigate_at,
                p.district_visit_done,
                list(p.barred_users),
                p.relatives_match,
                p.district_visit_required,
                p.district_approval,
            )
            for case_id, p in now.items()
        ],
    )


async def record_event(conn: asyncpg.Connection, ev: CaseEventIn) -> None:
    """The review workflow's write: one event, and the case row's summary as the workflow has it now."""
    async with conn.transaction():
        await append_events(conn, [CaseEvent.model_validate(ev, from_attributes=True)])
        await conn.execute(
            "update cases set stage = $2, deadline = $3, deadline_provisional = $4, paused_days = $5, "
            "overdue = overdue or $6, status = $7, handled_by = $8, "
            "decided_at = case when $2 in ('public_notice', 'refused') then coalesce(decided_at, $9) "
            "else decided_at end, "
            "closed_at = case when $7 <> 'open' then $9 else null end, updated_at = now() "
            "where case_id = $1",
            ev.case_id,
            ev.stage,
            ev.deadline,
            ev.deadline_provisional,
            ev.paused_days,
            ev.overdue,
            ev.status,
            ev.handled_by,
            ev.occurred_at,
        )
        if ev.kind == "notice_started":  # the current notice, for the public list and the printed notice
            await conn.execute(
                "update cases set notice_started_at = $2, notice_ends_at = $3::text::timestamptz where case_id = $1",
                ev.case_id,
                ev.occurred_at,
                ev.payload["ends_at"],
            )
        if ev.status != "open":
            await applications_repo.release(conn, ev.case_id, ev.occurred_at)


# ---- escalations, verification, outbox ----------------------------------------------------------------


async def add_escalation(conn: asyncpg.Connection, req: EscalationIn) -> None:
    """Record an escalation once (by its key); an overdue case is flagged as such."""
    async with conn.transaction():
        await insert_once(conn, "escalations", "escalation_key", req, "case_id, kind, deadline", created_at=req.at)
        if req.kind == "overdue":
            await conn.execute("update cases set overdue = true where case_id = $1", req.case_id)


async def record_take_over(db: Db, req: TakeOverIn) -> None:
    await db.execute(
        "update escalations set taken_over_by = $2, taken_over_at = $3 where case_id = $1 and taken_over_by is null",
        req.case_id,
        req.username,
        req.at,
    )


async def file_verification_request(db: Db, req: VerificationRequestIn, adapter: str) -> None:
    await db.execute(
        "insert into verification_requests (case_id, township_code, requested_at, adapter) "
        "values ($1, $2, $3, $4) on conflict (case_id) do nothing",
        req.case_id,
        req.township_code,
        req.requested_at,
        adapter,
    )


async def record_verification_answer(db: Db, req: VerificationAnsweredIn) -> None:
    await db.execute(
        "update verification_requests set status = 'answered', result = $2, answered_by = $3, answered_at = $4 "
        "where case_id = $1",
        req.case_id,
        req.result.model_dump(mode="json", exclude={"actor"}),
        req.result.actor.username,
        req.answered_at,
    )


async def queue_notification(db: Db, n: NotificationIn) -> None:
    """Queue a message in the outbox; the idempotency key makes a second write a no-op."""
    await db.execute(
        "insert into notifications (idempotency_key, case_id, audience, kind, subject, body, deliver_by) "
        "values ($1,$2,$3,$4,$5,$6,$7) on conflict (idempotency_key) do nothing",
        n.idempotency_key,
        n.case_id,
        n.audience,
        n.kind,
        n.subject,
        n.body,
        n.deliver_by,
    )


async def open_cases(db: Db) -> list[CaseRef]:
    """Every case still in review, with its workflow."""
    rows = await db.fetch("select case_id, workflow_id from cases where status = 'open' order by case_id")
    return [CaseRef(r["case_id"], r["workflow_id"]) for r in rows]


async def refusals_undelivered(db: Db) -> list[CaseRef]:
    """Every refused case whose refusal notice's delivery is not recorded yet, with its workflow (which waits for it,
    in cases refused since it does)."""
    rows = await db.fetch(
        "select case_id, workflow_id from cases c where stage = 'refused' and not exists "
        "(select from case_events e where e.case_id = c.case_id and e.kind = 'refusal_delivered') order by case_id"
    )
    return [CaseRef(r["case_id"], r["workflow_id"]) for r in rows]


async def awaits_refusal_delivery(db: Db, case_id: str) -> bool:
    """Whether the case is refused and its refusal notice's delivery not recorded yet (its workflow waits for it and
    takes documents meanwhile: the signed delivery receipt, 送达回证)."""
    return await db.fetchval(
        "select exists (select from cases c where c.case_id = $1 and c.stage = 'refused' and not exists "
        "(select from case_events e where e.case_id = c.case_id and e.kind = 'refusal_delivered'))",
        case_id,
    )


async def count(db: Db, *, status: str | None = None) -> int:
    """How many cases (with this status, if given: `open`, `closed`)."""
    return await db.fetchval("select count(*) from cases where status = coalesce($1, status)", status)


@dataclass(frozen=True)
class CaseOfPerson:
    assistance_type: str
    township_code: str
    village_code: str | None
    member: bool  # the person is one of the case's household members


async def case_for_person(db: Db, case_id: str, id_number: str) -> CaseOfPerson | None:
    """A case's type and place, and whether the person with this ID number is in its household (linking a
    front-door request to it)."""
    return await one(
        db,
        CaseOfPerson,
        "select c.assistance_type, c.township_code, c.village_code, "
        "exists(select 1 from household_members m where m.household_id = c.household_id and m.id_number = $2) "
        "as member from cases c where c.case_id = $1",
        case_id,
        id_number,
    )


# ---- a case as the web app reads it ----------------------------------------------------------------------


class CaseRow(CaseFacts):
    """The `cases` row as the web app reads it: `CaseFacts` and the monthly amount in fen."""

    model_config = ConfigDict(frozen=True)

    monthly_amount_fen: int | None
    # The staff the relatives check keeps away (回避: declared near relatives, and a namesake warning's user until
    # it is settled), as `rules.progress` keeps them; never sent out (who is whose relative is not shown).
    barred_users: tuple[str, ...] = Field(default=(), exclude=True)

    @property
    def place(self) -> str:
        """The case's most precise place: its village, else its township."""
        return self.village_code or self.township_code


# Category and amount are the enrolment's, the amount as the register has it now (ongoing reviews change it), with
# the register's status (a stop); before the enrolment (in 公示) they are the latest decision's, if it approved.
CASE_SQL = """
select c.case_id, c.workflow_id, c.assistance_type, c.township_code, t.name as township_name,
       c.village_code, v.name as village_name, c.applicant_name, c.applicant_id_masked, c.channel,
       c.policy_version, c.stage, c.status, c.handled_by, c.accepted_at, c.deadline, c.deadline_provisional,
       c.paused_days, c.overdue, c.relatives_match,
       coalesce(c.category, d.payload->>'category') as category,
       coalesce(r.monthly_amount_fen, c.monthly_amount_fen, round(coalesce(d.payload->>'monthly_amount',
                d.payload->>'proposed_amount')::numeric * 100)::bigint) as monthly_amount_fen,
       c.decided_at, c.closed_at, c.updated_at, coalesce(c.barred_users, '{}') as barred_users,
       r.status as benefit_status, r.stopped_at as benefit_stopped_at
from cases c
join places t on t.code = c.township_code
left join places v on v.code = c.village_code
left join recipients r on r.case_id = c.case_id
left join lateral (
    select e.payload from case_events e
    where e.case_id = c.case_id and e.kind = 'decision' and c.monthly_amount_fen is null and c.status = 'open'
    order by e.occurred_at desc, e.id desc limit 1
) d on (d.payload->>'approve')::boolean
"""


async def case_row(db: Db, case_id: str) -> CaseRow | None:
    return await one(db, CaseRow, CASE_SQL + "where c.case_id = $1", case_id)


async def case_place(db: Db, case_id: str) -> str | None:
    """Where a recorded case lies (its village, else its township); None for a case not recorded (yet)."""
    return await db.fetchval("select coalesce(village_code, township_code) from cases where case_id = $1", case_id)


async def case_exists(db: Db, case_id: str) -> bool:
    return await db.fetchval("select exists(select 1 from cases where case_id = $1)", case_id)


async def case_in_township(db: Db, case_id: str, township_code: str) -> str | None:
    """The recorded case of the township `township_code` numbered `case_id`, as it is recorded: that very
    number, else the one number differing from it in letter case only (a number read off paper); None if the
    township has no such case (or two that differ in letter case only)."""
    found = await db.fetch(
        "select case_id from cases where township_code = $2 and lower(case_id) = lower($1) "
        "order by case_id = $1 desc limit 2",
        case_id,
        township_code,
    )
    ids = [r["case_id"] for r in found]
    return ids[0] if ids and (ids[0] == case_id or len(ids) == 1) else None


@dataclass(frozen=True)
class EscalationRow:
    case_id: str
    kind: str  # overdue, verification_overdue
    deadline: date
    created_at: datetime
    taken_over_by: str | None  # a user name
    taken_over_at: datetime | None
    taken_over_name: str | None  # their full name, while they are a user

    @property
    def taker(self) -> str | None:
        """Who took the case over, by name where known."""
        return self.taken_over_name or self.taken_over_by


async def escalations_of(db: Db, case_ids: list[str]) -> list[EscalationRow]:
    """The escalations of these cases, oldest first."""
    return await every(
        db,
        EscalationRow,
        "select e.case_id, e.kind, e.deadline, e.created_at, e.taken_over_by, e.taken_over_at, "
        "u.full_name as taken_over_name from escalations e left join users u on u.username = e.taken_over_by "
        "where e.case_id = any($1::text[]) order by e.created_at, e.id",
        case_ids,
    )


@dataclass(frozen=True)
class Notice:
    created_at: datetime
    audience: str  # 'applicant', 'user:<name>' or 'role:<role>@<place>'
    subject: str
    body: str


async def notices_of(db: Db, case_id: str) -> list[Notice]:
    """The messages queued about a case, in the order they were queued."""
    return await every(
        db,
        Notice,
        "select created_at, audience, subject, body from notifications where case_id = $1 order by created_at, id",
        case_id,
    )
