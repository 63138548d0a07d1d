"""Only an `adjust` changes a recipient's monthly amount in the ongoing review (动态管理): with written reasons,
within the township's bounds, with a written decision, from the next month. A "continue" or a "stop" carrying a
new amount is refused by the one rule (`content_refusal`), so by the workflow's validator and the API (422
`invalid`); and the register ignores a new amount on any outcome but `adjust`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from db import recipients_repo
from rules.actions import Refusal
from rules.ongoing_actions import content_refusal
from schemas.supervision import OngoingApplied, OngoingState, SupervisionNames
from tests.support.clients import app_client, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor
from tests.support.supervision import seed_case
from tests.support.workflows import refused
from tests.test_ongoing_duties import SHIPO, propose, reviews, start_review, until_due

ONLY_ADJUST = "只有「调整金额」可以填写调整后的金额，「继续保障」或「停发」不能填写金额"


def test_a_new_amount_only_with_an_adjust() -> None:
    old = Decimal("900")
    assert content_refusal("continue", old, Decimal("1.00"), "") == Refusal("invalid", ONLY_ADJUST)
    assert content_refusal("continue", old, Decimal("900"), "情况无变化") == Refusal("invalid", ONLY_ADJUST)
    assert content_refusal("stop", old, Decimal("0.01"), "已由法定赡养人赡养") == Refusal("invalid", ONLY_ADJUST)
    assert content_refusal("continue", old, None, "") is None
    assert content_refusal("adjust", old, Decimal("800"), "子女就业，收入增加") is None


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_a_continue_with_an_amount_is_refused_by_the_workflow_and_the_api(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_case(pool, "OAM-1", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=80000)
    h = await start_review(review_env, "OAM-1", date(2026, 12, 4), "800")
    await until_due(review_env, h, 1, date(2026, 12, 4))
    silent = propose(actor("shipo_jingban"), "continue", "1")
    err = await refused(h.execute_update(SupervisionNames.PROPOSE_REVIEW, silent))
    assert (err.type, err.message) == ("invalid", ONLY_ADJUST)
    url = "/api/ongoing-reviews/OAM-1/actions/propose"
    async with app_client(pool, review_env.client) as c:
        jingban = await login(c, "shipo_jingban", session=False)
        body = {"outcome": "continue", "findings": "情况无变化", "new_amount": "1.00"}
        r = await c.post(url, json=body, headers=jingban)
        assert (r.status_code, r.json()) == (422, {"code": "invalid", "message": ONLY_ADJUST})
        stop = {"outcome": "stop", "findings": "入户核查", "new_amount": "0.01", "reasons": "已由法定赡养人赡养"}
        r = await c.post(url, json=stop, headers=jingban)
        assert (r.status_code, r.json()) == (422, {"code": "invalid", "message": ONLY_ADJUST})
        r = await c.post(url, json={"outcome": "continue", "findings": "情况无变化"}, headers=jingban)
        assert (r.status_code, r.json()["status"], r.json()["proposal"]["new_amount"]) == (200, "proposed", None)
    s = await h.query(SupervisionNames.STATE, result_type=OngoingState)
    assert (s.status, s.monthly_amount, s.proposal.outcome) == ("proposed", Decimal("800.00"), "continue")
    assert await reviews(pool, "OAM-1") == []


async def test_the_register_ignores_a_new_amount_on_a_continue(pool: asyncpg.Pool) -> None:
    """Defence in depth: a finding recorded before the rule (a replayed history) keeps the amount as it was."""
    await seed_case(pool, "OAM-2", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=80000, cadence_months=6)
    finding = propose(actor("shipo_jingban"), "continue", "1.00")
    applied = OngoingApplied(
        review_key="OAM-2-1", case_id="OAM-2", due_on=date(2026, 12, 4), finding=finding, old_amount=Decimal("800")
    )
    async with pool.acquire() as conn:
        await recipients_repo.apply_review(conn, applied)
    row = await pool.fetchrow("select monthly_amount_fen, next_review_on from recipients where case_id = 'OAM-2'")
    assert (row["monthly_amount_fen"], row["next_review_on"]) == (80000, date(2027, 6, 4))
    assert await reviews(pool, "OAM-2") == [(date(2026, 12, 4), "continue", 80000, 80000, "shipo_jingban", None, None)]
