"""Emergency events: the event row, its payments booked against the funds' ledgers, the transfers the
finance office pays from, and the event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from db import funds_repo
from db.pool import Db
from db.typed import every, insert_once, one
from db.where import Where
from schemas.emergency import EmergencyLogIn, EmergencyRecord, OpenEmergencyIn, PaymentIn, PriorAid, PriorEvent
from schemas.identity import mask_id
from schemas.money import from_fen, to_fen


class NoFund(LookupError):
    """The place has no aid fund."""


class FundInsufficient(ValueError):
    """The payment would overdraw the fund; the message is Chinese, for the approver as it is."""


@dataclass(frozen=True)
class BookedPayment:
    fund_code: str  # the place whose fund pays


async def policy_version(db: Db, event_id: str) -> int | None:
    """The policy version an event was registered under; None for an event not yet recorded."""
    return await db.fetchval("select policy_version from emergencies where event_id = $1", event_id)


async def insert_event(db: Db, req: OpenEmergencyIn, workflow_id: str, policy_version: int) -> None:
    """The event's row and its household's other members (`emergency_members`); in the caller's transaction."""
    start = req.start
    hh = start.household
    await db.execute(
        "insert into emergencies (event_id, workflow_id, kind, description, applicant_name, "
        "applicant_id_masked, township_code, village_code, channel, registered_by, registered_at, "
        "policy_version, applicant_id_number, path, expense) "
        "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
        start.event_id,
        workflow_id,
        start.kind.value,
        start.description,
        hh.name,
        mask_id(hh.id_number),
        hh.township_code,
        hh.village_code,
        start.channel,
        start.registered_by.username,
        req.registered_at,
        policy_version,
        hh.id_number,
        start.path.value,
        start.expense.model_dump(mode="json") if start.expense else None,
    )
    await db.execute(
        "insert into emergency_members (event_id, id_number) select $1, unnest($2::text[])",
        start.event_id,
        hh.other_members,
    )


# The events any of the people `$1` (text[]) belongs to, as applicant or as another member of the household.
HOUSEHOLD_EVENTS = (
    "(select event_id from emergencies where applicant_id_number = any($1::text[]) "
    "union select event_id from emergency_members where id_number = any($1::text[]))"
)


async def lock_people(conn: asyncpg.Connection, id_numbers: list[str]) -> None:
    """Registrations touching any of these people, one after the other, until the transaction ends (at most one
    open event per household): one lock per person, taken in the order of their ID numbers (no deadlock)."""
    for id_number in sorted(set(id_numbers)):
        await conn.execute("select pg_advisory_xact_lock(hashtextextended('emergency-person:' || $1, 0))", id_number)


async def open_workflows(db: Db) -> list[tuple[str, str]]:
    """Every open event: its id and its workflow's."""
    rows = await db.fetch("select event_id, workflow_id from emergencies where status = 'open' order by event_id")
    return [(r["event_id"], r["workflow_id"]) for r in rows]


async def open_event_of(db: Db, *id_numbers: str, besides: str | None = None) -> str | None:
    """The open event (the earliest, should there be more from before the rule) any of the people belongs to, as
    applicant or household member, `besides` left out."""
    return await db.fetchval(
        f"select event_id from emergencies where event_id in {HOUSEHOLD_EVENTS} and status = 'open' "
        "and event_id is distinct from $2 order by registered_at, event_id limit 1",
        list(id_numbers),
        besides,
    )


async def open_event_place_of(db: Db, id_number: str) -> tuple[str, str] | None:
    """The person's open event (as `open_event_of`) and its township."""
    r = await db.fetchrow(
        f"select event_id, township_code from emergencies where event_id in {HOUSEHOLD_EVENTS} and status = 'open' "
        "order by registered_at, event_id limit 1",
        [id_number],
    )
    return None if r is None else (r["event_id"], r["township_code"])


async def is_applicant(db: Db, event_id: str, id_number: str) -> bool:
    """Whether the person is the event's applicant (not only a member of its household)."""
    return bool(
        await db.fetchval(
            "select true from emergencies where event_id = $1 and applicant_id_number = $2", event_id, id_number
        )
    )


async def prior_aid(db: Db, id_numbers: list[str], since: date, *, besides: str) -> PriorAid:
    """What the household of these people received from `since` (Beijing) on, by tier, and the events any of them
    belongs to (as applicant or member) with aid or registered in that time, `besides` (the event being registered)
    left out; the latest event first."""
    rows = await db.fetch(
        "with paid as (select p.event_id, p.tier, p.amount_fen from aid_payments p "
        "  where p.approved_at >= ($2::date)::timestamp at time zone 'Asia/Shanghai') "
        "select e.event_id, e.path, e.registered_at, e.status, "
        "  coalesce((select sum(amount_fen) from paid where paid.event_id = e.event_id), 0)::bigint as total_fen, "
        "  coalesce((select sum(amount_fen) from paid where paid.event_id = e.event_id and tier = 'village'), 0)"
        "::bigint as village_fen, "
        "  coalesce((select sum(amount_fen) from paid where paid.event_id = e.event_id and tier = 'township'), 0)"
        "::bigint as township_fen "
        f"from emergencies e where e.event_id in {HOUSEHOLD_EVENTS} and e.event_id <> $3 "
        "and (e.registered_at >= ($2::date)::timestamp at time zone 'Asia/Shanghai' "
        "     or exists (select 1 from paid where paid.event_id = e.event_id)) "
        "order by e.registered_at desc, e.event_id",
        id_numbers,
        since,
        besides,
    )
    village = sum(r["village_fen"] for r in rows)
    township = sum(r["township_fen"] for r in rows)
    district = sum(r["total_fen"] for r in rows) - village - township
    return PriorAid(
        since=since,
        village=from_fen(village),
        township=from_fen(township),
        district=from_fen(district),
        events=[
            PriorEvent(
                event_id=r["event_id"],
                path=r["path"],
                registered_at=r["registered_at"],
                status=r["status"],
                total=from_fen(r["total_fen"]),
            )
            for r in rows
        ],
    )


async def book_payment(conn: asyncpg.Connection, p: PaymentIn) -> BookedPayment:
    """Record the payment against its fund's ledger once (by its key), refused if it would overdraw the
    fund: the fund row is locked (`funds_repo.lock_fund`), so the entries of one fund are booked one after the
    other, each stamped when it is booked."""
    fen = to_fen(p.amount)
    async with conn.transaction():
        fund = await conn.fetchrow("select id, place_code from aid_funds where place_code = $1", p.fund_place)
        if fund is None:
            raise NoFund(f"{p.fund_place} 没有救助资金账户")
        await funds_repo.lock_fund(conn, fund["id"])
        done = await conn.fetchval("select true from aid_payments where payment_key = $1", p.payment_key)
        if not done:
            balance = await conn.fetchval(
                "select coalesce(sum(case kind when 'income' then amount_fen else -amount_fen end), 0) "
                "from fund_entries where fund_id = $1",
                fund["id"],
            )
            if balance < fen:
                raise FundInsufficient(f"资金余额不足：余额 {from_fen(balance)} 元，本次需 {p.amount} 元")
            await conn.execute(
                "insert into aid_payments (payment_key, event_id, tier, fund_id, amount_fen, approved_by, "
                "approved_at, note) values ($1,$2,$3,$4,$5,$6,$7,$8)",
                p.payment_key,
                p.event_id,
                p.tier,
                fund["id"],
                fen,
                p.approved_by,
                p.approved_at,
                p.note,
            )
            await conn.execute(
                "insert into fund_entries (fund_id, kind, amount_fen, payment_key, recorded_by, note, recorded_at) "
                "values ($1, 'payment', $2, $3, $4, $5, clock_timestamp())",
                fund["id"],
                fen,
                p.payment_key,
                p.approved_by,
                f"救急难 {p.event_id}",
            )
    return BookedPayment(fund_code=fund["place_code"])


async def mark_paid(db: Db, payment_key: str, transfer_ref: str) -> datetime:
    """The transfer's reference on the payment; the time it was first paid."""
    return await db.fetchval(
        "update aid_payments set transfer_ref = $2, paid_at = coalesce(paid_at, now()) where payment_key = $1 "
        "returning paid_at",
        payment_key,
        transfer_ref,
    )


async def add_disbursement(db: Db, key: str, amount_fen: int, payee_name: str, payee_id_masked: str) -> None:
    """A transfer on the finance office's list, once per key."""
    await db.execute(
        "insert into disbursements (transfer_key, amount_fen, payee_name, payee_id_masked) values ($1,$2,$3,$4) "
        "on conflict (transfer_key) do nothing",
        key,
        amount_fen,
        payee_name,
        payee_id_masked,
    )


async def write_log(conn: asyncpg.Connection, e: EmergencyLogIn) -> None:
    """Append to the event's log (once per key) and bring the event row up to date, in one transaction."""
    async with conn.transaction():
        await insert_once(conn, "emergency_log", "event_id, log_key", e, "kind, actor, payload, occurred_at")
        await conn.execute(
            "update emergencies set tier = $2, status = $3, village_fen = $4, township_fen = $5, "
            "district_fen = $6, documentation_due = $7, documents_done = $8, "
            "closed_at = case when $3 = 'closed' then $9::timestamptz else null end, updated_at = now(), "
            "documentation_overdue = $10, payment_due = $11, first_paid_at = $12, payment_overdue = $13, "
            "payment_escalated_to = $14 where event_id = $1",
            e.event_id,
            e.tier,
            e.status,
            to_fen(e.village_total),
            to_fen(e.township_total),
            to_fen(e.district_total),
            e.documentation_due,
            e.documents_done,
            e.occurred_at,
            e.documentation_overdue,
            e.payment_due,
            e.first_paid_at,
            e.payment_overdue,
            e.payment_escalated_to,
        )
        await conn.executemany(
            "update aid_payments set documentation_due = $2, documentation_overdue = $3, documented_at = $4, "
            "documented_by = $5, exempted_at = $6, exempted_by = $7, exemption_no = $8 where payment_key = $1",
            [
                (
                    d.payment_key,
                    d.due,
                    d.overdue,
                    d.documented_at,
                    d.documented_by,
                    d.exempted_at,
                    d.exempted_by,
                    d.exemption_no,
                )
                for d in e.documentation
            ],
        )


# ---- what the web app reads ---------------------------------------------------------------------------


class EventRow(EmergencyRecord):
    """An event's row: its record and what each tier paid."""

    village_fen: int
    township_fen: int
    district_fen: int


@dataclass(frozen=True)
class EventFilter:
    """Events whose village lies within `within`, and of that township, tier and status where given."""

    within: str
    township: str | None = None
    tier: str | None = None
    status: str | None = None

    def where(self) -> Where:
        where = Where().add("starts_with(e.village_code, {})", self.within)
        for column, value in (("e.township_code", self.township), ("e.tier", self.tier), ("e.status", self.status)):
            if value:
                where.add(f"{column} = {{}}", value)
        return where


@dataclass(frozen=True)
class TierTotal:
    township_code: str
    township_name: str
    tier: str
    events: int
    total_fen: Decimal  # a sum of bigints is numeric


@dataclass(frozen=True)
class PaymentRow:
    payment_key: str
    tier: str
    amount_fen: int
    fund: str  # the fund's name
    approved_by: str
    approved_at: datetime
    transfer_ref: str | None
    paid_at: datetime | None
    documentation_due: date | None  # its documents' deadline (none for a later payment of an older event)
    documentation_overdue: bool
    documented_at: datetime | None
    documented_by: str | None
    exempted_at: datetime | None
    exempted_by: str | None
    exemption_no: str | None  # the district's written decision

    @property
    def documentation(self) -> str:
        """documented, exempted, overdue or due."""
        if self.documented_at is not None:
            return "documented"
        if self.exempted_at is not None:
            return "exempted"
        return "overdue" if self.documentation_overdue else "due"


_EVENTS = """
select e.event_id, e.kind, e.applicant_name, e.applicant_id_masked, e.township_code, t.name as township_name,
       e.village_code, v.name as village_name, e.tier, e.status, e.village_fen, e.township_fen, e.district_fen,
       e.documentation_due, e.documents_done, e.registered_at, e.documentation_overdue, e.payment_due,
       e.first_paid_at, e.payment_overdue, e.payment_escalated_to, e.path
from emergencies e join places t on t.code = e.township_code join places v on v.code = e.village_code
"""


async def event(db: Db, event_id: str) -> EventRow | None:
    return await one(db, EventRow, _EVENTS + "where e.event_id = $1", event_id)


async def events(db: Db, f: EventFilter, *, limit: int, offset: int) -> tuple[list[EventRow], int]:
    """One page of the events `f` selects, newest first, and how many it selects in all."""
    where = f.where()
    total = await db.fetchval("select count(*) from emergencies e" + where.sql(), *where.params)
    page = f"{_EVENTS}{where.sql()} order by e.registered_at desc limit {limit} offset {offset}"
    return await every(db, EventRow, page, *where.params), total


async def totals_by_township_and_tier(db: Db, f: EventFilter) -> list[TierTotal]:
    """How many events `f` selects, and what they paid, by township and tier."""
    where = f.where()
    return await every(
        db,
        TierTotal,
        "select e.township_code, t.name as township_name, e.tier, count(*) as events, "
        "sum(e.village_fen + e.township_fen + e.district_fen) as total_fen "
        "from emergencies e join places t on t.code = e.township_code"
        + where.sql()
        + " group by e.township_code, t.name, e.tier order by e.township_code, e.tier",
        *where.params,
    )


async def payments_of(db: Db, event_id: str) -> list[PaymentRow]:
    """The event's payments in the order they were approved, with the name of the fund each came from."""
    return await every(
        db,
        PaymentRow,
        "select p.payment_key, p.tier, p.amount_fen, f.name as fund, p.approved_by, p.approved_at, p.transfer_ref, "
        "p.paid_at, p.documentation_due, p.documentation_overdue, p.documented_at, p.documented_by, p.exempted_at, "
        "p.exempted_by, p.exemption_no "
        "from aid_payments p join aid_funds f on f.id = p.fund_id where p.event_id = $1 order by p.id",
        event_id,
    )


async def overdue_events(db: Db, within: str, township: str | None = None, *, limit: int = 200) -> list[EventRow]:
    """Open events within `within` (of `township`, if given) still unpaid past their payment deadline (24 hours)
    or with a payment's documents past their deadline: the district's overdue list, the earliest deadline first."""
    where = EventFilter(within, township, status="open").where().add("(e.payment_overdue or e.documentation_overdue)")
    order = "order by least(case when e.payment_overdue then e.payment_due end, "
    order += "case when e.documentation_overdue then e.documentation_due::timestamptz end), e.event_id"
    return await every(db, EventRow, f"{_EVENTS}{where.sql()} {order} limit {limit}", *where.params)


@dataclass(frozen=True)
class WaitingFacts:
    """What an open event's list row needs besides its columns to say whom it waits on (rules.waiting), read for
    many events at once: its policy version, whether a payment was made and one is still in flight, its latest
    log entry, and what its log leaves open (a repeat to approve, a namesake warning to settle)."""

    policy_version: int | None
    paid: bool
    paying: bool
    last_at: datetime | None
    repeat_pending: bool
    namesakes_pending: bool


async def waiting_facts(db: Db, event_ids: list[str]) -> dict[str, WaitingFacts]:
    """`WaitingFacts` of the events, by id, in one query."""
    rows = await db.fetch(
        """
        select e.event_id, e.policy_version,
               exists (select 1 from aid_payments p where p.event_id = e.event_id) as paid,
               exists (select 1 from aid_payments p where p.event_id = e.event_id and p.transfer_ref is null)
                 as paying,
               (select max(l.occurred_at) from emergency_log l where l.event_id = e.event_id) as last_at,
               exists (select 1 from emergency_log l where l.event_id = e.event_id and l.kind = 'prior_aid'
                       and (l.payload->>'repeat_pending')::boolean)
                 and not exists (select 1 from emergency_log l where l.event_id = e.event_id
                                 and l.kind = 'repeat_approved') as repeat_pending,
               exists (select 1 from emergency_log w cross join lateral jsonb_array_elements(w.payload->'namesakes') n
                       where w.event_id = e.event_id and w.kind = 'relatives_namesake'
                       and not exists (select 1 from emergency_log s where s.event_id = e.event_id
                                       and ((s.kind = 'relatives_matched' and s.payload->>'namesake' = n->>'username')
                                            or (s.kind = 'namesake_dismissed'
                                                and s.payload->>'username' = n->>'username')))) as namesakes_pending
        from emergencies e where e.event_id = any($1::text[])
        """,
        event_ids,
    )
    return {r["event_id"]: WaitingFacts(**{k: v for k, v in r.items() if k != "event_id"}) for r in rows}
