"""District supervision in a real browser: a district officer draws last month's sample, records an
irregular re-check finding, reads the case's history with the re-check workflow's Temporal events,
then drafts and confirms the fund declaration. Screenshots go to test-artifacts/screenshots."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.async_api import Page

from tests.support.browser import Live, log_in
from tests.support.clients import SHIPO, SHUNHE
from tests.support.clock import beijing
from tests.support.supervision import BARRED, add_event, seed_case

# The first Monday of 2027: the month to draw, December 2026, is in the year before.
START = beijing(2027, 1, 4, 10, 0)


@pytest.mark.start_at(START)
async def test_a_district_officer_rechecks_a_sampled_case_and_confirms_the_declaration(live: Live, page: Page) -> None:
    month = "2026-12"
    decided = beijing(2026, 12, 22, 10, 0)  # paid from January 2027, the month declared below
    for i in range(8):
        await seed_case(
            live.pool,
            f"B-{i}",
            SHIPO if i < 5 else SHUNHE,
            decided,
            relatives=i == 2,
            amount_fen=50000 + 1000 * i,
            people=1 + i % 3,
        )
    await add_event(live.pool, "B-2", "relatives_matched", payload={"barred": BARRED}, at=decided)

    late = [{"case_id": "LATE-1", "applicant_name": "超期户", "deadline": "2026-12-31"}]
    await live.pool.execute(
        "insert into digests (digest_key, day, place_code, body) values ('2027-01-04-341503', $1, '341503', $2)",
        date(2027, 1, 4),
        {"overdue": late, "due_soon": [], "referrals": [], "complaints": []},
    )

    await log_in(page, live, "qu_minzheng")
    digest = " ".join((await page.inner_text("[data-testid=digest-panel]")).split())
    assert "2027-01-04" in digest and "已逾期 1" in digest
    await live.screenshot(page, "supervision-inbox-digest")
    await page.click("nav.mainnav >> text=监督管理")
    await page.wait_for_url("**/supervision/sampling")
    assert await page.input_value("[data-testid=draw-form] input[name=month]") == month
    await page.click("[data-testid=draw-form] button")
    await page.wait_for_url(f"**/supervision/sampling?month={month}&done=drawn")
    assert "已抽取样本" in await page.inner_text("[data-testid=done]")
    row = page.locator("[data-testid=rechecks] tr[data-case=B-2]")
    assert "近亲属备案命中（必抽）" in await row.inner_text()
    await live.screenshot(page, "supervision-sampling")

    await row.locator("a").click()
    await page.check("input[name=result][value=irregular]")
    await page.fill("textarea[name=findings]", "经办人王强与申请人系表兄弟，参与了入户调查，未回避")
    await page.check("input[name=home_visit]")
    await live.screenshot(page, "supervision-recheck-form")
    await page.click("[data-testid=finding-form] button")
    await page.wait_for_url("**done=1")
    assert await page.inner_text("[data-testid=status]") == "发现问题"
    await live.screenshot(page, "supervision-recheck-done")

    await page.goto(live.url + f"/supervision/sampling?month={month}")
    shipo = await page.inner_text("[data-testid=by-township] tr[data-township='341503106']")
    assert shipo.split()[-2:] == ["1", "1"]  # irregular this month and in all months, counted against 石婆店镇
    assert "未回避" in await page.inner_text("[data-testid=corrections]")

    await page.goto(live.url + "/cases/B-2/history")
    await page.select_option("select[name=workflow]", f"recheck-{month}-B-2")
    await page.click("[data-testid=filters] button[type=submit]")
    await page.wait_for_load_state("networkidle")
    events = await page.inner_text("[data-testid=temporal-events]")
    assert "record_finding" in events and "区民政局 陈立" in events and "record_recheck" in events
    assert "correction_opened" in await page.inner_text("[data-testid=db-events]")
    await live.screenshot(page, "supervision-history")

    await page.click("nav.admin-nav >> text=资金申报")
    this_month = "2027-01"
    assert await page.input_value("[data-testid=draft-form] input[name=month]") == this_month
    await page.fill("[data-testid=draft-form] input[name=month]", this_month)
    await page.click("[data-testid=draft-form] button")
    await page.wait_for_url(f"**/supervision/declarations/{this_month}/1?done=drafted")
    totals = await page.inner_text("[data-testid=totals]")
    # 8 households, 1+2+3+1+2+3+1+2 people, 500 + 510 + ... + 570 yuan
    assert totals.split()[-3:] == ["8", "15", "4,280.00"]
    await live.screenshot(page, "supervision-declaration-draft")
    await page.fill("[data-testid=confirm-form] textarea[name=note]", "本月首次申报")
    await page.click("[data-testid=confirm-form] button")
    await page.wait_for_url("**done=confirmed")
    assert await page.inner_text("[data-testid=status]") == "已确认"
    assert await page.locator("[data-testid=confirm-form]").count() == 0
    await live.screenshot(page, "supervision-declaration-confirmed")

    await page.click("nav.admin-nav >> text=动态管理")
    assert "B-2" in await page.inner_text("[data-testid=register]")
    await live.screenshot(page, "supervision-reviews")
    await page.click("nav.admin-nav >> text=回避与利益冲突")
    assert "石婆店镇经办人 王强" in await page.inner_text("[data-testid=matched] tr[data-case=B-2]")
    await live.screenshot(page, "supervision-conflicts")
