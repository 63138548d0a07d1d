"""Helpers for payroll tests: a recipient with a household, its applicant and (unless told otherwise) a payment
account, entered in the register by the enrolment itself (`recipients_repo.enrol`, which counts the arrears);
and a township's payroll run to where the township can check it."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal

import asyncpg
from temporalio.client import Client, WorkflowHandle

from db import accounts_repo, recipients_repo
from infra.config import TASK_QUEUE
from rules.payroll import payroll_workflow_id
from schemas.bank import AccountChange, PaymentAccount
from schemas.payroll import PayrollNames, PayrollStart, PayrollState
from schemas.review import AssistanceType
from schemas.review_records import Enrolment
from tests.support.clients import SHIPO, insert_case
from tests.support.clock import beijing
from tests.support.factories import resident_id

# Luhn-valid 16-digit card numbers (the last digit is the check digit), one per test recipient.
CARDS = ["4111111111111111", "5500000000000004", "6011000000000004", "3530111333300000", "6222021234567890128"]


# The two enrolment timelines most payroll tests start from (pass as `**ENROLLED_IN_OCTOBER`): accepted on 10-08,
# decided on 10-28 within the promised deadline (11-05), paid from November; accepted on 11-02, decided on 11-25,
# paid from December.
ENROLLED_IN_OCTOBER = dict(
    accepted=beijing(2026, 10, 8),
    deadline=date(2026, 11, 5),
    decided=beijing(2026, 10, 28),
    first_month=date(2026, 11, 1),
)
ENROLLED_IN_NOVEMBER = dict(accepted=beijing(2026, 11, 2), decided=beijing(2026, 11, 25), first_month=date(2026, 12, 1))
# Decided in January 2027, so first paid for February, and late (accepted 2026-11-20, promised by 12-18): with
# December and January as arrears.
LATE_FOR_FEBRUARY = dict(
    accepted=beijing(2026, 11, 20, 9),
    deadline=date(2026, 12, 18),
    decided=beijing(2027, 1, 28, 16),
    first_month=date(2027, 2, 1),
)


async def seed_recipient(
    pool: asyncpg.Pool,
    case_id: str,
    *,
    name: str,
    accepted: datetime,
    decided: datetime,
    first_month: date,
    amount: str = "650.00",
    township: str = SHIPO,
    deadline: date | None = None,
    card: str | None = "4111111111111111",
    people: int = 1,
    kind: str = "dibao",
) -> str:
    """A case accepted at `accepted` (its promised deadline `deadline`), decided at `decided` and enrolled with
    payments from `first_month`; returns the applicant's ID number."""
    id_number = resident_id(date(1960, 5, 1))
    household_id = await pool.fetchval(
        "insert into households (township_code, address, hukou_type) values ($1, '测试地址', 'rural') returning id",
        township,
    )
    await pool.execute(
        "insert into household_members (household_id, name, id_number, relation, is_applicant) "
        "values ($1, $2, $3, 'self', true)",
        household_id,
        name,
        id_number,
    )
    await insert_case(
        pool,
        case_id,
        township,
        name=name,
        stage="enrolled",
        status="closed",
        kind=kind,
        accepted_at=accepted,
        decided_at=decided,
        deadline=deadline or (accepted + timedelta(days=28)).date(),
    )
    await pool.execute("update cases set household_id = $2 where case_id = $1", case_id, household_id)
    async with pool.acquire() as conn:
        await recipients_repo.enrol(
            conn,
            Enrolment(
                case_id=case_id,
                assistance_type=AssistanceType(kind),
                township_code=township,
                category="B",
                monthly_amount=Decimal(amount),
                people=people,
                first_payment_month=first_month,
                decided_at=decided,
            ),
        )
        if card:
            account = PaymentAccount(kind="bank_card", bank_name="中国农业银行", account_number=card, holder_name=name)
            change = AccountChange(case_id=case_id, account=account, changed_by="shipo_jingban", reason="纳入时登记")
            await accounts_repo.set_account(conn, change)
    return id_number


async def seed_late_decisions(pool: asyncpg.Pool, names: dict[str, str]) -> None:
    """Recipients (case id -> name, a card each) accepted on 2026-10-08, promised by 11-05 and decided late on
    10-28 (Beijing), first paid for November."""
    for (case_id, name), card in zip(names.items(), CARDS, strict=False):
        await seed_recipient(
            pool,
            case_id,
            name=name,
            accepted=beijing(2026, 10, 8),
            deadline=date(2026, 11, 5),
            decided=beijing(2026, 10, 28),
            first_month=date(2026, 11, 1),
            card=card,
        )


async def start_payroll(client: Client, month: str, township: str = SHIPO, seq: int = 0) -> WorkflowHandle:
    """The township's payroll of `month`, once drafted."""
    h = await client.start_workflow(
        PayrollNames.WORKFLOW,
        PayrollStart(township_code=township, month=month, seq=seq),
        id=payroll_workflow_id(township, month, seq),
        task_queue=TASK_QUEUE,
    )
    await drafted(h)
    return h


async def drafted(h: WorkflowHandle) -> PayrollState:
    for _ in range(200):
        s = await h.query(PayrollNames.STATE, result_type=PayrollState)
        if s.status != "drafting":
            return s
        await asyncio.sleep(0.05)
    raise AssertionError("payroll not drafted")


LINE = "l.case_id, l.for_month, l.amount_fen, l.note, l.account_masked"


async def lines(pool: asyncpg.Pool, workflow_id: str, columns: str = LINE) -> list[tuple]:
    """(case id, for month, amount in fen, note, masked account) of the payroll's lines, by case and month; or
    other `columns` of the line `l` and its bank result `x`."""
    rows = await pool.fetch(
        f"select {columns} from payroll_lines l join payrolls p on p.id = l.payroll_id "
        "left join payroll_results x on x.line_id = l.id where p.workflow_id = $1 order by l.case_id, l.for_month",
        workflow_id,
    )
    return [tuple(r) for r in rows]
