"""The review workflow under the time-skipping server, with a real worker and embedded PostgreSQL.

Each test starts at a stated Beijing instant; its dates are counted with the calendar and written out."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from db.calendar_repo import load_calendar
from rules.stages import Action
from schemas.review import Decision, RefusalDelivered
from tests.support.clock import SkippingEnvironment, beijing, midnight_after, minute, on_day
from tests.support.factories import actor
from tests.support.review import (
    ENROLLED,
    act,
    events,
    eventually_state,
    investigate,
    refused,
    start,
    state,
    until_stage,
)
from tests.support.supervision import seed_case


@pytest.mark.start_at(beijing(2026, 12, 24, 10, 0))  # the notice runs into 2027, and so does the first payment
async def test_happy_path_to_enrolment(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    h = await start(review_env, "HAPPY-1")
    s = await until_stage(h, "investigation")
    async with pool.acquire() as conn:
        deadline = (await load_calendar(conn)).add_working_days(date(2026, 12, 24), 20)
    # 20 working days run into 2027, a year without a holiday notice yet: provisional, but 2027-01-01 (元旦) is off
    # by the law itself, so the 20th working day is 01-22, not 01-21
    assert (deadline.date, deadline.provisional) == (date(2027, 1, 22), True)
    assert (s.clock.accepted_on, s.clock.deadline, s.clock.provisional) == (date(2026, 12, 24), deadline.date, True)
    assert (s.policy_version, s.clock.limit_working_days) == (1, 20)
    await investigate(h)
    s = await state(h)
    # rural dibao 722/person; verified income 600 for 3 people -> 200 per head -> (722-200)*3
    assert s.proposed_amount == Decimal("1566.00")
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    # 7 calendar days of public notice after the decision on 12-24: the last is 12-31, it ends at 00:00 on 01-01
    notice_ends = midnight_after(date(2026, 12, 31))
    assert notice_ends == beijing(2027, 1, 1)
    s = await until_stage(h, "public_notice")
    assert (s.stage, s.notice_ends_at) == ("public_notice", notice_ends)
    outcome = await h.result()  # the server skips to the notice's end
    assert (outcome.stage, outcome.monthly_amount, outcome.first_payment_month) == (
        "enrolled",
        Decimal("1566.00"),
        date(2027, 1, 1),  # the month after the decision's
    )
    timeline = (await state(h)).timeline
    assert [e.kind for e in timeline][-3:] == ["decision", "notice_started", "enrolled"]
    decided, started, enrolled = timeline[-3:]
    assert on_day(decided.at) == date(2026, 12, 24) and started.payload["ends_at"] == notice_ends.isoformat()
    assert minute(enrolled.at) == notice_ends and enrolled.payload["first_payment_month"] == "2027-01-01"
    rec = await pool.fetchrow("select * from recipients where case_id = 'HAPPY-1'")
    assert (rec["monthly_amount_fen"], rec["people"], rec["category"]) == (156600, 3, "B")
    assert (rec["first_payment_month"], rec["decided_at"]) == (date(2027, 1, 1), decided.at)
    kinds = await events(pool, "HAPPY-1")
    assert kinds == ENROLLED
    case = await pool.fetchrow("select stage, status, closed_at, deadline from cases where case_id = 'HAPPY-1'")
    assert (case["stage"], case["status"], case["closed_at"], case["deadline"]) == (
        "enrolled",
        "enrolled",
        enrolled.at,
        deadline.date,
    )
    note = await pool.fetchrow("select * from notifications where case_id = 'HAPPY-1' and kind = 'approval'")
    assert (note["audience"], note["body"]) == (
        "applicant",
        "您的最低生活保障申请已批准，每月 1566.00 元，自 2027年01月 起发放。",
    )


@pytest.mark.start_at(beijing(2026, 12, 24, 10, 0))
async def test_an_enrolment_held_as_a_duplicate_tells_the_applicant_so(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """A member entered the register in another household while the notice ran (enrolled at the same moment, or
    accepted before acceptance checked): the household is entered stopped, and the applicant is told it is not paid,
    not that it is."""
    h = await start(review_env, "HELD-1")
    await until_stage(h, "investigation")
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await until_stage(h, "public_notice")
    member = await pool.fetchval(
        "select m.id_number from cases c join household_members m on m.household_id = c.household_id "
        "where c.case_id = 'HELD-1' and not m.is_applicant order by m.id limit 1"
    )
    await seed_case(pool, "OTHER-1", "341503106", beijing(2026, 11, 2, 9))
    await pool.execute(
        "insert into recipient_people (case_id, id_number, assistance_type) values ('OTHER-1', $1, 'dibao')", member
    )
    outcome = await h.result()
    assert (outcome.stage, outcome.monthly_amount) == ("enrolled", Decimal("1566.00"))
    why = "家庭成员已是在册救助对象（案件 OTHER-1），同一人不能重复享受最低生活保障，本户暂不发放，请区民政局核实"
    rec = await pool.fetchrow("select status, stop_reasons from recipients where case_id = 'HELD-1'")
    assert tuple(rec) == ("stopped", why)
    enrolled = (await state(h)).timeline[-1]
    assert enrolled.summary == f"公示无异议，纳入保障：每月 1566.00 元，自 2027年01月 起发放；{why}"
    note = await pool.fetchrow(
        "select audience, body from notifications where case_id = 'HELD-1' and kind = 'approval'"
    )
    assert tuple(note) == (
        "applicant",
        "您的最低生活保障申请经审核确认符合条件，但家庭成员已在其他家庭享受最低生活保障，同一人不能重复享受，"
        "本户暂不发放，待区民政局核实后另行告知。如有异议，可依法申请行政复议或提起行政诉讼。",
    )


@pytest.mark.start_at(beijing(2026, 9, 30, 16, 0))  # refused on the eve of National Day
async def test_refusal_with_reasons(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    h = await start(review_env, "REFUSE-1")
    assert await investigate(h) == date(2026, 9, 30)
    err = await refused(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=False, reasons=" "))
    assert (err.type, err.message) == ("incomplete", "不予批准必须书面写明理由")
    await act(
        h,
        Action.DECISION,
        Decision(actor=actor("shipo_shenpi"), approve=False, reasons="家庭人均收入高于当地低保标准"),
    )
    # one decision per round: a second one (a double click, the other approver) is refused
    again = Decision(actor=actor("shipo_shenpi"), approve=True, category="B")
    err = await refused(h, Action.DECISION, again)
    assert err.type == "already_decided"
    # the written notice within 3 working days: 10-01..07 off, then 10-08, 10-09 and the make-up Saturday 10-10
    async with pool.acquire() as conn:
        deliver_by = (await load_calendar(conn)).add_working_days(date(2026, 9, 30), 3).date
    assert deliver_by == date(2026, 10, 10)
    await eventually_state(h, lambda s: s.refusal_deliver_by == deliver_by, "the refusal notice's delivery date")
    # no delivery recorded by the close of 10-10: the approver is reminded and the district told, once
    await review_env.skip_to(midnight_after(deliver_by) + timedelta(hours=1))
    reminders: list = []
    for _ in range(100):  # the reminders' activities run just after the timer fires
        reminders = await pool.fetch(
            "select kind, audience from notifications where case_id = 'REFUSE-1' and kind like 'refusal-delivery%' "
            "order by kind"
        )
        if len(reminders) == 2:
            break
        await asyncio.sleep(0.05)
    assert [tuple(r) for r in reminders] == [
        ("refusal-delivery-overdue", "role:district_officer@341503"),
        ("refusal-delivery-reminder", "role:township_approver@341503106"),
    ]
    delivered_on = date(2026, 10, 11)
    delivery = RefusalDelivered(
        actor=actor("shipo_jingban"), method="in_person", delivered_on=delivered_on, recipient="申请人本人"
    )
    err = await refused(h, Action.REFUSAL_DELIVERED, delivery.model_copy(update={"delivered_on": date(2026, 9, 29)}))
    assert (err.type, err.message) == ("invalid", "送达日期应在决定之后、今天之前")
    await act(h, Action.REFUSAL_DELIVERED, delivery)  # the case's file is complete: the workflow closes
    outcome = await h.result()
    assert (outcome.stage, outcome.monthly_amount, outcome.first_payment_month) == ("refused", None, None)
    kinds = [e.kind for e in (await state(h)).timeline]
    assert kinds[-3:] == ["refused", "refusal_delivery_overdue", "refusal_delivered"]
    assert (await state(h)).refusal_delivery.delivered_on == delivered_on
    [refusal] = [e for e in (await state(h)).timeline if e.kind == "refused"]
    assert (on_day(refusal.at), refusal.payload["deliver_by"]) == (date(2026, 9, 30), "2026-10-10")
    note = await pool.fetchrow("select * from notifications where case_id = 'REFUSE-1' and kind = 'refusal'")
    assert (note["audience"], note["deliver_by"]) == ("applicant", deliver_by)
    assert note["body"] == (
        "经审核，您的最低生活保障申请不予批准。理由：家庭人均收入高于当地低保标准。如有异议，可依法申请行政复议或提起行政诉讼。"
    )
    assert await pool.fetchval("select count(*) from recipients where case_id = 'REFUSE-1'") == 0


async def test_second_start_with_same_id_is_ignored(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    first = await start(review_env, "TWICE-1")
    await until_stage(first, "investigation")
    second = await start(review_env, "TWICE-1")
    assert second.result_run_id == first.result_run_id
    assert await pool.fetchval("select count(*) from cases where case_id = 'TWICE-1'") == 1
    assert await pool.fetchval("select count(*) from households") == 1
