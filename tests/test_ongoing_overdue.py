"""Overdue ongoing reviews are escalated (audit M4): a review not concluded `overdue_working_days` (policy, default
20) working days after its due day, on the statutory calendar, tells the township's approvers and the district
once, at the close of that last day, and says so in the case's log; whether it waits on the caseworker's proposal
or on the decision. The daily digest lists the overdue reviews and the proposals not decided.

Dates are written out and checked against the calendar: due Wednesday 2026-11-04, the 20th working day after it
is Wednesday 2026-12-02 (no holiday in between), so the review is overdue from 00:00 on 2026-12-03."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import pytest
from temporalio.service import RPCError, RPCStatusCode

from activities.supervision import SupervisionActivities
from db import calendar_repo
from rules.ongoing_actions import overdue_due_by
from schemas.policy import OngoingReviewPolicy
from schemas.supervision import OngoingState, SupervisionNames, ongoing_workflow_id
from tests.support.clock import SkippingEnvironment, beijing, midnight_after, on_time
from tests.support.factories import actor
from tests.support.supervision import add_event, at, seed_case
from tests.test_ongoing_duties import SHIPO, SHUNHE, decide, notices, propose, reviews, start_review, until_due

DUE, LAST_DAY = date(2026, 11, 4), date(2026, 12, 2)


async def test_the_last_day_is_the_20th_working_day_on_the_statutory_calendar(pool: asyncpg.Pool) -> None:
    assert OngoingReviewPolicy().overdue_working_days == 20
    async with pool.acquire() as conn:
        cal = await calendar_repo.load_calendar(conn)
    assert cal.add_working_days(DUE, 20).date == LAST_DAY
    assert overdue_due_by(cal, date(2026, 12, 3), 20) == DUE  # overdue on 12-03: due on 11-04 or before
    assert overdue_due_by(cal, date(2026, 12, 2), 20) == date(2026, 11, 3)
    # over National Day (10-01..07 off, 09-20 and 10-10 worked): due 09-18, the 20th working day is 10-22
    assert cal.add_working_days(date(2026, 9, 18), 20).date == date(2026, 10, 22)
    assert cal.add_working_days(date(2026, 9, 19), 20).date == date(2026, 10, 22)  # a Saturday's too
    assert overdue_due_by(cal, date(2026, 10, 23), 20) == date(2026, 9, 19)


@pytest.mark.start_at(beijing(2026, 10, 26, 9, 30))
async def test_an_overdue_review_tells_the_approvers_and_the_district_once(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """Two households due 2026-11-04: OVD-1's caseworker never proposes; OVD-2's proposal is never decided. Both
    escalate at 00:00 on 2026-12-03, not a minute before; each is then still reviewed as usual."""
    for case_id in ("OVD-1", "OVD-2"):
        await seed_case(pool, case_id, SHIPO, beijing(2026, 4, 20, 10, 0), amount_fen=60000)
    first = await start_review(review_env, "OVD-1", DUE, "600")
    second = await start_review(review_env, "OVD-2", DUE, "600")
    s = await until_due(review_env, first, 1, DUE)
    assert (s.overdue_on, s.escalated) == (LAST_DAY, False)
    change = propose(actor("shipo_jingban"), "adjust", "500", "子女就业，收入增加")
    await second.execute_update(SupervisionNames.PROPOSE_REVIEW, change)

    async def escalated() -> list[bool]:
        states = [await h.query(SupervisionNames.STATE, result_type=OngoingState) for h in (first, second)]
        return [s.escalated for s in states] if all(s.escalated for s in states) else []

    assert await on_time(review_env, midnight_after(LAST_DAY), escalated, "escalation") == [True, True]
    assert await notices(pool, "OVD-1", "ongoing-review-overdue") == [
        (
            f"role:township_approver@{SHIPO}",
            "动态管理复核超期",
            "测试户家庭动态管理复核（2026-11-04 到期）超过 20 个工作日（2026-12-02）仍未办结，经办人尚未提出复核意见",
        ),
        (
            "role:district_officer@341503",
            "动态管理复核超期",
            "测试户家庭动态管理复核（2026-11-04 到期）超过 20 个工作日（2026-12-02）仍未办结，经办人尚未提出复核意见",
        ),
    ]
    assert [body for _, _, body in await notices(pool, "OVD-2", "ongoing-review-overdue")] == [
        "测试户家庭动态管理复核（2026-11-04 到期）超过 20 个工作日（2026-12-02）仍未办结，复核意见待乡镇（街道）审批"
    ] * 2
    events = await pool.fetch(
        "select case_id, actor, payload->>'summary' as summary, payload->>'waiting_on' as waiting_on "
        "from case_events where kind = 'ongoing_overdue' order by case_id"
    )
    assert [tuple(e) for e in events] == [
        (
            "OVD-1",
            None,
            "动态管理复核（2026-11-04 到期）超过 20 个工作日（2026-12-02）仍未办结，经办人尚未提出复核意见",
            "proposal",
        ),
        (
            "OVD-2",
            None,
            "动态管理复核（2026-11-04 到期）超过 20 个工作日（2026-12-02）仍未办结，复核意见待乡镇（街道）审批",
            "decision",
        ),
    ]
    await review_env.sleep(timedelta(days=30))  # once only
    assert await pool.fetchval("select count(*) from notifications where kind = 'ongoing-review-overdue'") == 4

    try:  # the overdue review is still decided as usual, and the next cycle begins
        await second.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_shenpi")))
    except RPCError as exc:  # the time-skipping server may lose the answer of an update whose run continued as new
        assert exc.status is RPCStatusCode.NOT_FOUND
    assert await reviews(pool, "OVD-2") == [(DUE, "adjust", 60000, 50000, "shipo_jingban", "shipo_shenpi", "township")]
    s = await review_env.client.get_workflow_handle(ongoing_workflow_id("OVD-2")).query(
        SupervisionNames.STATE, result_type=OngoingState
    )
    assert (s.cycle, s.due_on, s.monthly_amount, s.escalated, s.overdue_on) == (
        2,
        date(2027, 5, 4),
        Decimal("500"),
        False,
        None,
    )
    await first.terminate("test over")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_a_review_decided_in_time_is_not_escalated(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    await seed_case(pool, "OVD-3", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=60000)
    h = await start_review(review_env, "OVD-3", date(2026, 11, 25), "600")
    await until_due(review_env, h, 1, date(2026, 11, 25))
    await h.execute_update(SupervisionNames.PROPOSE_REVIEW, propose(actor("shipo_jingban"), "continue"))
    try:
        await h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_shenpi")))
    except RPCError as exc:
        assert exc.status is RPCStatusCode.NOT_FOUND
    await review_env.sleep(timedelta(days=60))  # past the first cycle's last day (2026-12-23)
    assert await notices(pool, "OVD-3", "ongoing-review-overdue") == []


async def test_the_digest_lists_overdue_reviews_and_undecided_proposals(pool: asyncpg.Pool) -> None:
    """The morning of Thursday 2026-12-03: reviews due by 11-04 are overdue. Each household's latest review step
    says what it waits on; a household whose review workflow never started is listed all the same."""
    seeded = [  # case, township, due, the latest step of its review (and when)
        ("DG-1", SHIPO, date(2026, 11, 4), None, None),  # overdue, no proposal (no workflow even)
        ("DG-2", SHIPO, date(2026, 11, 5), None, None),  # due, not yet overdue
        ("DG-3", SHIPO, date(2026, 10, 9), "ongoing_proposed", date(2026, 10, 12)),  # overdue, undecided
        ("DG-4", SHIPO, date(2026, 11, 20), "ongoing_referred", date(2026, 11, 27)),  # referred, not overdue
        ("DG-5", SHIPO, date(2026, 10, 9), "ongoing_returned", date(2026, 10, 20)),  # returned: a new proposal
        ("DG-6", SHIPO, date(2027, 1, 9), "ongoing_review_continue", date(2026, 7, 9)),  # last cycle decided
        ("DG-7", SHUNHE, date(2026, 9, 1), None, None),  # another township's
    ]
    for case_id, town, due, step, on in seeded:
        await seed_case(pool, case_id, town, beijing(2026, 3, 2, 10, 0))
        await pool.execute("update recipients set next_review_on = $2 where case_id = $1", case_id, due)
        if step:
            await add_event(pool, case_id, step, actor="shipo_jingban", role="township_caseworker", at=at(on))
    await seed_case(pool, "DG-8", SHIPO, beijing(2026, 3, 2, 10, 0))  # stopped: never listed
    await pool.execute("update recipients set next_review_on = '2026-09-01', status = 'stopped' where case_id = 'DG-8'")

    assert await SupervisionActivities(pool, None).build_digests(date(2026, 12, 3)) == 3  # type: ignore[arg-type]
    bodies = {r["place_code"]: r["body"] for r in await pool.fetch("select place_code, body from digests")}
    overdue = [  # (DG-3, as overdue, waits on a decision)
        {"case_id": "DG-5", "applicant_name": "测试户", "due_on": "2026-10-09"},
        {"case_id": "DG-1", "applicant_name": "测试户", "due_on": "2026-11-04"},
    ]
    proposals = [
        {"case_id": "DG-3", "applicant_name": "测试户", "due_on": "2026-10-09", "proposed_on": "2026-10-12"}
        | {"referred": False, "overdue": True},
        {"case_id": "DG-4", "applicant_name": "测试户", "due_on": "2026-11-20", "proposed_on": "2026-11-27"}
        | {"referred": True, "overdue": False},
    ]
    assert (bodies[SHIPO]["reviews"], bodies[SHIPO]["proposals"]) == (overdue, proposals)
    shunhe = [{"case_id": "DG-7", "applicant_name": "测试户", "due_on": "2026-09-01"}]
    assert (bodies[SHUNHE]["reviews"], bodies[SHUNHE]["proposals"]) == (shunhe, [])
    assert (bodies["341503"]["reviews"], bodies["341503"]["proposals"]) == (shunhe + overdue, proposals)
    notes = await pool.fetch("select audience, body from notifications where kind = 'digest' order by audience")
    assert [tuple(n) for n in notes] == [
        (
            "role:district_officer@341503",
            "全区 2026-12-03：超期 0 件，7 日内到期 0 件，待反馈转介 0 件，未办结投诉 0 件，"
            "动态管理复核超期 3 户，复核意见待审批 2 件",
        ),
        (
            f"role:township_approver@{SHUNHE}",
            "顺河镇 2026-12-03：超期 0 件，7 日内到期 0 件，待反馈转介 0 件，未办结投诉 0 件，"
            "动态管理复核超期 1 户，复核意见待审批 0 件",
        ),
        (
            f"role:township_approver@{SHIPO}",
            "石婆店镇 2026-12-03：超期 0 件，7 日内到期 0 件，待反馈转介 0 件，未办结投诉 0 件，"
            "动态管理复核超期 2 户，复核意见待审批 2 件",
        ),
    ]
