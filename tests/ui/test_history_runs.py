"""The case history shows every run of the household's ongoing review (audit L7): a cycle's decision continues the
workflow as new, and each run is listed, first to latest, under its cycle and due day."""

from __future__ import annotations

import re
from datetime import date

import asyncpg
import pytest
from temporalio.service import RPCError, RPCStatusCode

from schemas.supervision import SupervisionNames
from tests.support.clients import app_client, log_in
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor
from tests.support.supervision import seed_case
from tests.test_ongoing_duties import SHIPO, decide, propose, start_review, until_due

DUE = date(2026, 12, 4)


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_the_history_lists_each_cycle_of_the_ongoing_review_in_order(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_case(pool, "OH-1", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=60000, people=1, cadence_months=6)
    h = await start_review(review_env, "OH-1", DUE, "600")
    await until_due(review_env, h, 1, DUE)
    await h.execute_update(SupervisionNames.PROPOSE_REVIEW, propose(actor("shipo_jingban"), "continue"))
    try:
        await h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_shenpi")))
    except RPCError as exc:  # the time-skipping server may lose the answer of an update whose run continued as new
        assert exc.status is RPCStatusCode.NOT_FOUND
    latest = review_env.client.get_workflow_handle("ongoing-OH-1")
    await until_due(review_env, latest, 2, date(2027, 6, 4))

    async with app_client(pool, review_env.client) as c:
        await log_in(c, "qu_jiandu")
        r = await c.get("/cases/OH-1/history?workflow=ongoing-OH-1")
    assert r.status_code == 200
    side = r.text.split("Temporal 工作流历史")[1]
    headings = re.findall(r'<h3 id="(run-\d+)" data-testid="run" data-cycle="(\d+)">([^<]*)</h3>', side)
    assert headings == [
        ("run-1", "1", "第 1 次复核（2026-12-04 到期）"),
        ("run-2", "2", "第 2 次复核（2027-06-04 到期）"),
    ]
    first, second = (t.split("</table>")[0] for t in side.split('data-testid="temporal-events"')[1:])
    assert side.count('data-testid="temporal-events"') == 2
    assert "工作流启动" in first and "propose_review" in first and "decide_review" in first
    assert "继续为新运行" in first and "继续为新运行" not in second
    assert "工作流启动" in second and "propose_review" not in second
    assert 'data-testid="runs-missing"' not in side
