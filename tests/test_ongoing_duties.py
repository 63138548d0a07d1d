"""Separation of duties in the ongoing review (动态管理) and the re-check sample (issue 15, point 8).

A caseworker proposes, an approver decides: never the proposer, never staff related to the household; a change
beyond the township's bounds (`OngoingReviewPolicy.township_max_change` 200 yuan, `township_max_change_ratio`
30 %) goes on to the district, which decides it; the written decision is titled for the kind of assistance. The
monthly re-check is never assigned to an officer who approved, took over or investigated the case.

The pure rules first, then the workflows on the time-skipping server with the values of each step."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from activities.supervision import SupervisionActivities
from infra.config import TASK_QUEUE
from rules.actions import ActorView, Refusal
from rules.ongoing_actions import (
    Level,
    OngoingAction,
    ReviewView,
    available_actions,
    beyond_township,
    content_refusal,
    notice,
    refusal,
)
from rules.sampling import Drawn, assign, involved
from schemas.policy import OngoingReviewPolicy
from schemas.relatives import RelativesMatch
from schemas.staff import Actor, Role
from schemas.supervision import (
    OngoingStart,
    OngoingState,
    RecheckFinding,
    RecheckState,
    ReviewDecision,
    ReviewFinding,
    SampleDrawn,
    SupervisionNames,
    ongoing_workflow_id,
)
from tests.support.clients import app_client, login
from tests.support.clock import SkippingEnvironment, at_0830, beijing, on_time
from tests.support.factories import actor, resident_id
from tests.support.supervision import BARRED, add_event, register, seed_case, with_household
from tests.support.workflows import refused

SHIPO, SHUNHE, GULOU = "341503106", "341503104", "341503001"
PROPOSE, DECIDE = OngoingAction.PROPOSE, OngoingAction.DECIDE
# A second approver of 石婆店镇 and a second district officer: the workflows know people by their `Actor`.
SHENPI2 = Actor(
    username="shipo_shenpi2", full_name="石婆店镇审批人 许文", role=Role.TOWNSHIP_APPROVER, place_code=SHIPO
)
QU2 = Actor(username="qu_minzheng2", full_name="区民政局 韩梅", role=Role.DISTRICT_OFFICER, place_code="341503")


def view(status: str = "due", **kw) -> ReviewView:
    return ReviewView(**({"status": status, "place": SHIPO, "due_on": "2026-12-04"} | kw))


def who(username: str, role: str, place: str = SHIPO) -> ActorView:
    return ActorView(username, role, place)


# ---- the rules -------------------------------------------------------------------------------------------


def test_who_may_propose_and_decide_in_the_workflow_order() -> None:
    jingban, shenpi = who("shipo_jingban", "township_caseworker"), who("shipo_shenpi", "township_approver")
    officer = who("qu_minzheng", "district_officer", "341503")
    assert refusal(PROPOSE, view("waiting"), jingban) == Refusal("wrong_stage", "本次复核 2026-12-04 到期，尚未到期")
    assert refusal(PROPOSE, view("decided"), jingban) == Refusal("closed", "本次复核已办理")
    assert refusal(PROPOSE, view("proposed"), jingban).message == "本次复核已有待审批的复核意见，请等待审批"
    assert refusal(DECIDE, view("due"), shenpi) == Refusal("wrong_stage", "本次复核尚无待审批的复核意见")
    assert refusal(PROPOSE, view(), shenpi).code == "wrong_role"  # an approver does not propose
    assert refusal(PROPOSE, view(), who("shunhe_jingban", "township_caseworker", SHUNHE)).code == "out_of_jurisdiction"
    assert refusal(PROPOSE, view(barred=frozenset({"shipo_jingban"})), jingban) == Refusal(
        "recused", "您与该户存在近亲属关系，依规应当回避，不能办理"
    )
    proposed = view("proposed", proposer="shipo_jingban")
    wrong = refusal(DECIDE, proposed, jingban)
    assert (wrong.code, wrong.worded(lambda r: Role(r).label, "township_caseworker")) == (
        "wrong_role",
        "「审批复核意见」须由乡镇审批人办理，您是乡镇经办人",
    )
    assert refusal(DECIDE, proposed, shenpi) is None
    assert refusal(DECIDE, proposed, officer).code == "wrong_role"  # the township decides within its bounds
    assert refusal(DECIDE, view("proposed", proposer="x", barred=frozenset({"shipo_shenpi"})), shenpi).code == "recused"
    referred = view("proposed", proposer="qu_minzheng", level=Level.DISTRICT)
    assert refusal(DECIDE, referred, shenpi) == Refusal(
        "wrong_role", "该调整超出乡镇（街道）审批权限，已报区民政局决定", frozenset({"district_officer"})
    )
    assert refusal(DECIDE, referred, officer) == Refusal(
        "own_proposal", "复核意见须由提出人以外的人员审批，不能审批本人提出的意见"
    )
    assert refusal(DECIDE, referred, who("qu_minzheng2", "district_officer", "341503")) is None
    assert available_actions(view(), jingban) == [PROPOSE]
    assert available_actions(proposed, shenpi) == [DECIDE]
    assert available_actions(proposed, jingban) == []


def test_a_proposal_must_say_why_and_change_something() -> None:
    old = Decimal("900")
    assert content_refusal("continue", old, None, "") is None
    assert content_refusal("stop", old, None, "无") == Refusal("incomplete", "调整或停发须书面写明理由")
    assert content_refusal("adjust", old, None, "子女就业，收入增加").code == "incomplete"
    assert content_refusal("adjust", old, Decimal("900"), "子女就业，收入增加") == Refusal(
        "invalid", "调整后的金额与现月保障金 900 元相同，请选择「继续保障」"
    )


def test_the_township_bounds_and_the_notice_titles() -> None:
    policy = OngoingReviewPolicy()
    assert (policy.township_max_change, policy.township_max_change_ratio) == (Decimal("200.00"), Decimal("0.30"))
    bounds = (policy.township_max_change, policy.township_max_change_ratio)
    assert not beyond_township(Decimal("900"), Decimal("700"), *bounds)  # 200 yuan, 22 %
    assert beyond_township(Decimal("900"), Decimal("699.99"), *bounds)  # 200.01 yuan
    assert beyond_township(Decimal("500"), Decimal("340"), *bounds)  # 160 yuan but 32 %
    assert not beyond_township(Decimal("500"), Decimal("650"), *bounds)  # up by 150 yuan, 30 %
    assert notice("dibao", "adjust", Decimal("800"), "子女就业", date(2027, 1, 1)) == (
        "最低生活保障变更决定书",
        "经复核，您家的最低生活保障金自2027年01月起调整为每月 800 元。理由：子女就业。"
        "如有异议，可依法申请行政复议或提起行政诉讼。",
    )
    assert notice("tekun", "stop", None, "已由法定赡养人赡养", date(2027, 7, 1)) == (
        "特困人员救助供养变更决定书",
        "经复核，您的特困人员救助供养金自2027年07月起停发。理由：已由法定赡养人赡养。"
        "如有异议，可依法申请行政复议或提起行政诉讼。",
    )


def test_who_may_not_recheck_a_case_and_the_assignment() -> None:
    assert involved("decision", "shipo_shenpi", {}) == {"shipo_shenpi"}
    assert involved("take_over", "qu_minzheng", {"reason": "超期"}) == {"qu_minzheng"}
    visit = {"investigators": ["shipo_jingban", "qu_minzheng"], "assistants": ["shipo_cun1"]}
    assert involved("home_visit", "shipo_jingban", visit) == {"shipo_jingban", "qu_minzheng", "shipo_cun1"}
    assert involved("relatives_matched", None, {"barred": BARRED}) == {"shipo_diaocha"}
    assert involved("hearing", "shipo_jingban", {}) == set()
    drawn = [
        Drawn("A", GULOU, "random"),
        Drawn("B", SHUNHE, "random", excluded=("qu_a", "qu_b")),
        Drawn("C", SHIPO, "random", excluded=("qu_a",)),
        Drawn("D", SHIPO, "complaint"),
    ]
    first = assign(drawn, ["qu_b", "qu_a"], "seed")  # D goes to the one less loaded (qu_b has A and C)
    assert [(d.case_id, d.assigned_to) for d in first] == [("A", "qu_b"), ("B", None), ("C", "qu_b"), ("D", "qu_a")]
    assert assign(drawn, ["qu_a", "qu_b"], "seed") == first  # reproducible
    assert [d.assigned_to for d in assign(drawn, [], "seed")] == [None] * 4


# ---- the ongoing review's workflow -------------------------------------------------------------------------


async def start_review(
    env: SkippingEnvironment, case_id: str, due: date, amount: str, cadence: int = 6
) -> WorkflowHandle:
    return await env.client.start_workflow(
        SupervisionNames.ONGOING,
        OngoingStart(
            case_id=case_id,
            township_code=SHIPO,
            applicant_name="测试户",
            cadence_months=cadence,
            due_on=due,
            monthly_amount=Decimal(amount),
        ),
        id=ongoing_workflow_id(case_id),
        task_queue=TASK_QUEUE,
        result_type=OngoingState,
    )


async def until_due(env: SkippingEnvironment, handle: WorkflowHandle, cycle: int, due: date) -> OngoingState:
    async def due_now() -> OngoingState | None:
        s = await handle.query(SupervisionNames.STATE, result_type=OngoingState)
        return s if (s.cycle, s.status) == (cycle, "due") and s.assistance_type else None

    return await on_time(env, at_0830(due), due_now, f"cycle {cycle} due")


async def state(handle: WorkflowHandle) -> OngoingState:
    return await handle.query(SupervisionNames.STATE, result_type=OngoingState)


def propose(who: Actor, outcome: str, amount: str | None = None, reasons: str = "") -> ReviewFinding:
    return ReviewFinding(
        actor=who,
        outcome=outcome,
        findings="入户核查家庭收入情况",
        new_amount=Decimal(amount) if amount else None,
        reasons=reasons,
    )


def decide(who: Actor, agree: bool = True, opinion: str = "") -> ReviewDecision:
    return ReviewDecision(actor=who, agree=agree, opinion=opinion)


async def reviews(pool: asyncpg.Pool, case_id: str) -> list[tuple]:
    rows = await pool.fetch(
        "select due_on, outcome, old_amount_fen, new_amount_fen, reviewed_by, decided_by, decided_level "
        "from ongoing_reviews where case_id = $1 order by id",
        case_id,
    )
    return [tuple(r) for r in rows]


async def notices(pool: asyncpg.Pool, case_id: str, kind: str) -> list[tuple]:
    rows = await pool.fetch(
        "select audience, subject, body from notifications where case_id = $1 and kind = $2 order by id", case_id, kind
    )
    return [tuple(r) for r in rows]


async def test_the_facts_of_a_review_bar_who_the_register_names_now_and_say_who_decides(pool: asyncpg.Pool) -> None:
    """The review's relatives check barred shipo_diaocha at acceptance; since, shipo_shenpi registered a member of
    the household as a relative: both are barred from the ongoing review (the same register match as the
    review's). 苏埠镇 is not a pilot unit: there the district decides."""
    await seed_case(pool, "OF-1", SHIPO, beijing(2026, 6, 10, 10, 0))
    await seed_case(pool, "OF-2", "341503101", beijing(2026, 6, 10, 10, 0))
    await pool.execute("update recipients set assistance_type = 'tekun' where case_id = 'OF-2'")
    await add_event(pool, "OF-1", "relatives_matched", payload={"barred": BARRED})
    member = resident_id(date(1950, 3, 1))
    await with_household(pool, "OF-1", member=member)
    await register(pool, "shipo_shenpi", member)
    facts = SupervisionActivities(pool, None)  # type: ignore[arg-type]  # no workflow is started
    of1 = await facts.ongoing_facts("OF-1", date(2026, 12, 4))
    assert (of1.assistance_type, of1.approval_level, of1.max_change, of1.max_change_ratio) == (
        "dibao",
        "township",
        Decimal("200.00"),
        Decimal("0.30"),
    )
    assert of1.barred == [
        RelativesMatch(username="shipo_diaocha", full_name="石婆店镇经办人 王强", reason="近亲属备案：表兄"),
        RelativesMatch(username="shipo_shenpi", full_name="石婆店镇审批人 张华", reason="近亲属备案：测试户（父母）"),
    ]
    of2 = await facts.ongoing_facts("OF-2", date(2026, 12, 4))
    assert (of2.assistance_type, of2.approval_level, of2.barred) == ("tekun", "district", [])


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_a_dibao_change_is_proposed_by_one_and_decided_by_another_unrelated(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """Within the township's bounds (900 -> 800 yuan: 100 yuan, 11 %): the township approver decides."""
    await seed_case(pool, "ODB-1", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=90000)
    barred = [*BARRED, {"username": "shipo_shenpi", "full_name": "石婆店镇审批人 张华", "reason": "近亲属备案：舅舅"}]
    await add_event(pool, "ODB-1", "relatives_matched", payload={"barred": barred})
    h = await start_review(review_env, "ODB-1", date(2026, 12, 4), "900")
    err = await refused(h.execute_update(SupervisionNames.PROPOSE_REVIEW, propose(actor("shipo_jingban"), "continue")))
    assert (err.type, err.message) == ("wrong_stage", "本次复核 2026-12-04 到期，尚未到期")
    s = await until_due(review_env, h, 1, date(2026, 12, 4))
    assert (s.status, s.level, s.assistance_type, s.proposal) == ("due", "township", "dibao", None)

    change = propose(actor("shipo_jingban"), "adjust", "800", "子女就业，收入增加")
    err = await refused(h.execute_update(SupervisionNames.PROPOSE_REVIEW, change.model_copy(update={"reasons": ""})))
    assert (err.type, err.message) == ("incomplete", "调整或停发须书面写明理由")
    related = change.model_copy(update={"actor": actor("shipo_diaocha")})
    err = await refused(h.execute_update(SupervisionNames.PROPOSE_REVIEW, related))
    assert (err.type, err.message) == ("recused", "您与该户存在近亲属关系，依规应当回避，不能办理")
    err = await refused(h.execute_update(SupervisionNames.RECORD_REVIEW, change))  # the old one-person update
    assert err.type == "superseded"

    s = await h.execute_update(SupervisionNames.PROPOSE_REVIEW, change, result_type=OngoingState)
    assert (s.status, s.level, s.proposal, s.endorsed_by) == ("proposed", "township", change, None)
    err = await refused(h.execute_update(SupervisionNames.PROPOSE_REVIEW, change))
    assert (err.type, err.message) == ("wrong_stage", "本次复核已有待审批的复核意见，请等待审批")
    err = await refused(h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_jingban"))))
    assert (err.type, err.message) == ("wrong_role", "「审批复核意见」须由乡镇审批人办理，您是乡镇经办人")
    err = await refused(h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_shenpi"))))
    assert (err.type, err.message) == ("recused", "您与该户存在近亲属关系，依规应当回避，不能办理")
    err = await refused(h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(SHENPI2, agree=False)))
    assert (err.type, err.message) == ("incomplete", "退回复核意见须写明审批意见")
    assert await reviews(pool, "ODB-1") == []  # nothing applied by a proposal alone

    try:
        await h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(SHENPI2, opinion="同意"))
    except RPCError as exc:  # the time-skipping server may lose the answer of an update whose run continued as new
        assert exc.status is RPCStatusCode.NOT_FOUND
    handle = review_env.client.get_workflow_handle(ongoing_workflow_id("ODB-1"))
    s = await state(handle)
    assert (s.cycle, s.due_on, s.status, s.monthly_amount, s.proposal) == (
        2,
        date(2027, 6, 4),
        "waiting",
        Decimal("800"),
        None,
    )
    assert await reviews(pool, "ODB-1") == [
        (date(2026, 12, 4), "adjust", 90000, 80000, "shipo_jingban", "shipo_shenpi2", "township")
    ]
    assert await notices(pool, "ODB-1", "ongoing-adjust") == [
        (
            "applicant",
            "最低生活保障变更决定书",
            "经复核，您家的最低生活保障金自2027年01月起调整为每月 800.00 元。理由：子女就业，收入增加。"
            "如有异议，可依法申请行政复议或提起行政诉讼。",
        )
    ]
    assert await notices(pool, "ODB-1", "ongoing-review-proposed") == [
        (
            f"role:township_approver@{SHIPO}",
            "动态管理复核意见待审批",
            "测试户家庭动态管理复核意见待审批：调整为每月 800.00 元",
        )
    ]
    events = await pool.fetch(
        "select kind, actor, payload->>'summary' as summary from case_events where case_id = 'ODB-1' "
        "and kind like 'ongoing%' order by id"
    )
    assert [tuple(e) for e in events] == [
        (
            "ongoing_proposed",
            "shipo_jingban",
            "动态管理复核（2026-12-04）：经办人提出调整为每月 800.00 元。子女就业，收入增加",
        ),
        (
            "ongoing_review_adjust",
            "shipo_shenpi2",
            "动态管理复核（2026-12-04）：经乡镇（街道）审批人石婆店镇审批人 许文决定，调整为每月 800.00 元。"
            "子女就业，收入增加",
        ),
    ]


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_a_tekun_change_beyond_the_bounds_goes_to_the_district_which_decides(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """1500 -> 1000 yuan (500 yuan, 33 %) is beyond the township's bounds: the township approver's agreement refers
    it to the district. Next cycle a district officer's own proposal is not theirs to decide, a return sends it
    back to the caseworker, and the stop the township then decides ends the review."""
    await seed_case(pool, "OTK-1", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=150000, people=1)
    await pool.execute("update recipients set assistance_type = 'tekun' where case_id = 'OTK-1'")
    h = await start_review(review_env, "OTK-1", date(2026, 12, 4), "1500")
    await until_due(review_env, h, 1, date(2026, 12, 4))
    change = propose(actor("shipo_jingban"), "adjust", "1000", "自理能力恢复，照料护理标准降低")
    await h.execute_update(SupervisionNames.PROPOSE_REVIEW, change)
    s = await h.execute_update(
        SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_shenpi"), opinion="同意"), result_type=OngoingState
    )
    assert (s.status, s.level, s.endorsed_by, s.proposal) == ("proposed", "district", "shipo_shenpi", change)
    assert await reviews(pool, "OTK-1") == []
    err = await refused(h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(SHENPI2)))
    assert (err.type, err.message) == ("wrong_role", "该调整超出乡镇（街道）审批权限，已报区民政局决定")
    try:
        await h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("qu_minzheng")))
    except RPCError as exc:
        assert exc.status is RPCStatusCode.NOT_FOUND
    assert await reviews(pool, "OTK-1") == [
        (date(2026, 12, 4), "adjust", 150000, 100000, "shipo_jingban", "qu_minzheng", "district")
    ]
    assert await notices(pool, "OTK-1", "ongoing-adjust") == [
        (
            "applicant",
            "特困人员救助供养变更决定书",
            "经复核，您的特困人员救助供养金自2027年01月起调整为每月 1000.00 元。理由：自理能力恢复，照料护理标准降低。"
            "如有异议，可依法申请行政复议或提起行政诉讼。",
        )
    ]
    assert [tuple(n)[:2] for n in await notices(pool, "OTK-1", "ongoing-review-proposed")] == [
        (f"role:township_approver@{SHIPO}", "动态管理复核意见待审批"),
        ("role:district_officer@341503", "动态管理复核意见待审批"),
    ]
    [referred] = await pool.fetch("select actor, payload from case_events where kind = 'ongoing_referred'")
    assert (referred["actor"], referred["payload"]["old_amount"], referred["payload"]["new_amount"]) == (
        "shipo_shenpi",
        "1500.00",
        "1000.00",
    )
    assert referred["payload"]["summary"] == (
        "动态管理复核（2026-12-04）：乡镇审批人同意调整为每月 1000.00 元（原每月 1500.00 元），超出乡镇（街道）可决定的"
        "调整不超过 200.00 元且不超过原金额的 30%，报区民政局决定。同意"
    )

    handle = review_env.client.get_workflow_handle(ongoing_workflow_id("OTK-1"))
    await until_due(review_env, handle, 2, date(2027, 6, 4))
    own = propose(actor("qu_minzheng"), "adjust", "600", "经核查已有稳定收入")
    await handle.execute_update(SupervisionNames.PROPOSE_REVIEW, own)
    await handle.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_shenpi"), opinion="同意上报"))
    err = await refused(handle.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("qu_minzheng"))))
    assert (err.type, err.message) == ("own_proposal", "复核意见须由提出人以外的人员审批，不能审批本人提出的意见")
    s = await handle.execute_update(
        SupervisionNames.DECIDE_REVIEW,
        decide(QU2, agree=False, opinion="收入证明不足，请补充"),
        result_type=OngoingState,
    )
    assert (s.status, s.level, s.proposal, s.endorsed_by) == ("due", "township", None, None)
    assert await notices(pool, "OTK-1", "ongoing-review-returned") == [
        ("user:qu_minzheng", "动态管理复核意见被退回", "测试户家庭的复核意见被退回：收入证明不足，请补充")
    ]
    stop = propose(actor("shipo_jingban"), "stop", reasons="已由法定赡养人赡养")
    await handle.execute_update(SupervisionNames.PROPOSE_REVIEW, stop)
    try:
        await handle.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_shenpi")))
    except RPCError as exc:
        assert exc.status is RPCStatusCode.NOT_FOUND
    final = await review_env.client.get_workflow_handle(ongoing_workflow_id("OTK-1"), result_type=OngoingState).result()
    assert (final.status, final.cycle, final.monthly_amount) == ("stopped", 2, Decimal("1000"))
    assert (await reviews(pool, "OTK-1"))[1:] == [
        (date(2027, 6, 4), "stop", 100000, None, "shipo_jingban", "shipo_shenpi", "township")
    ]
    assert await notices(pool, "OTK-1", "ongoing-stop") == [
        (
            "applicant",
            "特困人员救助供养变更决定书",
            "经复核，您的特困人员救助供养金自2027年07月起停发。理由：已由法定赡养人赡养。"
            "如有异议，可依法申请行政复议或提起行政诉讼。",
        )
    ]


# ---- the re-check sample ------------------------------------------------------------------------------------

OCTOBER = datetime(2026, 10, 15, 3, 0, tzinfo=UTC)
SEPTEMBER = datetime(2026, 9, 15, 3, 0, tzinfo=UTC)


async def draw(env: SkippingEnvironment, month: str) -> SampleDrawn:
    return await env.client.execute_workflow(
        SupervisionNames.SAMPLING, month, id=f"sampling-{uuid.uuid4()}", task_queue=TASK_QUEUE, result_type=SampleDrawn
    )


def assigned(drawn: SampleDrawn) -> list[tuple]:
    return [(c.case_id, c.township_code, c.reason, c.assigned_to, c.excluded) for c in drawn.cases]


@pytest.mark.start_at(beijing(2026, 11, 1, 6, 0))
async def test_the_recheck_is_never_assigned_to_who_approved_took_over_or_investigated(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """One decision per township, so each is drawn. In October the district's only officer, qu_minzheng, approved
    one case and investigated another: those two are assigned to no one, the third to him. In September there is
    a second officer, who took over one case: each case goes to the officer it does not conflict with."""
    for case_id, town in (("P1", SHIPO), ("P2", SHUNHE), ("P3", GULOU)):
        await seed_case(pool, case_id, town, OCTOBER)
    await add_event(pool, "P1", "decision", actor="qu_minzheng", role="district_officer", stage="decision")
    visit = {"investigators": ["shunhe_jingban", "qu_minzheng"], "assistants": []}
    await add_event(pool, "P2", "home_visit", actor="shunhe_jingban", role="township_caseworker", payload=visit)
    await add_event(pool, "P2", "decision", actor="shunhe_shenpi", role="township_approver", stage="decision")
    october = await draw(review_env, "2026-10")
    assert assigned(october) == [
        ("P3", GULOU, "random", "qu_minzheng", []),
        ("P2", SHUNHE, "random", None, ["qu_minzheng", "shunhe_jingban", "shunhe_shenpi"]),
        ("P1", SHIPO, "random", None, ["qu_minzheng"]),
    ]
    rows = await pool.fetch("select case_id, assigned_to from rechecks where month = '2026-10' order by case_id")
    assert [tuple(r) for r in rows] == [("P1", None), ("P2", None), ("P3", "qu_minzheng")]

    await pool.execute(
        "insert into users (username, full_name, role, place_code, password_hash) "
        "values ('qu_minzheng2', '区民政局 韩梅', 'district_officer', '341503', 'x')"
    )
    for case_id, town in (("Q1", SHIPO), ("Q2", SHUNHE), ("Q3", GULOU)):
        await seed_case(pool, case_id, town, SEPTEMBER)
    at = datetime(2026, 9, 10, 3, 0, tzinfo=UTC)
    await add_event(pool, "Q1", "decision", actor="qu_minzheng", role="district_officer", stage="decision", at=at)
    await add_event(pool, "Q2", "take_over", actor="qu_minzheng2", role="district_officer", at=at)
    september = await draw(review_env, "2026-09")
    assert [(c.case_id, c.assigned_to) for c in september.cases] == [
        ("Q3", "qu_minzheng"),  # either officer: the seeded draw's
        ("Q2", "qu_minzheng"),
        ("Q1", "qu_minzheng2"),
    ]

    # The re-check refuses an officer who may not re-check the case, whoever it was assigned to.
    p1 = next(c for c in october.cases if c.case_id == "P1")
    recheck = await review_env.client.start_workflow(
        SupervisionNames.RECHECK, p1, id=f"recheck-test-{uuid.uuid4()}", task_queue=TASK_QUEUE, result_type=RecheckState
    )
    finding = RecheckFinding(actor=actor("qu_minzheng"), result="upheld", findings="材料齐全")
    err = await refused(recheck.execute_update(SupervisionNames.RECORD_FINDING, finding))
    assert (err.type, err.message) == ("recused", "您审批、接管或调查过本案，或与该户存在近亲属关系，依规不能复核")
    await recheck.terminate("test over")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_the_api_answers_the_workflows_refusals_with_their_codes(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """A district officer's proposal beyond the bounds, agreed by the township, is the district's to decide, but
    not his: 403 `own_proposal`, in the API's `{"code", "message"}`."""
    await seed_case(pool, "OAPI-1", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=90000)
    h = await start_review(review_env, "OAPI-1", date(2026, 12, 4), "900")
    await until_due(review_env, h, 1, date(2026, 12, 4))
    url = "/api/ongoing-reviews/OAPI-1/actions/"
    async with app_client(pool, review_env.client) as c:
        officer, approver = await login(c, "qu_minzheng", session=False), await login(c, "shipo_shenpi", session=False)
        body = {"outcome": "adjust", "findings": "入户核查家庭收入情况", "new_amount": "500", "reasons": "家庭收入增加"}
        r = await c.post(url + "propose", json=body, headers=officer)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["proposal"]["actor"]["username"]) == ("proposed", "qu_minzheng")
        r = await c.post(url + "decide", json={"agree": True}, headers=officer)
        assert (r.status_code, r.json()) == (
            403,
            {"code": "wrong_role", "message": "「审批复核意见」须由乡镇审批人办理，您是区民政局工作人员"},
        )
        r = await c.post(url + "decide", json={"agree": True, "opinion": "同意上报"}, headers=approver)
        assert (r.status_code, r.json()["level"], r.json()["endorsed_by"]) == (200, "district", "shipo_shenpi")
        r = await c.post(url + "decide", json={"agree": True}, headers=officer)
        assert (r.status_code, r.json()) == (
            403,
            {"code": "own_proposal", "message": "复核意见须由提出人以外的人员审批，不能审批本人提出的意见"},
        )
    assert await reviews(pool, "OAPI-1") == []
