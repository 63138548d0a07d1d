"""Every deadline of the system, started at the instants where dates go wrong: late at night, the eve of
National Day, the Friday before a make-up Saturday, Spring Festival's eve, a minute before a year without
holiday data, and 16:30 UTC (00:30 the next day in Beijing).

Each expected date is computed with the calendar the workflows use (builtin notices plus imported ones);
each timer is skipped to a minute before and a minute after its instant: nothing fires early, it fires on
time, at 08:30 for reminders and at 00:00 Beijing after the last day for escalations.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest

from db.calendar_repo import load_calendar
from rules.calendar import WorkCalendar
from rules.frontdoor_actions import RequestAction
from rules.stages import Action
from schemas.frontdoor import (
    ComplaintNames,
    ComplaintState,
    IntakeNames,
    IntakeState,
    ReferralNames,
    ReferralState,
    RequestKind,
    Triage,
    complaint_workflow_id,
    referral_workflow_id,
)
from schemas.review import Decision, RefusalDelivered
from tests.support.actions import update_of
from tests.support.clock import (
    BEIJING,
    SWEEP,
    SkippingEnvironment,
    beijing,
    midnight_after,
    minute,
    on_day,
    on_time,
    reminder_instant,
)
from tests.support.emergency import VILLAGE, fund, pay, start_emergency
from tests.support.emergency import state as emergency_state
from tests.support.factories import actor
from tests.support.frontdoor import submit
from tests.support.review import act, eventually_state, start, state, steps_to_decision, until_stage
from tests.support.workflows import query_until

sweep = pytest.mark.parametrize("start_at", SWEEP)


async def calendar(pool: asyncpg.Pool) -> WorkCalendar:
    async with pool.acquire() as conn:
        return await load_calendar(conn)


def day_of(start_at: datetime) -> date:
    return on_day(start_at)


# The 20-working-day deadline of a case accepted at each instant, counted by hand on the State Council's 2026
# notice (a check on the calendar itself). The two cases whose deadline falls in 2027 are counted by the
# calendar only: 2027 has no notice yet, so their deadlines are provisional and will move when it comes.
DEADLINES = {
    "normal-day-2330": date(2026, 12, 23),
    "eve-of-national-day": date(2026, 11, 3),  # 10-01..07 off, Saturday 10-10 worked
    "friday-before-makeup-saturday": date(2026, 3, 19),  # Saturday 02-14 and 02-28 worked, 02-15..23 off
    "spring-festival-eve": date(2026, 3, 20),
}


@sweep
async def test_review_clock(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, start_at: datetime, request: pytest.FixtureRequest
) -> None:
    h = await start(review_env, "SWEEP-CLOCK")
    s = await until_stage(h, "investigation")
    cal = await calendar(pool)
    accepted = day_of(start_at)
    deadline = cal.add_working_days(accepted, 20)
    verification_due = cal.add_working_days(accepted, 10).date
    assert s.clock.accepted_on == accepted
    assert (s.clock.deadline, s.clock.provisional) == (deadline.date, deadline.provisional)
    assert deadline.provisional == (deadline.date.year == 2027)
    assert deadline.date == DEADLINES.get(request.node.callspec.id, deadline.date)
    row = await pool.fetchrow("select accepted_at, deadline from cases where case_id = 'SWEEP-CLOCK'")
    assert (on_day(row["accepted_at"]), row["deadline"]) == (accepted, deadline.date)

    timers = sorted(
        [
            (midnight_after(verification_due), "verification_overdue"),
            (reminder_instant(cal, deadline.date, 5), "reminder-5"),
            (reminder_instant(cal, deadline.date, 2), "reminder-2"),
            (midnight_after(deadline.date), "overdue"),
        ]
    )
    for at, what in timers:

        async def fired(what=what):
            s = await state(h)
            if what.startswith("reminder"):
                return next(
                    (e for e in s.timeline if e.kind == "reminder" and e.payload["days_left"] == int(what[-1])), None
                )
            return next((e for e in s.escalations if e.kind == what), None)

        event = await on_time(review_env, at, fired, what)
        assert minute(event.at) == at, what
    s = await state(h)
    assert [(e.kind, e.deadline) for e in s.escalations] == [
        ("verification_overdue", verification_due),
        ("overdue", deadline.date),
    ]
    assert s.clock.overdue and s.clock.reminders_sent == [5, 2]
    await h.terminate("test over")


async def decided(env: SkippingEnvironment, case_id: str, decision: Decision, stage: str):
    """A case accepted now and taken straight to `decision`; returns its handle, its state once in `stage`,
    and the Beijing day of the decision."""
    h = await start(env, case_id)
    s = await until_stage(h, "investigation")
    for name, arg in steps_to_decision(s.clock.accepted_on, decision):
        await act(h, name, arg)
    s = await eventually_state(h, lambda s: s.stage == stage, stage)
    return h, s, on_day(next(e.at for e in s.timeline if e.kind == "decision"))


@sweep
async def test_refusal_notice_is_due_in_three_working_days(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, start_at: datetime
) -> None:
    refusal = Decision(actor=actor("shipo_shenpi"), approve=False, reasons="家庭人均收入高于当地低保标准")
    h, s, decided_on = await decided(review_env, "SWEEP-REFUSE", refusal, "refused")
    assert decided_on == day_of(start_at)
    deliver_by = (await calendar(pool)).add_working_days(decided_on, 3).date
    await eventually_state(h, lambda s: s.refusal_deliver_by == deliver_by, "the delivery date of the notice")
    delivery = RefusalDelivered(
        actor=actor("shipo_jingban"), method="in_person", delivered_on=decided_on, recipient="申请人本人"
    )
    await act(h, Action.REFUSAL_DELIVERED, delivery)
    assert (await h.result()).stage == "refused"  # the case closes once the delivery is recorded
    [refused] = [e for e in s.timeline if e.kind == "refused"]
    assert refused.payload["deliver_by"] == str(deliver_by)
    note = await pool.fetchrow(
        "select deliver_by from notifications where case_id = 'SWEEP-REFUSE' and kind = 'refusal'"
    )
    assert note["deliver_by"] == deliver_by


@sweep
async def test_public_notice_runs_seven_days_then_enrols(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, start_at: datetime
) -> None:
    approval = Decision(actor=actor("shipo_shenpi"), approve=True, category="B")
    h, s, decided_on = await decided(review_env, "SWEEP-NOTICE", approval, "public_notice")
    assert decided_on == day_of(start_at)
    # 7 calendar days after the decision, run on to the next working day if the 7th is a day off (art. 203)
    ends = midnight_after((await calendar(pool)).end_of_period(decided_on, 7).date)
    assert s.notice_ends_at == ends

    async def enrolled():
        return (await state(h)).stage == "enrolled"

    await on_time(review_env, ends, enrolled, "enrolment")
    first_month = (decided_on.replace(day=1) + timedelta(days=32)).replace(day=1)
    outcome = await h.result()
    assert (outcome.monthly_amount, outcome.first_payment_month) == (Decimal("1566.00"), first_month)
    rec = await pool.fetchrow(
        "select first_payment_month, monthly_amount_fen from recipients where case_id = 'SWEEP-NOTICE'"
    )
    assert (rec["first_payment_month"], rec["monthly_amount_fen"]) == (first_month, 156600)


@sweep
async def test_emergency_documentation_is_chased_on_time(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, start_at: datetime
) -> None:
    await fund(pool, VILLAGE, "2000")
    h = await start_emergency(review_env, "SWEEP-AID")
    await pay(h, "shipo_cun1", "village", "800")
    s = await emergency_state(h)
    paid_on = on_day(s.payments[0].approved_at)
    assert paid_on == day_of(start_at)
    cal = await calendar(pool)
    due = cal.add_working_days(paid_on, 5).date  # papers within 5 working days of the payment
    assert s.documentation_due == due

    def logged(kind: str):
        async def probe():
            return next((e for e in (await emergency_state(h)).log if e["kind"] == kind), None)

        return probe

    reminder = await on_time(review_env, reminder_instant(cal, due, 2), logged("documentation_reminder"), "reminder")
    overdue = await on_time(review_env, midnight_after(due), logged("documentation_overdue"), "overdue")
    assert minute(datetime.fromisoformat(reminder["at"])) == reminder_instant(cal, due, 2)
    assert minute(datetime.fromisoformat(overdue["at"])) == midnight_after(due)
    assert (await emergency_state(h)).documentation_overdue
    await h.terminate("test over")


@sweep
async def test_front_door_answer_referral_and_complaint_deadlines(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, start_at: datetime
) -> None:
    received = day_of(start_at)
    cal = await calendar(pool)
    answer_due = cal.add_working_days(received, 5).date
    accept_due = cal.add_working_days(received, 3).date
    result_due = cal.add_working_days(received, 15).date

    request = await submit(review_env, "12349-20261129-SWEEP1", RequestKind.HELP, ["jobless"])
    s = await query_until(request, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    assert s.answer_due == answer_due
    await request.execute_update(update_of(RequestAction.TRIAGE), Triage(actor=actor("qu_minzheng"), needs=["jobless"]))
    referral = review_env.client.get_workflow_handle(referral_workflow_id("ZJ-20261129-SWEEP1-jobless"))
    r = await query_until(
        referral, ReferralNames.STATE, ReferralState, lambda s: None not in (s.accept_due, s.result_due)
    )
    assert (r.accept_due, r.result_due) == (accept_due, result_due)

    complaint_request = await submit(
        review_env, "12349-20261129-SWEEP2", RequestKind.COMPLAINT, [], about_person="shipo_diaocha"
    )
    complaint = review_env.client.get_workflow_handle(complaint_workflow_id("TS-20261129-SWEEP2"))
    c = await query_until(
        complaint, ComplaintNames.STATE, ComplaintState, lambda s: None not in (s.accept_due, s.conclude_due)
    )
    # complaints count calendar days (petition-style limits): accepted within 15, concluded within 60, each
    # run on to the next working day where the last day is a day off (Civil Code art. 203)
    assert (c.accept_due, c.conclude_due) == (
        cal.end_of_period(received, 15).date,
        cal.end_of_period(received, 60).date,
    )

    def referral_escalated(what: str):
        async def probe():
            return what in (await referral.query(ReferralNames.STATE, result_type=ReferralState)).escalations

        return probe

    async def answer_escalated():
        s = await request.query(IntakeNames.STATE, result_type=IntakeState)
        return any(e["kind"] == "escalated_answer" for e in s.log)

    async def complaint_escalated():
        return "accept" in (await complaint.query(ComplaintNames.STATE, result_type=ComplaintState)).escalations

    deadlines = sorted(
        [
            (midnight_after(accept_due), "referral not accepted", referral_escalated("accept")),
            (midnight_after(answer_due), "request not answered", answer_escalated),
            (midnight_after(cal.end_of_period(received, 15).date), "complaint not accepted", complaint_escalated),
            (midnight_after(result_due), "referral without result", referral_escalated("result")),
        ],
        key=lambda d: d[0],
    )
    for at, what, probe in deadlines:
        await on_time(review_env, at, probe, what)
    notes = [r["kind"] for r in await pool.fetch("select kind from notifications where audience like 'role:district%'")]
    assert sorted(notes) == [
        "complaint-escalated_accept",
        "complaint-registered",  # it names a member of staff: announced to the district, not the unit's approvers
        "referral-escalated_accept",
        "referral-escalated_result",
        "request-escalated_answer",
    ]
    for h in (request, complaint_request):
        await h.terminate("test over")


def test_the_sweep_covers_the_instants_the_issue_names() -> None:
    """The instants themselves, in Beijing time: a change that moved them would no longer sweep these days."""
    at = {p.id: p.values[0].astimezone(BEIJING) for p in SWEEP}
    cal = WorkCalendar()
    normal = at["normal-day-2330"]
    assert (normal.hour, normal.minute) == (23, 30) and cal.is_workday(normal.date())
    assert at["eve-of-national-day"].date() == date(2026, 9, 30) and not cal.is_workday(date(2026, 10, 1))
    friday = at["friday-before-makeup-saturday"].date()
    assert friday.weekday() == 4 and cal.is_workday(friday + timedelta(days=1))
    assert at["spring-festival-eve"].date() == date(2026, 2, 16)  # 除夕, inside the holiday
    assert at["new-years-eve-2359"] == beijing(2026, 12, 31, 23, 59)
    assert cal.is_provisional(2027) and not cal.is_provisional(2026)  # rolls into a year without data
    assert at["utc-1630"] == beijing(2026, 12, 4, 0, 30) and SWEEP[-1].values[0].utcoffset() == timedelta(0)
