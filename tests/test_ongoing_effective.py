"""An ongoing review's outcome takes effect when it is decided, not when the register is written: a stop or an
adjustment decided at 23:55 Beijing on a month's last day whose write is retried past midnight still belongs to
that month (`recipients.stopped_at`, `ongoing_reviews.reviewed_at`), so the payroll (db/payroll_due_repo.py) does
not pay a stopped household the next month, nor the old amount a month longer."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateStage
from temporalio.service import RPCError, RPCStatusCode

from db import recipients_repo
from db.payroll_due_repo import due
from schemas.supervision import OngoingApplied, SupervisionNames
from tests.support.clock import SkippingEnvironment, beijing, minute
from tests.support.factories import actor
from tests.support.supervision import seed_case
from tests.test_ongoing_duties import SHENPI2, SHIPO, decide, propose, start_review, until_due

# The register's writes of reviews fail while `held_writes` has a row: the activity applying the decision is
# retried, as after an outage of the database, until the test lets it through.
HOLD = """
create table held_writes (since text);
create function hold_review_writes() returns trigger language plpgsql as $$
begin
    if exists (select from held_writes) then
        raise exception 'the database is out (test)';
    end if;
    return new;
end $$;
create trigger hold_review_writes before insert on ongoing_reviews
    for each row execute function hold_review_writes();
insert into held_writes values ('2026-03-31 23:55');
"""

DECIDED = beijing(2026, 3, 31, 23, 55)


async def due_months(pool: asyncpg.Pool, case_id: str, month: date) -> list[tuple]:
    """(month, amount in fen) due to the household on a payroll of `month` (no payroll drafted before)."""
    rows = await pool.fetch(f"select * from ({due('false', this_month=True)}) d where d.case_id = $2", month, case_id)
    return [(r["for_month"], r["amount_fen"]) for r in rows]


async def pending_attempts(handle: WorkflowHandle) -> int:
    """The attempt of the activity the workflow waits on (0: none pending)."""
    d = await handle.describe()
    return max((a.attempt for a in d.raw_description.pending_activities), default=0)


@pytest.mark.start_at(beijing(2026, 3, 20, 9, 30))
@pytest.mark.parametrize(
    ("outcome", "amount", "march", "april"),
    [
        ("stop", None, [(date(2026, 3, 1), 90000)], []),
        ("adjust", "800", [(date(2026, 3, 1), 90000)], [(date(2026, 4, 1), 80000)]),
    ],
)
async def test_a_decision_at_2355_written_after_midnight_takes_effect_in_its_own_month(
    review_env: SkippingEnvironment,
    pool: asyncpg.Pool,
    outcome: str,
    amount: str | None,
    march: list[tuple],
    april: list[tuple],
) -> None:
    await seed_case(pool, "OEF-1", SHIPO, beijing(2026, 1, 12, 10, 0), amount_fen=90000)
    h = await start_review(review_env, "OEF-1", date(2026, 3, 31), "900")
    await until_due(review_env, h, 1, date(2026, 3, 31))
    reasons = "家庭成员就业，人均收入已超过保障标准" if outcome == "stop" else "子女就业，收入增加"
    await h.execute_update(SupervisionNames.PROPOSE_REVIEW, propose(actor("shipo_jingban"), outcome, amount, reasons))

    await review_env.skip_to(DECIDED)
    await pool.execute(HOLD)
    update = await h.start_update(
        SupervisionNames.DECIDE_REVIEW, decide(SHENPI2, opinion="同意"), wait_for_stage=WorkflowUpdateStage.ACCEPTED
    )
    for _ in range(200):  # the decision is taken; its write fails and is retried
        if await pending_attempts(h) >= 2:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the write of the decision was not retried")
    await review_env.sleep(timedelta(minutes=10))  # past midnight: 1 April
    assert await review_env.get_current_time() > beijing(2026, 4, 1)
    assert await pool.fetchval("select count(*) from ongoing_reviews") == 0  # not written before midnight

    await pool.execute("delete from held_writes")
    await review_env.sleep(timedelta(minutes=1))  # the next attempt writes it, on 1 April
    try:
        await update.result()
    except RPCError as exc:  # the time-skipping server may lose the answer of an update whose run continued as new
        assert exc.status is RPCStatusCode.NOT_FOUND
    for _ in range(200):
        row = await pool.fetchrow(
            "select o.reviewed_at, o.outcome, r.status, r.stopped_at, r.monthly_amount_fen from ongoing_reviews o "
            "join recipients r on r.case_id = o.case_id where o.case_id = 'OEF-1'"
        )
        if row is not None:
            break
        await asyncio.sleep(0.05)
    assert row is not None, "the decision was never written"
    assert minute(row["reviewed_at"]) == DECIDED
    if outcome == "stop":
        assert (row["status"], row["stopped_at"]) == ("stopped", row["reviewed_at"])
        assert minute(row["stopped_at"]) == DECIDED
    else:
        assert (row["status"], row["stopped_at"], row["monthly_amount_fen"]) == ("active", None, 80000)
    assert await due_months(pool, "OEF-1", date(2026, 3, 1)) == march
    assert await due_months(pool, "OEF-1", date(2026, 4, 1)) == april
    notice = await pool.fetchval(
        "select body from notifications where case_id = 'OEF-1' and kind = $1", f"ongoing-{outcome}"
    )
    what = "停发" if outcome == "stop" else "调整为每月 800.00 元"
    appeal = "如有异议，可依法申请行政复议或提起行政诉讼。"
    assert notice == f"经复核，您家的最低生活保障金自2026年04月起{what}。理由：{reasons}。{appeal}"


async def test_a_lost_answer_is_found_applied_by_the_write_not_by_the_decisions_time(pool: asyncpg.Pool) -> None:
    """The web app asks whether a decision whose answer was lost was applied (`review_decided`): written in the
    last minute, though its time is the decision's in the workflow's clock (a time-skipping server's, months
    away from the database's)."""
    await seed_case(pool, "OEF-2", SHIPO, beijing(2026, 1, 12, 10, 0), amount_fen=90000)
    applied = OngoingApplied(
        review_key="OEF-2-1",
        case_id="OEF-2",
        due_on=date(2026, 3, 31),
        finding=propose(actor("shipo_jingban"), "stop", None, "家庭成员就业，人均收入已超过保障标准"),
        old_amount=Decimal("900"),
        decision=decide(SHENPI2, opinion="同意"),
        level="township",
        decided_at=DECIDED,
    )
    async with pool.acquire() as conn:
        await recipients_repo.apply_review(conn, applied)
    stopped = await pool.fetchrow("select status, stopped_at from recipients where case_id = 'OEF-2'")
    assert (stopped["status"], stopped["stopped_at"]) == ("stopped", DECIDED)
    assert await pool.fetchval("select reviewed_at from ongoing_reviews where review_key = 'OEF-2-1'") == DECIDED
    assert await recipients_repo.review_decided(pool, "OEF-2", "shipo_shenpi2") is True
    assert await recipients_repo.review_decided(pool, "OEF-2", "shipo_jingban") is False
