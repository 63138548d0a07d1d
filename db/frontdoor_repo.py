"""The 12349 front door's rows: requests, referrals (and the bureaus' webhooks), complaints and their shared
log, as their workflows write them and as the desk, the bureaus, the portal and the household view read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from db.frontdoor_filters import ComplaintFilter, Reader, ReferralFilter, RequestFilter, case_handlers
from db.pool import Db
from db.typed import every, insert_once, one
from db.where import Where
from schemas.frontdoor import (
    ComplaintRecord,
    ComplaintStart,
    DeliveryIn,
    FrontDoorLogIn,
    IntakeStart,
    ReferralRecord,
    ReferralResult,
    RequestRecord,
)
from schemas.identity import mask_id
from schemas.money import to_fen


async def insert_request(db: Db, start: IntakeStart, workflow_id: str, created_at: datetime) -> None:
    """A portal request is in someone's name unverified (migration 0025); staff who take one down for the
    resident verify the identity at entry."""
    r = start.request
    staff = start.received_by.username if start.received_by else None
    await db.execute(
        "insert into frontdoor_requests (request_no, workflow_id, kind, channel, name, id_number, id_masked, "
        "phone, township_code, village_code, address, description, needs, received_by, created_at, "
        "about_person, about_case_id, identity_verified, identity_verified_by, identity_verified_at) "
        "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,"
        "$14::text is not null, $14, case when $14::text is not null then $15::timestamptz end) "
        "on conflict (request_no) do nothing",
        start.request_no,
        workflow_id,
        r.kind.value,
        start.channel.value,
        r.name,
        r.id_number,
        mask_id(r.id_number),
        r.phone,
        r.township_code,
        r.village_code,
        r.address,
        r.description,
        r.needs,
        staff,
        created_at,
        r.about_person if r.kind.value == "complaint" else None,
        r.about_case_id if r.kind.value == "complaint" else None,
    )


async def insert_referral(db: Db, d: DeliveryIn, delivered_at: datetime) -> None:
    r = d.referral
    await db.execute(
        "insert into referrals (referral_id, workflow_id, request_no, need, help_kind, bureau, township_code, "
        "name, id_masked, delivered_at) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) "
        "on conflict (referral_id) do nothing",
        r.referral_id,
        d.workflow_id,
        r.request_no,
        r.need,
        r.help_kind,
        r.bureau.value,
        r.township_code,
        r.name,
        r.id_masked,
        delivered_at,
    )


async def set_referral_adapter(db: Db, referral_id: str, adapter: str) -> None:
    await db.execute("update referrals set adapter = $2 where referral_id = $1", referral_id, adapter)


async def record_referral_result(db: Db, referral_id: str, result: ReferralResult) -> None:
    await db.execute(
        "update referrals set outcome = $2, help_given = $3, amount_fen = $4 where referral_id = $1",
        referral_id,
        result.outcome,
        result.help_given,
        to_fen(result.amount) if result.amount else None,
    )


async def insert_complaint(db: Db, c: ComplaintStart, workflow_id: str, created_at: datetime) -> None:
    await db.execute(
        "insert into complaints (complaint_no, workflow_id, request_no, complainant, phone, township_code, "
        "about_case_id, about_person, content, unit_code, created_at) "
        "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) on conflict (complaint_no) do nothing",
        c.complaint_no,
        workflow_id,
        c.request_no,
        c.complainant,
        c.phone,
        c.township_code,
        c.about_case_id,
        c.about_person,
        c.content,
        c.unit_code,
        created_at,
    )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


ESCALATED = "escalated_"  # the log entry's kind when a limit passed and was reported: escalated_<limit>


async def write_log(conn: asyncpg.Connection, e: FrontDoorLogIn) -> None:
    """Append to the front door's log (once per key) and bring the subject's row up to date, in one
    transaction. A limit reported to the district as passed (its `escalated_<limit>` entry) is no longer
    provisional on the row: it is not counted again, so its date is final, counted with the calendar in force when
    it fell."""
    async with conn.transaction():
        await insert_once(
            conn, "frontdoor_log", "subject_type, subject_id, log_key", e, "kind, actor, payload, occurred_at"
        )
        if e.subject_type == "request":
            await conn.execute(
                "update frontdoor_requests set status = $2, answer_due = coalesce($3, answer_due), "
                "answer_provisional = case when $3::date is null then answer_provisional else $6 and not exists("
                "select from frontdoor_log l where l.subject_type = 'request' and l.subject_id = $1 "
                f"and l.kind = '{ESCALATED}answer') end, "
                "answer = coalesce($4, answer), closed_at = case when $2 = 'closed' then $5::timestamptz end, "
                "updated_at = now() where request_no = $1",
                e.subject_id,
                e.status,
                e.due,
                e.payload.get("answer"),
                e.occurred_at,
                e.due_provisional,
            )
        else:
            await _follow_up(conn, e)
        if e.subject_type == "referral" and e.payload.get("adapter"):
            # how it reached the bureau, as its `delivered` entry says: the bureau's own inbox too when delivery
            # to its system gave up (the delivery activity, which sets it otherwise, never answered)
            await conn.execute(
                "update referrals set adapter = $2 where referral_id = $1 and adapter is null",
                e.subject_id,
                e.payload["adapter"],
            )


# a referral's or complaint's row: its table, key, second limit (its due date's and its provisional flag's column,
# named alike in the log's payload), final status with the column stamped when it is reached, and the texts the log
# entry may bring
_FOLLOW_UPS = {
    "referral": ("referrals", "referral_id", "result", "answered", "answered_at", ()),
    "complaint": ("complaints", "complaint_no", "conclude", "concluded", "concluded_at", ("finding", "reply")),
}


async def _follow_up(conn: asyncpg.Connection, e: FrontDoorLogIn) -> None:
    """Bring a referral's or complaint's row up to date with its log entry `e`: a limit it brings comes with
    whether it is provisional (暂定)."""
    table, key, final_limit, final, stamp, texts = _FOLLOW_UPS[e.subject_type]
    due, provisional = f"{final_limit}_due", f"{final_limit}_provisional"
    passed = e.kind.removeprefix(ESCALATED) if e.kind.startswith(ESCALATED) else None  # final once reported
    at = 8 + len(texts)
    await conn.execute(
        f"update {table} set status = $2, escalated = escalated or $3, "
        f"accept_due = coalesce($4::date, accept_due), {due} = coalesce($5::date, {due}), "
        f"accept_provisional = coalesce($6::boolean, accept_provisional), "
        f"{provisional} = coalesce($7::boolean, {provisional}), "
        + "".join(f"{text} = coalesce(${8 + i}, {text}), " for i, text in enumerate(texts))
        + f"{stamp} = case when $2 = '{final}' then ${at}::timestamptz else {stamp} end, "
        f"updated_at = now() where {key} = $1",
        e.subject_id,
        e.status,
        e.kind.startswith("escalated"),
        _day(e.payload.get("accept_due")),
        _day(e.payload.get(due)),
        False if passed == "accept" else e.payload.get("accept_provisional"),
        False if passed == final_limit else e.payload.get(provisional),
        *(e.payload.get(text) for text in texts),
        e.occurred_at,
    )


async def open_dated_workflows(db: Db) -> list[tuple[str, str]]:
    """Every request not closed, referral not answered and complaint not concluded (their limits still run): its
    number and its workflow's id."""
    rows = await db.fetch(
        "select request_no as subject, workflow_id from frontdoor_requests where status <> 'closed' union all "
        "select referral_id, workflow_id from referrals where status <> 'answered' union all "
        "select complaint_no, workflow_id from complaints where status <> 'concluded' order by subject"
    )
    return [(r["subject"], r["workflow_id"]) for r in rows]


# ---- what the web app reads -----------------------------------------------------------------------------


class RequestRow(RequestRecord):
    """A request's row: its record and what its own page shows (a complaint's: whom and which case it is about,
    and that case's handlers: rules.recusal.complaint_about)."""

    id_number: str | None  # none for a policy question asked without it (migration 0032)
    phone: str
    address: str
    description: str
    received_by: str | None
    answer: str | None
    workflow_id: str
    about_person: str | None
    about_case_id: str | None
    complaint_unit: str | None  # a complaint's handling unit, once the intake has filed it
    case_handlers: list[str]  # of the case a complaint is about (rules.recusal.complaint_about)
    identity_verified_by: str | None
    identity_verified_at: datetime | None
    identity_note: str | None


class ReferralRow(ReferralRecord):
    amount_fen: int | None
    workflow_id: str
    escalations: list[str]  # the kinds of the workflow's escalation entries in the log


class ComplaintRow(ComplaintRecord):
    phone: str
    content: str
    reply: str | None
    workflow_id: str
    case_handlers: list[str]  # the user names recorded on the case it is about (rules.recusal.complaint_about)


@dataclass(frozen=True)
class LogRow:
    log_key: str
    kind: str
    actor: str | None
    payload: dict[str, Any]
    occurred_at: datetime


@dataclass(frozen=True)
class TownshipWaiting:
    township_code: str
    township_name: str
    waiting: int  # requests not closed
    overdue: int  # of which past their answer date


REQUEST_SQL = (
    """
select r.request_no, r.kind, r.channel, r.name, r.id_masked, r.township_code, t.name as township_name,
       r.village_code, v.name as village_name, r.needs, r.status, r.answer_due, r.answer_provisional, r.created_at,
       r.closed_at,
       r.id_number, r.phone, r.address, r.description, r.received_by, r.answer, r.workflow_id,
       r.about_person, r.about_case_id,
       r.identity_verified, r.identity_verified_by, r.identity_verified_at, r.identity_note,
       (select k.unit_code from complaints k where k.request_no = r.request_no) as complaint_unit, """
    + case_handlers("r.about_case_id")
    + """ as case_handlers
from frontdoor_requests r join places t on t.code = r.township_code left join places v on v.code = r.village_code
"""
)

REFERRAL_SQL = """
select f.referral_id, f.request_no, f.need, f.help_kind, f.bureau, f.township_code, t.name as township_name,
       f.name, f.id_masked, f.status, f.adapter, f.accept_due, f.result_due, f.accept_provisional,
       f.result_provisional, f.escalated, f.outcome,
       f.help_given, f.amount_fen, f.delivered_at, f.answered_at, f.workflow_id,
       array(select l.kind from frontdoor_log l where l.subject_type = 'referral' and l.subject_id = f.referral_id
             and l.kind like 'escalated%') as escalations
from referrals f join places t on t.code = f.township_code
"""

COMPLAINT_SQL = (
    """
select c.complaint_no, c.request_no, c.complainant, c.phone, c.township_code, c.unit_code, u.name as unit_name,
       c.about_case_id, c.about_person, c.status, c.accept_due, c.conclude_due, c.accept_provisional,
       c.conclude_provisional, c.escalated, c.finding,
       c.created_at, c.concluded_at, c.content, c.reply, c.workflow_id,
       """
    + case_handlers("c.about_case_id")
    + """ as case_handlers
from complaints c join places u on u.code = c.unit_code
"""
)


async def request(db: Db, request_no: str) -> RequestRow | None:
    return await one(db, RequestRow, REQUEST_SQL + "where r.request_no = $1", request_no)


async def request_of_resident(db: Db, request_no: str, id_number: str | None, phone: str) -> RequestRow | None:
    """The request, only if the ID number and phone given are the ones it was filed with (the portal's check);
    a policy question asked without an ID number is found with none (`id_number` None) and its phone."""
    mine = "where r.request_no = $1 and r.id_number is not distinct from $2 and r.phone = $3"
    return await one(db, RequestRow, REQUEST_SQL + mine, request_no, id_number, phone)


async def answer_due(db: Db, request_no: str) -> date | None:
    """The day the request is to be answered by, once its workflow has recorded it."""
    return await db.fetchval("select answer_due from frontdoor_requests where request_no = $1", request_no)


async def requests(db: Db, f: RequestFilter, *, limit: int, offset: int) -> tuple[list[RequestRow], int]:
    """One page of the requests `f` selects, oldest first (answered in the order people asked), and the total."""
    where = f.where()
    total = await db.fetchval(f"select count(*) from frontdoor_requests r{where.sql()}", *where.params)
    page = f"{REQUEST_SQL}{where.sql()} order by r.created_at, r.request_no limit {limit} offset {offset}"
    return await every(db, RequestRow, page, *where.params), total


async def requests_of_person(db: Db, id_number: str) -> list[RequestRow]:
    """Every request filed with this ID number, newest first."""
    return await every(db, RequestRow, REQUEST_SQL + "where r.id_number = $1 order by r.created_at desc", id_number)


async def waiting_by_township(db: Db, today: date, reader: Reader) -> list[TownshipWaiting]:
    """Requests not closed, and how many of them are past their answer date, by township (complaints about the
    `reader` not counted)."""
    where = reader.exclude(Where().add("r.status <> 'closed'"), "r")
    today_mark = f"${len(where.params) + 1}"
    sql = (
        "select r.township_code, t.name as township_name, count(*) as waiting, "
        f"count(*) filter (where r.answer_due < {today_mark}) as overdue from frontdoor_requests r "
        f"join places t on t.code = r.township_code{where.sql()} "
        "group by r.township_code, t.name order by r.township_code"
    )
    return await every(db, TownshipWaiting, sql, *where.params, today)


async def referral(db: Db, referral_id: str) -> ReferralRow | None:
    return await one(db, ReferralRow, REFERRAL_SQL + "where f.referral_id = $1", referral_id)


# The nearest deadline first: a referral's acceptance until it is accepted, then its result; a complaint's likewise.
_BY_REFERRAL_DEADLINE = (
    " order by coalesce(case when f.status = 'delivered' then f.accept_due end, f.result_due) nulls last, "
    "f.delivered_at"
)
_BY_COMPLAINT_DEADLINE = (
    " order by coalesce(case when c.status = 'registered' then c.accept_due end, c.conclude_due) nulls last, "
    "c.created_at"
)


async def referrals(db: Db, f: ReferralFilter) -> list[ReferralRow]:
    """The referrals `f` selects, the nearest deadline first."""
    where = f.where()
    return await every(db, ReferralRow, REFERRAL_SQL + where.sql() + _BY_REFERRAL_DEADLINE, *where.params)


async def referrals_of_requests(db: Db, request_nos: list[str], *, newest_first: bool = False) -> list[ReferralRow]:
    """The referrals made from these requests, in the order they were delivered."""
    order = "f.delivered_at desc" if newest_first else "f.delivered_at, f.referral_id"
    sql = f"{REFERRAL_SQL}where f.request_no = any($1::text[]) order by {order}"
    return await every(db, ReferralRow, sql, request_nos)


async def handlers_of_case(db: Db, case_id: str) -> list[str]:
    """The user names recorded on the case (db.frontdoor_filters.case_handlers), sorted."""
    return sorted(await db.fetchval("select " + case_handlers("$1::text"), case_id) or [])


async def complaint(db: Db, complaint_no: str) -> ComplaintRow | None:
    return await one(db, ComplaintRow, COMPLAINT_SQL + "where c.complaint_no = $1", complaint_no)


async def complaints(db: Db, f: ComplaintFilter) -> list[ComplaintRow]:
    """The complaints `f` selects, the nearest deadline first."""
    where = f.where()
    return await every(db, ComplaintRow, COMPLAINT_SQL + where.sql() + _BY_COMPLAINT_DEADLINE, *where.params)


async def complaints_about_reader(db: Db, complaint_nos: list[str], reader: Reader) -> set[str]:
    """Those of `complaint_nos` that are about the reader (rules.recusal.complaint_about)."""
    where = reader.only(Where().add("c.complaint_no = any({}::text[])", complaint_nos), "c")
    return {
        r["complaint_no"]
        for r in await db.fetch(f"select c.complaint_no from complaints c{where.sql()}", *where.params)
    }


async def complaints_about(
    db: Db, request_nos: list[str], case_ids: Sequence[str] = (), *, newest_first: bool = False
) -> list[ComplaintRow]:
    """The complaints filed from these requests or about these review cases, in the order they were made."""
    sql = (
        COMPLAINT_SQL + "where c.request_no = any($1::text[]) or c.about_case_id = any($2::text[]) "
        f"order by c.created_at{' desc' if newest_first else ''}"
    )
    return await every(db, ComplaintRow, sql, request_nos, list(case_ids))


async def log_of(db: Db, subject_type: str, subject_id: str) -> list[LogRow]:
    """What the workflow of one request, referral or complaint recorded, in order."""
    sql = (
        "select log_key, kind, actor, payload, occurred_at from frontdoor_log "
        "where subject_type = $1 and subject_id = $2 order by occurred_at, id"
    )
    return await every(db, LogRow, sql, subject_type, subject_id)


@dataclass(frozen=True)
class LogFacts:
    """What a list row needs from its log to say whom it waits on (rules.waiting): its latest entry; for a
    request, the needs its triage named, those answered (a case linked, a referral or an event started) and
    whether an enquiry's answer is recorded."""

    last_at: datetime
    triaged: list[str]
    answered_needs: list[str]
    answered: bool


async def log_facts(db: Db, subject_type: str, subject_ids: list[str]) -> dict[str, LogFacts]:
    """`LogFacts` of the rows with a log, by their number, in one query."""
    rows = await db.fetch(
        "select subject_id, max(occurred_at) as last_at, "
        "coalesce(jsonb_agg(payload->'needs') filter (where kind = 'triaged'), '[]') as triaged, "
        "coalesce(array_agg(payload->>'need') filter (where kind = 'need_answered'), '{}') as answered_needs, "
        "bool_or(kind = 'answered') as answered "
        "from frontdoor_log where subject_type = $1 and subject_id = any($2::text[]) group by subject_id",
        subject_type,
        subject_ids,
    )
    return {
        r["subject_id"]: LogFacts(
            r["last_at"], [c for needs in r["triaged"] for c in needs or []], list(r["answered_needs"]), r["answered"]
        )
        for r in rows
    }
