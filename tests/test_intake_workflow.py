"""The 12349 workflows under time skipping: one request split into a review case and two referrals,
bureaus answering, deadlines missed and escalated, a complaint reaching the case it is about.

Each test starts at a stated Beijing instant; its deadlines are counted with the calendar (and written out
by hand), and each escalation is skipped to a minute before and a minute after 00:00 Beijing after its day.
"""

from __future__ import annotations

from datetime import date

import asyncpg
import pytest

from db.calendar_repo import load_calendar
from rules.calendar import WorkCalendar
from rules.frontdoor_actions import ComplaintAction, ReferralAction, RequestAction
from schemas.frontdoor import (
    ComplaintAccept,
    ComplaintConclude,
    ComplaintNames,
    ComplaintState,
    IntakeNames,
    IntakeState,
    LinkCase,
    ReferralAccept,
    ReferralNames,
    ReferralResult,
    ReferralState,
    RequestKind,
    Triage,
    complaint_workflow_id,
    referral_workflow_id,
)
from schemas.review import CaseState, ReviewNames
from schemas.staff import Bureau
from tests.support.actions import update_of
from tests.support.clock import SkippingEnvironment, beijing, midnight_after, on_time
from tests.support.factories import actor
from tests.support.frontdoor import bureau_staff, submit
from tests.support.review import start, until_stage
from tests.support.workflows import eventually, query_until, refused


async def calendar(pool: asyncpg.Pool) -> WorkCalendar:
    async with pool.acquire() as conn:
        return await load_calendar(conn)


@pytest.mark.start_at(beijing(2026, 11, 27, 15, 0))  # a Friday: every deadline runs over a weekend
async def test_one_request_split_answered_and_closed(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    cal = await calendar(pool)
    received = date(2026, 11, 27)
    h = await submit(review_env, "12349-20261129-A00001", RequestKind.HELP, ["low_income", "medical_costs"])
    s = await query_until(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    # answered within 5 working days: 11-30, 12-01, 12-02, 12-03, 12-04
    assert s.answer_due == cal.add_working_days(received, 5).date == date(2026, 12, 4)
    err = await refused(
        h.execute_update(update_of(RequestAction.TRIAGE), Triage(actor=actor("shunhe_jingban"), needs=["low_income"]))
    )
    assert err.type == "out_of_jurisdiction"
    state = await h.execute_update(
        update_of(RequestAction.TRIAGE),
        Triage(actor=actor("shipo_jingban"), needs=["low_income", "medical_costs", "school_costs"]),
        result_type=IntakeState,
    )
    assert [n.route for n in state.needs] == ["review", "referral", "referral"]
    medical = review_env.client.get_workflow_handle(referral_workflow_id("ZJ-20261129-A00001-medical_costs"))
    school = review_env.client.get_workflow_handle(referral_workflow_id("ZJ-20261129-A00001-school_costs"))
    # accepted within 3 working days (12-02), answered within 15 (12-18)
    accept_due, result_due = cal.add_working_days(received, 3).date, cal.add_working_days(received, 15).date
    assert (accept_due, result_due) == (date(2026, 12, 2), date(2026, 12, 18))
    for handle in (medical, school):
        # the bureau may act once the referral is delivered (its limits are set before: a refusal then is
        # `wrong_stage`, "still being delivered")
        r = await query_until(
            handle, ReferralNames.STATE, ReferralState, lambda s: any(e["kind"] == "delivered" for e in s.log)
        )
        assert (r.accept_due, r.result_due, r.status, r.escalations) == (accept_due, result_due, "delivered", [])
    err = await refused(
        medical.execute_update(update_of(ReferralAction.ACCEPT), ReferralAccept(actor=bureau_staff(Bureau.EDUCATION)))
    )
    assert err.type == "wrong_bureau"
    err = await refused(
        medical.execute_update(
            update_of(ReferralAction.RESULT),
            ReferralResult(actor=bureau_staff(Bureau.MEDICAL_INSURANCE), outcome="helped", help_given="医疗救助"),
        )
    )
    assert err.type == "wrong_stage"
    for handle, bureau, text in (
        (medical, Bureau.MEDICAL_INSURANCE, "住院费用按政策二次报销"),
        (school, Bureau.EDUCATION, "纳入义务教育寄宿生生活补助"),
    ):
        await handle.execute_update(update_of(ReferralAction.ACCEPT), ReferralAccept(actor=bureau_staff(bureau)))
        await handle.execute_update(
            update_of(ReferralAction.RESULT),
            ReferralResult(actor=bureau_staff(bureau), outcome="helped", help_given=text, amount="1200.00"),
        )
    s = await query_until(
        h, IntakeNames.STATE, IntakeState, lambda s: sum(n.status == "answered" for n in s.needs) == 2
    )
    assert s.status == "triaged"  # the dibao need is still waiting for the township
    await h.execute_update(
        update_of(RequestAction.LINK_CASE),
        LinkCase(actor=actor("shipo_jingban"), need="low_income", case_id="341503106-20261129-abc123"),
    )
    final = await h.result()
    assert final.status == "closed" and "二次报销" in final.answer and "341503106-20261129-abc123" in final.answer
    row = await pool.fetchrow(
        "select status, answer from frontdoor_requests where request_no = '12349-20261129-A00001'"
    )
    assert row["status"] == "closed" and row["answer"] == final.answer
    refs = await pool.fetch("select bureau, status, outcome from referrals order by bureau")
    assert [tuple(r) for r in refs] == [("education", "answered", "helped"), ("medical", "answered", "helped")]
    told = await pool.fetchval("select count(*) from notifications where audience = 'phone:13905641111'")
    assert told == 2  # received, then the answer


@pytest.mark.start_at(beijing(2026, 9, 30, 10, 0))  # the eve of National Day: 10-01..07 off, Saturday 10-10 worked
async def test_bureau_missing_its_deadlines_is_escalated(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    cal = await calendar(pool)
    received = date(2026, 9, 30)
    # accept within 3 working days: 10-08, 10-09 and the make-up Saturday 10-10; answer within 5: 10-12, 10-13;
    # a result within 15: 10-14..16, 19..23, 26, 27
    accept_due, answer_due, result_due = (cal.add_working_days(received, n).date for n in (3, 5, 15))
    assert (accept_due, answer_due, result_due) == (date(2026, 10, 10), date(2026, 10, 13), date(2026, 10, 27))
    h = await submit(review_env, "12349-20261129-A00002", RequestKind.HELP, ["jobless"])
    s = await query_until(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    assert s.answer_due == answer_due
    await h.execute_update(update_of(RequestAction.TRIAGE), Triage(actor=actor("qu_minzheng"), needs=["jobless"]))
    ref = review_env.client.get_workflow_handle(referral_workflow_id("ZJ-20261129-A00002-jobless"))
    r = await query_until(ref, ReferralNames.STATE, ReferralState, lambda s: None not in (s.accept_due, s.result_due))
    assert (r.accept_due, r.result_due) == (accept_due, result_due)

    async def referral_escalations() -> list[str]:
        return (await ref.query(ReferralNames.STATE, result_type=ReferralState)).escalations

    async def answer_escalated() -> dict | None:
        log = (await h.query(IntakeNames.STATE, result_type=IntakeState)).log
        return next((e for e in log if e["kind"] == "escalated_answer"), None)

    async def not_accepted() -> bool:
        return await referral_escalations() == ["accept"]

    async def no_result() -> bool:
        return await referral_escalations() == ["accept", "result"]

    assert await on_time(review_env, midnight_after(accept_due), not_accepted, "referral not accepted")
    assert midnight_after(accept_due) == beijing(2026, 10, 11)
    escalated = await on_time(review_env, midnight_after(answer_due), answer_escalated, "request not answered")
    assert escalated["payload"] == {"due": "2026-10-13"}
    assert await referral_escalations() == ["accept"]
    assert await on_time(review_env, midnight_after(result_due), no_result, "referral without result")
    assert midnight_after(result_due) == beijing(2026, 10, 28)

    s = await ref.query(ReferralNames.STATE, result_type=ReferralState)
    assert s.status == "delivered"
    row = await pool.fetchrow("select escalated, status, accept_due, result_due from referrals")
    assert tuple(row) == (True, "delivered", accept_due, result_due)
    assert await pool.fetchval("select answer_due from frontdoor_requests") == answer_due

    async def three_notes() -> list | None:
        rows = await pool.fetch("select audience, kind from notifications where audience like 'role:%' order by id")
        return rows if len(rows) == 3 else None

    notes = await eventually(three_notes, "the district told three times")
    assert [(n["audience"], n["kind"]) for n in notes] == [
        ("role:district_officer@341503", "referral-escalated_accept"),
        ("role:district_officer@341503", "request-escalated_answer"),
        ("role:district_officer@341503", "referral-escalated_result"),
    ]
    await h.terminate("test over")


@pytest.mark.start_at(beijing(2026, 12, 31, 23, 30))  # its 15 and 60 calendar days run into 2027
async def test_complaint_about_a_case_in_review(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    case = await start(review_env, "COMPLAINED-1")
    await until_stage(case, "investigation")
    h = await submit(
        review_env,
        "12349-20261129-A00003",
        RequestKind.COMPLAINT,
        [],
        about_case_id="COMPLAINED-1",
        about_person="shipo_diaocha",
    )
    c = review_env.client.get_workflow_handle(complaint_workflow_id("TS-20261129-A00003"))
    registered = await query_until(
        c, ComplaintNames.STATE, ComplaintState, lambda s: None not in (s.accept_due, s.conclude_due)
    )
    # accepted within 15 calendar days of 12-31, concluded within 60
    assert (registered.accept_due, registered.conclude_due) == (date(2027, 1, 15), date(2027, 3, 1))
    assert (registered.status, registered.unit_code, registered.about_case_id) == (
        "registered",
        "341503106",
        "COMPLAINED-1",
    )
    s = await query_until(case, ReviewNames.STATE, CaseState, lambda s: s.district_visit_required)
    assert "district_visit_required" in [e.kind for e in s.timeline]
    [note] = [e for e in s.timeline if e.kind == "district_visit_required"]
    assert (note.summary, note.payload) == ("本案须由区民政局入户调查", {})  # no complaint named to the handlers
    err = await refused(
        c.execute_update(update_of(ComplaintAction.ACCEPT), ComplaintAccept(actor=actor("shipo_diaocha")))
    )
    assert err.type == "recused"

    async def not_accepted() -> bool:
        return (await c.query(ComplaintNames.STATE, result_type=ComplaintState)).escalations == ["accept"]

    # not accepted within 15 days: escalated when 01-15 has closed, 00:00 Beijing on 01-16
    assert await on_time(review_env, beijing(2027, 1, 16), not_accepted, "complaint not accepted")
    assert midnight_after(registered.accept_due) == beijing(2027, 1, 16)
    await c.execute_update(update_of(ComplaintAction.ACCEPT), ComplaintAccept(actor=actor("shipo_shenpi")))
    await c.execute_update(
        update_of(ComplaintAction.CONCLUDE),
        ComplaintConclude(actor=actor("shipo_shenpi"), finding="partly", reply="已责成区民政局入户核实"),
    )
    final = await h.result()
    assert final.status == "closed" and final.answer == "已责成区民政局入户核实"
    row = await pool.fetchrow("select status, escalated, finding, accept_due, conclude_due from complaints")
    assert tuple(row) == ("concluded", True, "partly", date(2027, 1, 15), date(2027, 3, 1))
    await case.terminate("test over")


@pytest.mark.start_at(beijing(2026, 12, 4, 10, 0))
async def test_an_emergency_triaged_for_a_person_with_an_open_event_goes_on_in_it(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """One open emergency event per person: the 12349 desk's triage answers with the person's open event
    instead of registering a second one."""
    from tests.support.emergency import start_emergency
    from tests.support.factories import resident_id

    person = resident_id(date(1958, 1, 9), seq=731)
    await start_emergency(review_env, "OPEN-731", id_number=person)
    h = await submit(review_env, "12349-20261204-B00001", RequestKind.HELP, ["sudden_hardship"], id_number=person)
    await query_until(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    triage = Triage(actor=actor("shipo_jingban"), needs=["sudden_hardship"], emergency_kind="illness")
    state = await h.execute_update(update_of(RequestAction.TRIAGE), triage, result_type=IntakeState)
    [need] = state.needs
    assert (need.status, need.target_id, need.answer) == (
        "answered",
        "OPEN-731",
        "此人已有未办结的急难事件 OPEN-731，在该事件中继续救助",
    )
    assert await pool.fetchval("select array_agg(event_id order by event_id) from emergencies") == ["OPEN-731"]
    final = await h.result()
    assert final.status == "closed" and "OPEN-731" in final.answer
    from temporalio.service import RPCError, RPCStatusCode

    from schemas.emergency import emergency_workflow_id

    try:  # no second event's workflow was started
        await review_env.client.get_workflow_handle(emergency_workflow_id("JJN-20261204-B00001")).describe()
        raise AssertionError("a second emergency workflow was started")
    except RPCError as e:
        assert e.status is RPCStatusCode.NOT_FOUND
