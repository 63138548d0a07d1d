"""An ongoing review's adjustment may not raise the monthly amount above what the policy allows the household (audit
M1): the cap the review's override and the roster import apply (`rules.roster.amount_cap`: the standard of the
household's registration × its people × the override ratio; tekun: support plus the highest care standard, per
person). The one rule (`content_refusal`) refuses it, so the workflow's validator, the API (422
`amount_above_cap`) and the reviews page alike."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import asyncpg
import pytest
from temporalio.service import RPCError, RPCStatusCode

from activities.supervision import SupervisionActivities
from rules.actions import Refusal
from rules.ongoing_actions import content_refusal
from schemas.supervision import OngoingState, SupervisionNames
from tests.support.clients import app_client, csrf_token, log_in, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor
from tests.support.supervision import seed_case, with_household
from tests.support.workflows import refused
from tests.test_ongoing_duties import SHIPO, decide, propose, reviews, start_review, until_due

ABOVE = "调整后的金额 780.00 元超过该户月保障金上限 722.00 元（政策标准按家庭人数计算），不能调整"


def test_an_adjustment_above_the_cap_is_refused() -> None:
    cap = Decimal("722.00")
    reasons = "家庭人口减少"
    assert content_refusal("adjust", Decimal("600"), Decimal("780.00"), reasons, cap) == Refusal(
        "amount_above_cap", ABOVE
    )
    assert content_refusal("adjust", Decimal("600"), Decimal("722.01"), reasons, cap).code == "amount_above_cap"
    assert content_refusal("adjust", Decimal("600"), Decimal("722.00"), reasons, cap) is None  # the cap itself
    assert content_refusal("adjust", Decimal("900"), Decimal("800.00"), reasons, cap).code == "amount_above_cap"
    assert content_refusal("adjust", Decimal("600"), Decimal("780.00"), reasons) is None  # no cap known
    assert content_refusal("stop", Decimal("900"), None, "已由法定赡养人赡养", cap) is None  # a stop has no amount


async def test_the_cap_of_each_household_under_the_policy(pool: asyncpg.Pool) -> None:
    """Default policy: dibao rural 722, urban 911 a person (override ratio 1); tekun rural 938 + care 600 a person.
    A household not on record gets the higher of its two standards."""
    await seed_case(pool, "CAP-1", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=60000, people=1)
    await with_household(pool, "CAP-1", "rural")
    await seed_case(pool, "CAP-2", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=150000, people=3)
    await with_household(pool, "CAP-2", "urban")
    await seed_case(pool, "CAP-3", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=120000, people=1)
    await with_household(pool, "CAP-3", "rural")
    await pool.execute("update recipients set assistance_type = 'tekun' where case_id = 'CAP-3'")
    await seed_case(pool, "CAP-4", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=90000, people=2)
    facts = SupervisionActivities(pool, None)  # type: ignore[arg-type]  # no workflow is started
    caps = [(await facts.ongoing_facts(c, date(2026, 12, 4))).max_amount for c in ("CAP-1", "CAP-2", "CAP-3", "CAP-4")]
    assert caps == [Decimal("722.00"), Decimal("2733.00"), Decimal("1538.00"), Decimal("1822.00")]


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_the_workflow_the_api_and_the_page_refuse_an_adjustment_above_the_cap(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """The audit's example: a one-person rural dibao household at 600 adjusted to 780. The change (180 yuan,
    30 %) is within the township's bounds, but above 722 × 1 × 1 = 722: refused everywhere; 722 is decided."""
    await seed_case(pool, "CAP-9", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=60000, people=1)
    await with_household(pool, "CAP-9", "rural")
    await pool.execute("update recipients set next_review_on = '2026-12-04' where case_id = 'CAP-9'")
    h = await start_review(review_env, "CAP-9", date(2026, 12, 4), "600")
    s = await until_due(review_env, h, 1, date(2026, 12, 4))
    assert s.max_amount == Decimal("722.00")
    raise_ = propose(actor("shipo_jingban"), "adjust", "780", "家庭成员患病，支出增加")
    err = await refused(h.execute_update(SupervisionNames.PROPOSE_REVIEW, raise_))
    assert (err.type, err.message) == ("amount_above_cap", ABOVE)

    async with app_client(pool, review_env.client) as c:
        jingban = await login(c, "shipo_jingban", session=False)
        body = {"outcome": "adjust", "findings": "入户核查家庭收入情况", "new_amount": "780", "reasons": "支出增加"}
        r = await c.post("/api/ongoing-reviews/CAP-9/actions/propose", json=body, headers=jingban)
        assert (r.status_code, r.json()) == (422, {"code": "amount_above_cap", "message": ABOVE})
        assert (await log_in(c, "shipo_jingban")).status_code == 303
        page = (await c.get("/supervision/reviews")).text
        card = page.split('data-case="CAP-9"')[1].split("</section>")[0]
        assert "不超过 722.00 元（按政策标准和家庭人数计算）" in card
        form = body | {"csrftoken": csrf_token(page), "idempotency_key": "cap-9-form-1"}
        r = await c.post("/supervision/reviews/CAP-9/propose", data=form)
        assert r.status_code == 422 and ABOVE in r.text
    assert (await h.query(SupervisionNames.STATE, result_type=OngoingState)).status == "due"

    at_cap = raise_.model_copy(update={"new_amount": Decimal("722")})
    s = await h.execute_update(SupervisionNames.PROPOSE_REVIEW, at_cap, result_type=OngoingState)
    assert (s.status, s.proposal.new_amount) == ("proposed", Decimal("722.00"))
    try:
        await h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_shenpi")))
    except RPCError as exc:  # the time-skipping server may lose the answer of an update whose run continued as new
        assert exc.status is RPCStatusCode.NOT_FOUND
    assert await reviews(pool, "CAP-9") == [
        (date(2026, 12, 4), "adjust", 60000, 72200, "shipo_jingban", "shipo_shenpi", "township")
    ]
