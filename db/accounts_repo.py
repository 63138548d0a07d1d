"""Payment accounts of recipients (table `payment_accounts`, migration 0026): the current account of a case,
its history, and a change that supersedes the current one. A change identical to the current account is a
no-op, so a retried request (or a re-imported roster) adds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.pool import Db
from schemas.bank import AccountChange, PaymentAccount

_COLUMNS = "kind, bank_name, account_number, holder_name, holder_relation"


@dataclass(frozen=True)
class AccountRow:
    """One account of a recipient, current or superseded."""

    case_id: str
    account: PaymentAccount
    changed_by: str
    reason: str
    created_at: datetime
    superseded_at: datetime | None


def _row(r) -> AccountRow:
    account = PaymentAccount.model_validate({k: r[k] for k in _COLUMNS.split(", ")})
    return AccountRow(r["case_id"], account, r["changed_by"], r["reason"], r["created_at"], r["superseded_at"])


async def set_account(conn: asyncpg.Connection, change: AccountChange) -> bool:
    """Make `change.account` the case's current account; False if it already is (nothing written). Runs in
    the caller's transaction if there is one (an enrolment, an import), else in its own."""
    a = change.account
    async with conn.transaction():
        current = await conn.fetchrow(
            f"select id, {_COLUMNS} from payment_accounts where case_id = $1 and superseded_at is null for update",
            change.case_id,
        )
        if current is not None and tuple(current[k] for k in _COLUMNS.split(", ")) == (
            a.kind,
            a.bank_name,
            a.account_number,
            a.holder_name,
            a.holder_relation,
        ):
            return False
        if current is not None:
            await conn.execute("update payment_accounts set superseded_at = now() where id = $1", current["id"])
        await conn.execute(
            f"insert into payment_accounts (case_id, {_COLUMNS}, account_masked, changed_by, reason) "
            "values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            change.case_id,
            a.kind,
            a.bank_name,
            a.account_number,
            a.holder_name,
            a.holder_relation,
            a.masked,
            change.changed_by,
            change.reason,
        )
        return True


async def current(db: Db, case_id: str) -> AccountRow | None:
    r = await db.fetchrow(
        f"select case_id, {_COLUMNS}, changed_by, reason, created_at, superseded_at from payment_accounts "
        "where case_id = $1 and superseded_at is null",
        case_id,
    )
    return None if r is None else _row(r)


async def history(db: Db, case_id: str) -> list[AccountRow]:
    """Every account the case has had, newest first."""
    rows = await db.fetch(
        f"select case_id, {_COLUMNS}, changed_by, reason, created_at, superseded_at from payment_accounts "
        "where case_id = $1 order by created_at desc, id desc",
        case_id,
    )
    return [_row(r) for r in rows]
