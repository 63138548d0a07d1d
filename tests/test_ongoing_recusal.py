"""Recusal in the ongoing review sees the staff register as it is at each proposal and decision (audit M7): an
entry made after the review fell due (a new hire records a relative among the household's members) bars its
author from proposing or deciding, through the workflow and the API alike, and the refused attempt is kept
for the district's conflicts page."""

from __future__ import annotations

import re
from datetime import date

import asyncpg
import pytest
from temporalio.service import RPCError, RPCStatusCode

from rules.ongoing_actions import RECUSED
from schemas.supervision import OngoingState, SupervisionNames
from tests.support.clients import app_client, log_in, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor, resident_id
from tests.support.supervision import seed_case, with_household
from tests.support.workflows import refused
from tests.test_ongoing_duties import SHENPI2, SHIPO, decide, propose, reviews, start_review, until_due

MEMBER = resident_id(date(1950, 3, 1))
DUE = date(2026, 12, 4)


async def register(pool: asyncpg.Pool, username: str, relation: str) -> None:
    """`username` records the household's applicant as a near relative in their own register."""
    await pool.execute(
        "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
        "select id, '测试户', $1, $2 from users where username = $3",
        MEMBER,
        relation,
        username,
    )


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_a_register_entry_made_after_the_due_day_bars_the_proposer_and_the_approver(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed_case(pool, "ORC-1", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=60000, people=1)
    await with_household(pool, "ORC-1", member=MEMBER)
    await pool.execute("update recipients set next_review_on = $1 where case_id = 'ORC-1'", DUE)
    h = await start_review(review_env, "ORC-1", DUE, "600")
    await until_due(review_env, h, 1, DUE)  # the household's facts are read: nobody is barred yet

    await register(pool, "shipo_jingban", "子女")
    err = await refused(h.execute_update(SupervisionNames.PROPOSE_REVIEW, propose(actor("shipo_jingban"), "continue")))
    assert (err.type, err.message) == ("recused", RECUSED)
    s = await h.query(SupervisionNames.STATE, result_type=OngoingState)
    assert (s.status, s.proposal) == ("due", None)  # nothing proposed: another caseworker may

    await h.execute_update(SupervisionNames.PROPOSE_REVIEW, propose(actor("shipo_diaocha"), "continue"))
    await register(pool, "shipo_shenpi", "兄弟姐妹")
    err = await refused(h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(actor("shipo_shenpi"))))
    assert (err.type, err.message) == ("recused", RECUSED)
    async with app_client(pool, review_env.client) as c:
        shenpi = await login(c, "shipo_shenpi", session=False)
        r = await c.post("/api/ongoing-reviews/ORC-1/actions/decide", json={"agree": True}, headers=shenpi)
        assert (r.status_code, r.json()) == (403, {"code": "recused", "message": RECUSED})
    rows = await pool.fetch("select username, action, code from refused_actions where case_id = 'ORC-1'")
    assert [tuple(row) for row in rows] == [("shipo_shenpi", "ongoing_decide", "recused")]
    s = await h.query(SupervisionNames.STATE, result_type=OngoingState)
    assert (s.status, s.proposal.actor.username) == ("proposed", "shipo_diaocha")
    assert await reviews(pool, "ORC-1") == []

    try:  # another approver of the township, unrelated, decides
        await h.execute_update(SupervisionNames.DECIDE_REVIEW, decide(SHENPI2))
    except RPCError as exc:  # the time-skipping server may lose the answer of an update whose run continued as new
        assert exc.status is RPCStatusCode.NOT_FOUND
    assert await reviews(pool, "ORC-1") == [
        (DUE, "continue", 60000, 60000, "shipo_diaocha", "shipo_shenpi2", "township")
    ]


MATCHED = {
    "username": "shipo_shenpi",
    "full_name": "石婆店镇审批人 张华",
    "reason": "近亲属备案：测试户（父母）",
}


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_a_register_match_of_an_imported_household_goes_to_the_conflicts_page_once(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """An imported household never had the review's relatives check: the register match its ongoing review finds
    (audit L4) is recorded on the case as that check records one, once, so the district's conflicts page lists it
    with the staff barred and why, closed without the district's visit."""
    await seed_case(pool, "ORC-2", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=60000, people=1)
    await pool.execute("update cases set channel = 'imported', status = 'closed' where case_id = 'ORC-2'")
    await with_household(pool, "ORC-2", member=MEMBER)
    await register(pool, "shipo_shenpi", "父母")
    h = await start_review(review_env, "ORC-2", DUE, "600")
    await until_due(review_env, h, 1, DUE)  # the facts are read: shipo_shenpi is barred, and it is recorded
    await h.execute_update(SupervisionNames.PROPOSE_REVIEW, propose(actor("shipo_jingban"), "continue"))  # read again

    rows = await pool.fetch(
        "select event_key, actor, payload from case_events where case_id = 'ORC-2' and kind = 'relatives_matched'"
    )
    assert [(r["event_key"], r["actor"], r["payload"]) for r in rows] == [
        (
            "ongoing-relatives_matched-shipo_shenpi",
            None,
            {
                "barred": [MATCHED],
                "summary": "动态管理复核时近亲属备案比对命中：石婆店镇审批人 张华（近亲属备案：测试户（父母））；"
                "相关人员回避，须由区民政局入户调查",
            },
        )
    ]
    row = await pool.fetchrow(
        "select relatives_match, district_visit_required, barred_users from cases where case_id = 'ORC-2'"
    )
    assert tuple(row) == (True, True, ["shipo_shenpi"])

    async with app_client(pool) as c:
        await log_in(c, "qu_jiandu")
        page = (await c.get("/supervision/conflicts")).text
    matched = page.split('data-testid="matched"')[1].split("</table>")[0]
    row_html = re.search(r'data-case="ORC-2"(.*?)</tr>', matched, re.S).group(1)
    assert "未入户即办结" in row_html and "石婆店镇审批人 张华" in row_html
    assert "近亲属备案：测试户（父母）" in row_html
