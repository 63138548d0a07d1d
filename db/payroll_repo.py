"""The monthly payroll (tables `payrolls`, `payroll_lines`, `payroll_results`, `payroll_tasks`, migration 0030):
who is paid in a month and how much (`payroll_due_repo.due`, which the fund declaration sums too, so the two
agree), the draft of a township's payroll in one INSERT … SELECT over the register, its check and confirmation,
the bank's answer matched line by line, and the tasks and escalations that follow.

The amounts are set-based SQL over the whole register: a township of thousands of recipients is one
statement, never one query per recipient.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from db.payroll_due_repo import due
from db.pool import Db
from rules.months import add_months
from rules.payroll import SentLine, line_note, match_return
from schemas.payroll import PayrollDrafted, PayrollStart, PayrollStep, ReturnApplied
from schemas.review import AssistanceType, CaseEvent, NotificationIn
from schemas.review_records import EscalationIn

KIND_LABELS = {t.value: t.label for t in AssistanceType}


def first_of(month: str) -> date:
    return date.fromisoformat(month + "-01")


async def system_start_after(db: Db, first: date) -> date | None:
    """The month of the system's first regular payroll when the month starting `first` is before it, else None
    (None too while no regular payroll exists: the first one sets the start). A payroll of such a month, regular
    or supplementary, is never drafted: those months were paid by the system Jiuzhu replaced, and a regular
    payroll of one would move the system's start back (`payroll_due_repo.due`), paying that month again to every
    recipient enrolled without a `paid_from`, district-wide."""
    return await db.fetchval("select min(month) from payrolls where seq = 0 having min(month) > $1", first)


async def townships_to_pay(conn: asyncpg.Connection, month: str) -> list[str]:
    rows = await conn.fetch(
        f"select distinct township_code from ({due('true', this_month=True)}) p where amount_fen > 0 order by 1",
        first_of(month),
    )
    return [r["township_code"] for r in rows]


async def _payroll_row(conn: asyncpg.Connection, workflow_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "select id, status, lines, amount_fen, held_lines, held_fen from payrolls where workflow_id = $1 for update",
        workflow_id,
    )


def _drafted(row: asyncpg.Record) -> PayrollDrafted:
    return PayrollDrafted(
        payroll_id=row["id"],
        lines=row["lines"],
        amount_fen=row["amount_fen"],
        held_lines=row["held_lines"],
        held_fen=row["held_fen"],
    )


# The recipient (the applicant) and the account: the name and ID number in the bank file are the account
# holder's, the recipient's own or (a guardian's account) the household member of that name.
_LINE_SOURCE = """
join cases c on c.case_id = p.case_id
left join payment_accounts a on a.case_id = p.case_id and a.superseded_at is null
left join lateral (
    select m.id_number from household_members m
    where m.household_id = c.household_id and m.name = coalesce(a.holder_name, c.applicant_name)
    order by m.is_applicant desc, m.id limit 1
) h on true
left join lateral (
    select m.id_number from household_members m where m.household_id = c.household_id and m.is_applicant limit 1
) me on true
"""


async def draft(conn: asyncpg.Connection, start: PayrollStart, workflow_id: str) -> PayrollDrafted:
    """Draft the township's payroll for the month (or redraft a draft); a payroll already checked or confirmed
    is returned as it is. The regular run (`seq` 0) pays the month and any earlier month still due (never put on
    a payroll: `payroll_due_repo.due`); a supplementary run (`seq` > 0) pays such months too, and again what
    failed or was held, once the township has fixed the account. With nothing to pay, `payroll_id` is None (the
    empty row stays: payrolls are never deleted; the lists leave out payrolls without lines). The township's
    drafts take turns (a lock), so two drafts never both put the same month on a payroll. A month before the
    system's first regular payroll (`system_start_after`) is drafted as nothing to pay, without a row."""
    first = first_of(start.month)
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(hashtext('payroll-draft-' || $1::text))", start.township_code)
        row = await _payroll_row(conn, workflow_id)
        if row is not None and row["status"] != "draft":
            return _drafted(row)
        if row is None and await system_start_after(conn, first) is not None:
            return PayrollDrafted(payroll_id=None)
        if row is None:
            payroll_id = await conn.fetchval(
                "insert into payrolls (township_code, month, seq, workflow_id) values ($1, $2, $3, $4) returning id",
                start.township_code,
                first,
                start.seq,
                workflow_id,
            )
        else:
            payroll_id = row["id"]
            await conn.execute("delete from payroll_lines where payroll_id = $1", payroll_id)
        await _due_lines(conn, payroll_id, start.township_code, first, late=start.seq > 0)
        if start.seq > 0:
            await _retry_lines(conn, payroll_id, start.township_code, first)
        totals = await conn.fetchrow(
            "update payrolls p set lines = t.n, amount_fen = t.fen, held_lines = t.held, held_fen = t.held_fen "
            "from (select count(*) as n, coalesce(sum(amount_fen), 0) as fen, "
            "count(*) filter (where account_number is null) as held, "
            "coalesce(sum(amount_fen) filter (where account_number is null), 0) as held_fen "
            "from payroll_lines where payroll_id = $1) t where p.id = $1 "
            "returning p.id, p.status, p.lines, p.amount_fen, p.held_lines, p.held_fen",
            payroll_id,
        )
        if totals["lines"] == 0:
            # Nothing to pay: the empty draft is kept (the trigger keeps payrolls), marked by its zero lines.
            return PayrollDrafted(payroll_id=None)
        return _drafted(totals)


async def _due_lines(conn: asyncpg.Connection, payroll_id: int, township: str, first: date, late: bool) -> None:
    """A line for each month due to the township's recipients up to `first` and on no other payroll: the month
    itself ("2027年03月…"), or one paid late with its arrears ("补发2027年02月…": an earlier month, or any month
    in a supplementary run, `late`). The months due are worked out first (`materialized`): the planner cannot
    tell how many the series of months leaves, and joined in place, took a plan that scans the cases once per
    line (34 s instead of 0.3 s for a township of 13000 households)."""
    rows = await conn.fetch(
        f"""
        with p as materialized ({due("y.id <> $3", this_month=False)})
        select p.case_id, p.assistance_type, p.people, p.for_month, p.arrears, p.amount_fen,
               coalesce(a.holder_name, c.applicant_name) as holder_name,
               coalesce(h.id_number, me.id_number, '') as id_number,
               a.bank_name, a.account_number, a.account_masked
        from p {_LINE_SOURCE}
        where p.township_code = $2 and p.amount_fen > 0
        order by c.village_code nulls last, p.case_id, p.for_month
        """,
        first,
        township,
        payroll_id,
    )
    await conn.executemany(
        f"insert into payroll_lines ({_LINE_COLUMNS}, arrears_months, note) "
        "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        [
            (
                *_line(payroll_id, r, r["for_month"]),
                r["arrears"],
                line_note(
                    KIND_LABELS.get(r["assistance_type"], ""),
                    r["for_month"],
                    r["arrears"],
                    late or r["for_month"] < first,
                ),
            )
            for r in rows
        ],
    )


async def _retry_lines(conn: asyncpg.Connection, payroll_id: int, township: str, first: date) -> None:
    """Lines of the township's confirmed payrolls up to this month that failed at the bank or were held for want
    of an account, whose task the township has resolved (the account fixed), not paid again yet."""
    rows = await conn.fetch(
        f"""
        with p as (
            select l.id as retry_of, l.case_id, l.assistance_type, l.people, l.for_month, l.amount_fen
            from payroll_lines l join payrolls y on y.id = l.payroll_id
            join payroll_tasks t on t.line_id = l.id and t.resolved_at is not null
            where y.township_code = $2 and y.month <= $1 and y.status = 'confirmed'
              and not exists (select 1 from payroll_lines again where again.retry_of = l.id)
        )
        select p.*, a.holder_name, coalesce(h.id_number, me.id_number, '') as id_number,
               a.bank_name, a.account_number, a.account_masked
        from p {_LINE_SOURCE}
        where a.account_number is not null
        order by p.case_id, p.for_month
        """,
        first,
        township,
    )
    await conn.executemany(
        f"insert into payroll_lines ({_LINE_COLUMNS}, note, retry_of) "
        "values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) on conflict do nothing",
        [
            (
                *_line(payroll_id, r, r["for_month"]),
                line_note(KIND_LABELS.get(r["assistance_type"], ""), r["for_month"], 0, retry=True),
                r["retry_of"],
            )
            for r in rows
        ],
    )


# The columns every payroll line fills, in the order `_line` gives their values.
_LINE_COLUMNS = (
    "payroll_id, case_id, assistance_type, people, for_month, holder_name, id_number, "
    "bank_name, account_number, account_masked, amount_fen"
)


def _line(payroll_id: int, r: asyncpg.Record, for_month: date) -> tuple:
    """The values of `_LINE_COLUMNS` for a payable row `r` (a regular line or a retried one)."""
    return (
        payroll_id,
        r["case_id"],
        r["assistance_type"],
        r["people"],
        for_month,
        r["holder_name"],
        r["id_number"],
        r["bank_name"],
        r["account_number"],
        r["account_masked"],
        r["amount_fen"],
    )


class WrongStatus(ValueError):
    """The payroll is not where the step needs it (`status` says where it is)."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


# action -> (status before, status after); the after status also names the step's who/when columns.
_STEPS = {"check": ("draft", "checked"), "confirm": ("checked", "confirmed")}


async def record_step(conn: asyncpg.Connection, step: PayrollStep) -> None:
    """The township's check (draft -> checked) or the district's confirmation (checked -> confirmed, its held
    lines becoming the township's tasks, resolved at once for a recipient whose account is on file by now); a
    step already recorded by the same person does nothing."""
    async with conn.transaction():
        row = await conn.fetchrow(
            "select status, checked_by, confirmed_by, township_code from payrolls where id = $1 for update",
            step.payroll_id,
        )
        by = step.actor.username
        before, after = _STEPS[step.action]
        if row["status"] != before:
            if row[f"{after}_by"] == by:
                return
            raise WrongStatus(row["status"])
        await conn.execute(
            f"update payrolls set status = '{after}', {after}_by = $2, {after}_at = $3, {step.action}_note = $4 "
            "where id = $1",
            step.payroll_id,
            by,
            step.at,
            step.note,
        )
        if step.action == "check":
            return
        await conn.execute(
            _OPEN_TASK.format(kind="'no_account'", reason="'无发放账户，暂未发放'")
            + "where l.payroll_id = $2 and l.account_number is null on conflict (line_id) do nothing",
            row["township_code"],
            step.payroll_id,
        )


async def store_return(conn: asyncpg.Connection, payroll_id: int, file_name: str, rows: list[dict], by: str) -> int:
    """Keep a bank return file's rows ({account, id_number, amount_fen, result: paid|failed, reason}) for the
    workflow to apply; returns its id."""
    return await conn.fetchval(
        "insert into payroll_returns (payroll_id, file_name, rows, uploaded_by) values ($1, $2, $3, $4) returning id",
        payroll_id,
        file_name,
        rows,
        by,
    )


# A task opened for a line whose recipient's account on file is already another (a failed line) or exists at all
# (a held line) is resolved at once by whoever set that account: it was fixed before the task existed, and the
# next supplementary run pays the line again.
_TASK_FIXED = "a.account_number is not null and a.account_number is distinct from l.account_number"
_OPEN_TASK = f"""
insert into payroll_tasks (township_code, case_id, line_id, kind, reason, resolved_at, resolved_by)
select $1, l.case_id, l.id, {{kind}}, {{reason}},
       case when {_TASK_FIXED} then now() end, case when {_TASK_FIXED} then a.changed_by end
from payroll_lines l
left join payment_accounts a on a.case_id = l.case_id and a.superseded_at is null
"""


async def apply_return(conn: asyncpg.Connection, payroll_id: int, return_id: int) -> ReturnApplied:
    """Mark each line the return names paid or failed, each row settling one line at most and each line taking
    one row at most (`rules.payroll.match_return`: by account number, else ID number, and amount, the 备注
    naming the month when the bank gives it back); the rows are matched against the lines still without a result
    only (a line's first result stands: a later file answers the lines an earlier one left). Each failure becomes
    a task of the township. Rows that settle no line are counted as unmatched; lines left without a row stay
    outstanding. Idempotent: a return already applied (`payroll_returns.summary`) is not matched again, only
    counted; the payroll's returns are applied one at a time (the payroll's row locked)."""
    async with conn.transaction():
        township, rows, applied = await conn.fetchrow(
            "select y.township_code, r.rows, r.summary is not null "
            "or exists (select 1 from payroll_results x where x.return_id = r.id) "
            "from payroll_returns r join payrolls y on y.id = r.payroll_id "
            "where r.id = $1 and r.payroll_id = $2 for update",
            return_id,
            payroll_id,
        )
        if not applied:
            sent = [
                SentLine(*r)
                for r in await conn.fetch(
                    "select l.id, l.account_number, l.id_number, l.amount_fen, l.note from payroll_lines l "
                    "where l.payroll_id = $1 and l.account_number is not null "
                    "and not exists (select 1 from payroll_results x where x.line_id = l.id) order by l.id",
                    payroll_id,
                )
            ]
            pairs = match_return(sent, rows)
            await conn.execute(
                "insert into payroll_results (line_id, result, reason, return_id) "
                "select x.line_id, x.result, nullif(x.reason, ''), $4 "
                "from unnest($1::bigint[], $2::text[], $3::text[]) as x(line_id, result, reason) "
                "on conflict (line_id) do nothing",
                [line_id for line_id, _ in pairs],
                [r["result"] for _, r in pairs],
                [r.get("reason") or "" for _, r in pairs],
                return_id,
            )
        tasks = await conn.fetchval(
            "with t as ("
            + _OPEN_TASK.format(kind="'failed'", reason="coalesce(x.reason, '银行发放失败')")
            + "join payroll_results x on x.line_id = l.id where x.return_id = $2 and x.result = 'failed' "
            "on conflict (line_id) do nothing returning 1) select count(*) from t",
            township,
            return_id,
        )
        counts = await conn.fetchrow(
            "select count(*) filter (where x.result = 'paid') as paid, count(*) filter (where x.result = 'failed') "
            "as failed from payroll_results x where x.return_id = $1",
            return_id,
        )
        unmatched = len(rows) - counts["paid"] - counts["failed"]  # rows that settled no line, this time or before
        await conn.execute(
            "update payroll_returns set summary = jsonb_build_object('paid', $2::int, 'failed', $3::int, "
            "'unmatched', $4::int) where id = $1 and summary is null",
            return_id,
            counts["paid"],
            counts["failed"],
            unmatched,
        )
        outstanding = await conn.fetchval(
            "select count(*) from payroll_lines l where l.payroll_id = $1 and l.account_number is not null "
            "and not exists (select 1 from payroll_results x where x.line_id = l.id)",
            payroll_id,
        )
        return ReturnApplied(
            return_id=return_id,
            paid=counts["paid"],
            failed=counts["failed"],
            unmatched=unmatched,
            tasks=tasks,
            outstanding=outstanding,
        )


async def unpaid_in_a_row(conn: asyncpg.Connection, payroll_id: int, months: int) -> list[tuple[str, date]]:
    """The cases of this payroll unpaid (failed or held) for its month and the `months - 1` before it, each
    month due in a confirmed payroll and paid by none: (case id, the payroll's month)."""
    rows = await conn.fetch(
        """
        select distinct l.case_id, l.for_month from payroll_lines l
        left join payroll_results x on x.line_id = l.id
        where l.payroll_id = $1 and (l.account_number is null or x.result = 'failed')
        """,
        payroll_id,
    )
    out = []
    for r in rows:
        months_unpaid = [add_months(r["for_month"], -k) for k in range(months)]
        unpaid = await conn.fetchval(
            """
            select count(*) from unnest($2::date[]) as m(month)
            where exists (select 1 from payroll_lines l join payrolls y on y.id = l.payroll_id
                          where l.case_id = $1 and l.for_month = m.month and y.status = 'confirmed')
              and not exists (select 1 from payroll_lines l join payroll_results x on x.line_id = l.id
                              where l.case_id = $1 and l.for_month = m.month and x.result = 'paid')
            """,
            r["case_id"],
            months_unpaid,
        )
        if unpaid == months:
            out.append((r["case_id"], r["for_month"]))
    return out


async def escalate_unpaid(
    conn: asyncpg.Connection, payroll_id: int, months: int, at: datetime
) -> list[tuple[EscalationIn, NotificationIn, CaseEvent]]:
    """An escalation to the district (an `escalations` row, kind `payroll_unpaid`) for each case unpaid `months`
    months in a row, with the district's notice and the case's log entry; each once."""
    out = []
    for case_id, month in await unpaid_in_a_row(conn, payroll_id, months):
        key = f"payroll-unpaid-{case_id}-{month:%Y-%m}"
        since = add_months(month, 1 - months)
        body = f"案件 {case_id} 的保障金自{since:%Y年%m月}起连续 {months} 个月未发放成功，请督促乡镇（街道）核实处理"
        out.append(
            (
                EscalationIn(
                    case_id=case_id,
                    escalation_key=key,
                    kind="payroll_unpaid",
                    deadline=add_months(month, 1),
                    at=at,
                ),
                NotificationIn(
                    idempotency_key=key,
                    case_id=case_id,
                    audience="role:district_officer@341503",
                    kind="payroll-unpaid",
                    subject="保障金连续未发放",
                    body=body,
                ),
                CaseEvent(
                    case_id=case_id,
                    event_key=key,
                    kind="payroll_unpaid",
                    actor=None,
                    actor_role=None,
                    payload={"summary": body},
                    occurred_at=at,
                ),
            )
        )
    return out


async def township_of(conn: asyncpg.Connection, payroll_id: int) -> str:
    return await conn.fetchval("select township_code from payrolls where id = $1", payroll_id)


async def resolve_tasks(conn: asyncpg.Connection, case_id: str, by: str) -> int:
    """The account of the case was set or changed: its open payment tasks are resolved (paid in the next
    supplementary run); how many."""
    return int(
        (
            await conn.execute(
                "update payroll_tasks set resolved_at = now(), resolved_by = $2 where case_id = $1 "
                "and resolved_at is null",
                case_id,
                by,
            )
        ).split()[-1]
    )
