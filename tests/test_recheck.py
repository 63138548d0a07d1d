"""The district's re-check of a sampled case (抽查复核), on Temporal's time-skipping server with a real worker and the
embedded PostgreSQL: one finding per re-check, however many officers send one at once (audit M2); an irregular
finding's correction told to the township (M5); who may not re-check a case, the staff relatives register included
(L3). The pages and the closing of a correction: tests/ui/test_supervision_corrections.py."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import asyncpg
import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from db import supervision_repo
from infra.config import TASK_QUEUE
from schemas.staff import Actor, Role
from schemas.supervision import (
    RecheckFinding,
    RecheckState,
    SampledCase,
    SampleDrawn,
    SupervisionNames,
    recheck_workflow_id,
)
from tests.support.clients import SHIPO, SHUNHE
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor, resident_id
from tests.support.supervision import OCTOBER, add_event, register, seed_case, with_household
from tests.support.workflows import refused

OFFICER_B = Actor(username="qu_minzheng2", full_name="区民政局 吴军", role=Role.DISTRICT_OFFICER, place_code="341503")
IRREGULAR = RecheckFinding(actor=actor("qu_minzheng"), result="irregular", findings="未入户调查即作出决定")
UPHELD = RecheckFinding(actor=OFFICER_B, result="upheld", findings="材料齐全，程序合规")
RECORDING = "另一位工作人员正在录入本案的复核结论，请稍后刷新查看"


async def sampled(pool: asyncpg.Pool, *case_ids: str) -> SampledCase:
    """October's draw of `case_ids` (石婆店镇) as the monthly workflow keeps it (the draw row and an open re-check
    each); the first one's re-check."""
    cases = [
        SampledCase(
            recheck_id=f"2026-10-{case_id}",
            month="2026-10",
            case_id=case_id,
            township_code=SHIPO,
            reason="random",
            assigned_to="qu_minzheng",
        )
        for case_id in case_ids
    ]
    drawn = SampleDrawn(
        month="2026-10", seed="jiuzhu-sampling-2026-10", share=Decimal("0.05"), population=len(cases), cases=cases
    )
    async with pool.acquire() as conn:
        await supervision_repo.keep_sample(conn, drawn)
    return cases[0]


async def start_recheck(env: SkippingEnvironment, case: SampledCase) -> WorkflowHandle:
    return await env.client.start_workflow(
        SupervisionNames.RECHECK,
        case,
        id=recheck_workflow_id(case.month, case.case_id),
        task_queue=TASK_QUEUE,
        result_type=RecheckState,
    )


async def blocked_on_the_row(pool: asyncpg.Pool) -> None:
    """Until a write to `rechecks` waits for the row the test holds."""
    for _ in range(200):
        if await pool.fetchval(
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like 'update rechecks%'"
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the re-check's activity never reached the row")


@pytest.mark.start_at(beijing(2026, 11, 3, 10, 0))
async def test_two_officers_record_a_finding_at_once_and_only_the_first_is_kept(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """Officer A records "irregular"; while its activity waits for the database (the test holds the row), officer
    B sends "upheld": refused (409 `wrong_stage` through the web app), so the re-check row, the case's event log
    and the correction all say what A found. Before the fix both were accepted and both written."""
    await seed_case(pool, "RC-1", SHIPO, OCTOBER)
    await add_event(pool, "RC-1", "decision", actor="shipo_shenpi", role="township_approver")
    h = await start_recheck(review_env, await sampled(pool, "RC-1"))
    async with pool.acquire() as holder:
        hold = holder.transaction()
        await hold.start()
        await holder.execute("select 1 from rechecks where recheck_id = '2026-10-RC-1' for update")
        first = asyncio.create_task(
            h.execute_update(SupervisionNames.RECORD_FINDING, IRREGULAR, result_type=RecheckState)
        )
        await blocked_on_the_row(pool)
        second = asyncio.create_task(h.execute_update(SupervisionNames.RECORD_FINDING, UPHELD))
        await asyncio.wait({second}, timeout=5)  # refused at once; before the fix it waited for the row as well
        await hold.rollback()
    err = await refused(second)
    assert (err.type, err.message) == ("wrong_stage", RECORDING)
    try:
        answer = await first
        assert (answer.status, answer.finding) == ("irregular", IRREGULAR)
    except RPCError as exc:  # the time-skipping server may lose the answer of an update whose workflow closed at once
        assert exc.status is RPCStatusCode.NOT_FOUND
    final = await h.result()
    assert (final.status, final.finding) == ("irregular", IRREGULAR)

    row = await pool.fetchrow("select status, findings, checked_by from rechecks where recheck_id = '2026-10-RC-1'")
    assert tuple(row) == ("irregular", "未入户调查即作出决定", "qu_minzheng")
    events = await pool.fetch(
        "select event_key, kind, actor, payload->>'summary' as summary from case_events "
        "where case_id = 'RC-1' and kind <> 'decision'"
    )
    assert [tuple(e) for e in events] == [
        (
            "recheck-2026-10-RC-1",
            "correction_opened",
            "qu_minzheng",
            "区级抽查复核发现问题，开启纠错：未入户调查即作出决定",
        )
    ]
    corrections = await pool.fetch("select recheck_id, findings, status from case_corrections where case_id = 'RC-1'")
    assert [tuple(c) for c in corrections] == [("2026-10-RC-1", "未入户调查即作出决定", "open")]
    # the township's approvers and the case's handlers are told (not the officer who found it)
    told = await pool.fetch(
        "select audience, subject, body from notifications where case_id = 'RC-1' and kind = 'correction-opened' "
        "order by audience"
    )
    body = "测试户家庭（RC-1）经区级抽查复核发现问题：未入户调查即作出决定。请核查纠正，并在案件页面填写纠错处理结果。"
    assert [tuple(n) for n in told] == [
        ("role:township_approver@341503106", "抽查复核发现问题，请纠错", body),
        ("user:shipo_shenpi", "抽查复核发现问题，请纠错", body),
    ]


async def test_the_database_keeps_the_first_finding_of_a_recheck(pool: asyncpg.Pool) -> None:
    """The write itself is conditional: the same finding again (a retry whose answer was lost) changes nothing,
    another one is refused and leaves no trace."""
    await seed_case(pool, "RC-2", SHIPO, OCTOBER)
    await add_event(
        pool, "RC-2", "home_visit", actor="shipo_jingban", payload={"investigators": ["shipo_jingban", "shipo_diaocha"]}
    )
    await sampled(pool, "RC-2")
    async with pool.acquire() as conn:
        await supervision_repo.record_recheck(conn, "2026-10-RC-2", IRREGULAR)
        await supervision_repo.record_recheck(conn, "2026-10-RC-2", IRREGULAR)
        with pytest.raises(supervision_repo.RecheckClosed):
            await supervision_repo.record_recheck(conn, "2026-10-RC-2", UPHELD)
    row = await pool.fetchrow("select status, findings, checked_by from rechecks where recheck_id = '2026-10-RC-2'")
    assert tuple(row) == ("irregular", "未入户调查即作出决定", "qu_minzheng")
    kinds = await pool.fetch("select kind from case_events where case_id = 'RC-2' order by id")
    assert [k["kind"] for k in kinds] == ["home_visit", "correction_opened"]
    assert await pool.fetchval("select count(*) from case_corrections where case_id = 'RC-2'") == 1
    told = await pool.fetch("select audience from notifications where case_id = 'RC-2' order by audience")
    assert [t["audience"] for t in told] == [
        "role:township_approver@341503106",
        "user:shipo_diaocha",
        "user:shipo_jingban",
    ]


@pytest.mark.start_at(beijing(2026, 11, 1, 6, 0))  # when the monthly schedule draws October's sample
async def test_an_officer_whose_register_names_a_member_is_kept_off_the_recheck(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """qu_minzheng, the only district officer, registered the applicant of case RG-1 as a relative after its
    acceptance (the case's log has no relatives match): the draw leaves RG-1 to no one, and the re-check workflow
    refuses qu_minzheng's finding (`recused`). RG-2 (顺河镇; each township has its own draw) has no such entry:
    assigned to qu_minzheng."""
    member = resident_id(date(1950, 3, 1))
    await seed_case(pool, "RG-1", SHIPO, OCTOBER)
    await seed_case(pool, "RG-2", SHUNHE, OCTOBER)
    await with_household(pool, "RG-1", member=member)
    await with_household(pool, "RG-2", member=resident_id(date(1952, 4, 2)))
    await register(pool, "qu_minzheng", member)

    found = await supervision_repo.sampling_candidates(pool, date(2026, 10, 1), date(2026, 11, 1))
    assert [(c.case_id, c.excluded) for c in found] == [("RG-1", ("qu_minzheng",)), ("RG-2", ())]
    drawn = await review_env.client.execute_workflow(
        SupervisionNames.SAMPLING, "2026-10", id="sampling-2026-10", task_queue=TASK_QUEUE, result_type=SampleDrawn
    )
    assert [(c.case_id, c.assigned_to, c.excluded) for c in drawn.cases] == [
        ("RG-2", "qu_minzheng", []),  # 顺河镇 341503104 comes first
        ("RG-1", None, ["qu_minzheng"]),
    ]
    rows = await pool.fetch("select case_id, assigned_to from rechecks order by case_id")
    assert [tuple(r) for r in rows] == [("RG-1", None), ("RG-2", "qu_minzheng")]

    h = await review_env.client.start_workflow(
        SupervisionNames.RECHECK, drawn.cases[1], id="recheck-test-RG-1", task_queue=TASK_QUEUE
    )
    finding = IRREGULAR.model_copy(update={"findings": "复核意见"})
    err = await refused(h.execute_update(SupervisionNames.RECORD_FINDING, finding))
    assert (err.type, err.message) == ("recused", "您审批、接管或调查过本案，或与该户存在近亲属关系，依规不能复核")
    assert await pool.fetchval("select status from rechecks where case_id = 'RG-1'") == "open"
    await h.terminate("test over")
