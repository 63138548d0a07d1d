"""The payroll as the web app reads it: payrolls within a jurisdiction, one payroll with its lines and their
bank results (accounts masked), the bank file's lines (the only read of full account numbers), the townships'
open tasks, and a recipient household's members (for the guardian of an account)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from db.pool import Db
from db.typed import every, one


@dataclass(frozen=True)
class PayrollRow:
    id: int
    township_code: str
    township_name: str
    month: date
    seq: int
    workflow_id: str
    status: str  # draft, checked, confirmed
    lines: int
    amount_fen: int
    held_lines: int
    held_fen: int
    drafted_at: datetime
    checked_by: str | None  # by name where known
    checked_at: datetime | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    checked_username: str | None
    paid: int
    failed: int


_PAYROLL = """
select p.id, p.township_code, t.name as township_name, p.month, p.seq, p.workflow_id, p.status, p.lines,
       p.amount_fen, p.held_lines, p.held_fen, p.drafted_at, coalesce(cu.full_name, p.checked_by) as checked_by,
       p.checked_at, coalesce(fu.full_name, p.confirmed_by) as confirmed_by, p.confirmed_at,
       p.checked_by as checked_username,
       (select count(*) from payroll_results x join payroll_lines l on l.id = x.line_id
        where l.payroll_id = p.id and x.result = 'paid') as paid,
       (select count(*) from payroll_results x join payroll_lines l on l.id = x.line_id
        where l.payroll_id = p.id and x.result = 'failed') as failed
from payrolls p join places t on t.code = p.township_code
left join users cu on cu.username = p.checked_by left join users fu on fu.username = p.confirmed_by
"""


async def payrolls_within(db: Db, place: str, month: date | None = None, limit: int = 200) -> list[PayrollRow]:
    """Payrolls (with lines) of townships within `place`, of `month` if given; the latest month first."""
    return await every(
        db,
        PayrollRow,
        _PAYROLL + "where starts_with(p.township_code, $1) and ($2::date is null or p.month = $2) and p.lines > 0 "
        "order by p.month desc, p.township_code, p.seq limit $3",
        place,
        month,
        limit,
    )


async def payroll(db: Db, payroll_id: int) -> PayrollRow | None:
    return await one(db, PayrollRow, _PAYROLL + "where p.id = $1", payroll_id)


@dataclass(frozen=True)
class LineRow:
    """A line as the roster shows it: the account masked, the ID number whole (masked by the page)."""

    id: int
    case_id: str
    holder_name: str
    id_number: str
    bank_name: str | None
    account_masked: str | None
    for_month: date
    amount_fen: int
    note: str
    result: str | None  # paid, failed, or none yet
    reason: str | None


_LINES = """
select l.id, l.case_id, l.holder_name, l.id_number, l.bank_name, l.account_masked, l.for_month, l.amount_fen, l.note,
       x.result, x.reason
from payroll_lines l left join payroll_results x on x.line_id = l.id
where l.payroll_id = $1 order by l.id
"""


async def lines(db: Db, payroll_id: int) -> list[LineRow]:
    return await every(db, LineRow, _LINES, payroll_id)


@dataclass(frozen=True)
class BankLine:
    holder_name: str
    id_number: str
    account_number: str
    amount_fen: int
    note: str


_BANK_LINES = """
select holder_name, id_number, account_number, amount_fen, note from payroll_lines
where payroll_id = $1 and account_number is not null order by id
"""


async def bank_lines(db: Db, payroll_id: int) -> list[BankLine]:
    """The lines that go to the bank (those with an account), full numbers: the bank file only."""
    return await every(db, BankLine, _BANK_LINES, payroll_id)


@dataclass(frozen=True)
class TaskRow:
    id: int
    case_id: str
    applicant_name: str
    township_name: str
    kind: str  # failed, no_account
    reason: str
    for_month: date
    amount_fen: int
    created_at: datetime


_OPEN_TASKS = """
select k.id, k.case_id, c.applicant_name, t.name as township_name, k.kind, k.reason, l.for_month, l.amount_fen,
       k.created_at
from payroll_tasks k join payroll_lines l on l.id = k.line_id join cases c on c.case_id = k.case_id
join places t on t.code = k.township_code
where k.resolved_at is null and starts_with(k.township_code, $1) order by k.created_at, k.id
"""


async def open_tasks(db: Db, place: str) -> list[TaskRow]:
    """The townships' open payment tasks within `place`, the oldest first."""
    return await every(db, TaskRow, _OPEN_TASKS, place)


@dataclass(frozen=True)
class Recipient:
    """An enrolled case's register entry with its household's members (name, ID number, applicant or not)."""

    case_id: str
    township_code: str
    applicant_name: str
    members: list[tuple[str, str, bool]]


async def recipient(db: Db, case_id: str) -> Recipient | None:
    row = await db.fetchrow(
        "select r.case_id, r.township_code, c.applicant_name, c.household_id from recipients r "
        "join cases c on c.case_id = r.case_id where r.case_id = $1",
        case_id,
    )
    if row is None:
        return None
    members = await db.fetch(
        "select name, id_number, is_applicant from household_members where household_id = $1 order by id",
        row["household_id"],
    )
    return Recipient(row["case_id"], row["township_code"], row["applicant_name"], [(m[0], m[1], m[2]) for m in members])


async def next_seq(db: Db, township: str, month: date) -> int:
    return await db.fetchval(
        "select coalesce(max(seq), 0) + 1 from payrolls where township_code = $1 and month = $2", township, month
    )
