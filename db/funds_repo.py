"""Aid funds and their ledgers: the balance is never stored, always the sum of the entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from db import places_repo
from db.typed import every
from schemas.emergency import FundSource
from schemas.money import from_fen, to_fen


class FundError(ValueError):
    pass


@dataclass(frozen=True)
class Fund:
    id: int
    name: str


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    kind: str  # income, payment
    amount_fen: int
    source: str | None  # income only
    donor: str | None
    note: str | None
    payment_key: str | None  # payment only
    recorded_by: str
    recorded_at: datetime
    balance_fen: Decimal  # the balance after this entry (a sum of bigints is numeric)
    recorded_by_name: str | None = None  # the user's name, for people to read
    event_id: str | None = None  # a payment's emergency event
    beneficiary: str | None = None  # and its applicant


async def fund(conn: asyncpg.Connection, place_code: str) -> Fund:
    """The fund of a place, created on first use for places added after the seed."""
    found = await conn.fetchrow("select id, name from aid_funds where place_code = $1", place_code)
    if found:
        return Fund(**found)
    place = await places_repo.get_place(conn, place_code)
    if place is None:
        raise FundError(f"区划代码不存在：{place_code}")
    suffix = {"village": "救急难互助社", "township": "临时救助资金", "district": "区级临时救助资金"}[place.level]
    created = await conn.fetchrow(
        "insert into aid_funds (place_code, level, name) values ($1, $2, $3) "
        "on conflict (place_code) do update set name = aid_funds.name returning id, name",
        place_code,
        place.level,
        place.name + suffix,
    )
    return Fund(**created)


async def add_income(
    conn: asyncpg.Connection,
    place_code: str,
    amount: Decimal,
    source: FundSource,
    recorded_by: str,
    donor: str | None = None,
    note: str | None = None,
) -> int:
    if amount <= 0:
        raise FundError("入账金额必须大于 0")
    if source is FundSource.DONATION and not (donor or "").strip():
        raise FundError("社会捐赠须登记捐赠人")
    async with conn.transaction():
        fid = (await fund(conn, place_code)).id
        await lock_fund(conn, fid)
        return await conn.fetchval(
            "insert into fund_entries (fund_id, kind, amount_fen, source, donor, note, recorded_by, recorded_at) "
            "values ($1, 'income', $2, $3, $4, $5, $6, clock_timestamp()) returning id",
            fid,
            to_fen(amount),
            source.value,
            donor,
            note,
            recorded_by,
        )


async def lock_fund(conn: asyncpg.Connection, fund_id: int) -> None:
    """Entries of one fund booked one after the other, until the transaction ends: every entry (income or payment)
    takes its id and its time (`clock_timestamp()`) under this lock, so the ledger's order by id is the order in
    which they took effect, and each payment's balance check saw exactly the entries before it."""
    await conn.execute("select 1 from aid_funds where id = $1 for update", fund_id)


async def balance(conn: asyncpg.Connection, place_code: str) -> Decimal:
    fen = await conn.fetchval(
        "select coalesce(sum(case e.kind when 'income' then e.amount_fen else -e.amount_fen end), 0) "
        "from fund_entries e join aid_funds f on f.id = e.fund_id where f.place_code = $1",
        place_code,
    )
    return from_fen(fen)


async def ledger(
    conn: asyncpg.Connection,
    place_code: str,
    limit: int = 200,
    offset: int = 0,
    since: date | None = None,
    until: date | None = None,
) -> list[LedgerEntry]:
    """Entries newest first (in the order they took effect: by id, see `lock_fund`), each with the running balance
    after it (over the whole ledger, whatever the dates asked for: `since`/`until` are Beijing days, inclusive), the
    recorder's name, and for a payment its event and beneficiary."""
    return await every(
        conn,
        LedgerEntry,
        "select t.*, u.full_name as recorded_by_name, p.event_id, em.applicant_name as beneficiary from ("
        "select e.id, e.kind, e.amount_fen, e.source, e.donor, e.note, e.payment_key, e.recorded_by, "
        "e.recorded_at, sum(case e.kind when 'income' then e.amount_fen else -e.amount_fen end) "
        "over (order by e.id) as balance_fen "
        "from fund_entries e join aid_funds f on f.id = e.fund_id where f.place_code = $1) t "
        "left join users u on u.username = t.recorded_by "
        "left join aid_payments p on p.payment_key = t.payment_key "
        "left join emergencies em on em.event_id = p.event_id "
        "where ($4::date is null or (t.recorded_at at time zone 'UTC' + interval '8 hours')::date >= $4) "
        "and ($5::date is null or (t.recorded_at at time zone 'UTC' + interval '8 hours')::date <= $5) "
        "order by t.id desc limit $2 offset $3",
        place_code,
        limit,
        offset,
        since,
        until,
    )
