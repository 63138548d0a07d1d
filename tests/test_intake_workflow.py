"""The 12349 workflows under time skipping: one request split into a review case and two referrals,
bureaus answering, deadlines missed and escalated, a complaint reaching the case it is about."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from temporalio.testing import WorkflowEnvironment

from schemas.frontdoor import (
    ComplaintAccept,
    ComplaintConclude,
    ComplaintNames,
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
from tests.emergency_support import refused
from tests.factories import actor
from tests.frontdoor_support import bureau_staff, eventually, submit
from tests.review_support import start, until_stage


async def test_one_request_split_answered_and_closed(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    h = await submit(review_env, "12349-20261129-A00001", RequestKind.HELP, ["low_income", "medical_costs"])
    await eventually(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    err = await refused(
        h.execute_update(IntakeNames.TRIAGE, Triage(actor=actor("shunhe_jingban"), needs=["low_income"]))
    )
    assert err.type == "out_of_jurisdiction"
    state = await h.execute_update(
        IntakeNames.TRIAGE,
        Triage(actor=actor("shipo_jingban"), needs=["low_income", "medical_costs", "school_costs"]),
        result_type=IntakeState,
    )
    assert [n.route for n in state.needs] == ["review", "referral", "referral"]
    medical = review_env.client.get_workflow_handle(referral_workflow_id("ZJ-20261129-A00001-medical_costs"))
    school = review_env.client.get_workflow_handle(referral_workflow_id("ZJ-20261129-A00001-school_costs"))
    await eventually(medical, ReferralNames.STATE, ReferralState, lambda s: s.accept_due is not None)
    await eventually(school, ReferralNames.STATE, ReferralState, lambda s: s.accept_due is not None)
    err = await refused(
        medical.execute_update(ReferralNames.ACCEPT, ReferralAccept(actor=bureau_staff(Bureau.EDUCATION)))
    )
    assert err.type == "wrong_bureau"
    err = await refused(
        medical.execute_update(
            ReferralNames.RESULT,
            ReferralResult(actor=bureau_staff(Bureau.MEDICAL_INSURANCE), outcome="helped", help_given="医疗救助"),
        )
    )
    assert err.type == "wrong_stage"
    for handle, bureau, text in (
        (medical, Bureau.MEDICAL_INSURANCE, "住院费用按政策二次报销"),
        (school, Bureau.EDUCATION, "纳入义务教育寄宿生生活补助"),
    ):
        await handle.execute_update(ReferralNames.ACCEPT, ReferralAccept(actor=bureau_staff(bureau)))
        await handle.execute_update(
            ReferralNames.RESULT,
            ReferralResult(actor=bureau_staff(bureau), outcome="helped", help_given=text, amount="1200.00"),
        )
    s = await eventually(h, IntakeNames.STATE, IntakeState, lambda s: sum(n.status == "answered" for n in s.needs) == 2)
    assert s.status == "triaged"  # the dibao need is still waiting for the township
    await h.execute_update(
        IntakeNames.LINK_CASE,
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


async def test_bureau_missing_its_deadlines_is_escalated(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    h = await submit(review_env, "12349-20261129-A00002", RequestKind.HELP, ["jobless"])
    await eventually(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    await h.execute_update(IntakeNames.TRIAGE, Triage(actor=actor("qu_minzheng"), needs=["jobless"]))
    ref = review_env.client.get_workflow_handle(referral_workflow_id("ZJ-20261129-A00002-jobless"))
    await eventually(ref, ReferralNames.STATE, ReferralState, lambda s: s.accept_due is not None)
    await review_env.sleep(timedelta(days=30))
    s = await eventually(ref, ReferralNames.STATE, ReferralState, lambda s: s.escalations == ["accept", "result"])
    assert s.status == "delivered"
    row = await pool.fetchrow("select escalated, status from referrals")
    assert row["escalated"] is True
    kinds = [r["kind"] for r in await pool.fetch("select kind from notifications order by id")]
    assert kinds.count("referral-escalated_accept") == 1 and kinds.count("referral-escalated_result") == 1
    assert "request-escalated_answer" in kinds
    await h.terminate("test over")


async def test_complaint_about_a_case_in_review(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
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
    await eventually(c, ComplaintNames.STATE, object, lambda s: True)
    s = await eventually(case, ReviewNames.STATE, CaseState, lambda s: s.district_visit_required)
    assert "complaint_filed" in [e.kind for e in s.timeline]
    err = await refused(c.execute_update(ComplaintNames.ACCEPT, ComplaintAccept(actor=actor("shipo_diaocha"))))
    assert err.type == "recused"
    await review_env.sleep(timedelta(days=16))  # not accepted within 15 days: escalated
    from schemas.frontdoor import ComplaintState

    s = await eventually(c, ComplaintNames.STATE, ComplaintState, lambda s: s.escalations == ["accept"])
    await c.execute_update(ComplaintNames.ACCEPT, ComplaintAccept(actor=actor("shipo_shenpi")))
    await c.execute_update(
        ComplaintNames.CONCLUDE,
        ComplaintConclude(actor=actor("shipo_shenpi"), finding="partly", reply="已责成区民政局入户核实"),
    )
    final = await h.result()
    assert final.status == "closed" and final.answer == "已责成区民政局入户核实"
    row = await pool.fetchrow("select status, escalated, finding from complaints")
    assert tuple(row) == ("concluded", True, "partly")
    await case.terminate("test over")
