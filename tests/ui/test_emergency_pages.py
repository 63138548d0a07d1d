"""Emergency aid in the browser: a village cadre pays the same day, the cap is shown and enforced,
the township adds more after escalation, the ledger balances and the district sees the totals."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.async_api import Page

from tests.support.browser import Live, log_in
from tests.support.clock import beijing
from tests.support.emergency import TOWNSHIP, VILLAGE
from tests.support.factories import resident_id


async def submit(page: Page, form: str) -> None:
    async with page.expect_navigation():
        await page.click(f"{form} button[type=submit]")


# Friday 2026-02-13, before Spring Festival: the papers for aid paid today are due in 5 working days, on 02-27
# (Saturday 02-14 is worked, 02-15..23 are off).
@pytest.mark.start_at(beijing(2026, 2, 13, 16, 0))
async def test_village_pays_township_adds_district_sees(live: Live, page: Page) -> None:
    await log_in(page, live, "shipo_cun1")
    await page.goto(f"{live.url}/funds/{VILLAGE}")
    await page.fill("input[name=amount]", "2000")
    await page.select_option("select[name=source]", "donation")
    await submit(page, "form.filters")
    assert "捐赠人" in await page.locator("[role=alert]").inner_text()  # a donation needs its donor
    assert await page.input_value("input[name=amount]") == "2000"  # kept
    await page.fill("input[name=donor]", "裕安爱心企业")
    await submit(page, "form.filters")
    assert await page.locator("[data-testid=balance]").inner_text() == "2000.00"

    await page.goto(f"{live.url}/emergencies/new")
    await page.select_option("select[name=kind]", "illness")
    await page.fill("input[name=name]", "钱八")
    good = resident_id(date(1966, 8, 8))
    await page.fill("input[name=id_number]", good[:-1] + ("1" if good[-1] != "1" else "2"))  # wrong check digit
    await page.fill("input[name=address]", "示范村一 钱家洼 9 号")
    await page.fill("textarea[name=description]", "突发脑出血住院")
    await submit(page, "form")
    assert "校验位" in await page.locator("[role=alert]").first.inner_text()
    assert await page.input_value("input[name=name]") == "钱八"
    await page.fill("input[name=id_number]", good)
    await submit(page, "form")
    assert f"/emergencies/JJN-{VILLAGE}-20260213" in page.url
    await live.screenshot(page, "emergency-registered")

    await page.fill("[data-testid=amount]", "800")
    await submit(page, "form[action$=approve]")
    assert await page.locator("[data-testid=room]").inner_text() == "200.00"
    assert "已办理" in await page.locator("[role=status]").inner_text()
    assert await page.locator("dt:text-is('材料补齐期限') + dd").inner_text() == "2026-02-27"
    await page.fill("[data-testid=amount]", "300")
    await submit(page, "form[action$=approve]")
    assert "还可发放 200.00 元" in await page.locator("[data-testid=refusal]").inner_text()
    assert await page.input_value("[data-testid=amount]") == "300"  # what was typed stays
    await live.screenshot(page, "emergency-cap-refused")
    await page.fill("[data-testid=amount]", "200")
    await submit(page, "form[action$=approve]")
    await page.fill("form[action$=escalate] input[name=reason]", "住院费用高")
    await submit(page, "form[action$=escalate]")
    event_url = page.url

    await live.pool.execute(
        "insert into fund_entries (fund_id, kind, amount_fen, source, recorded_by) "
        "select id, 'income', 500000, 'government', 'admin' from aid_funds where place_code = $1",
        TOWNSHIP,
    )
    await page.click("text=退出")
    await log_in(page, live, "shipo_shenpi")
    await page.goto(event_url)
    await page.fill("[data-testid=amount]", "1500")
    await submit(page, "form[action$=approve]")
    assert "1500.00" in await page.locator("[data-testid=totals]").inner_text()

    await page.goto(f"{live.url}/funds/{VILLAGE}")
    assert await page.locator("[data-testid=balance]").inner_text() == "1000.00"
    await live.screenshot(page, "village-ledger")

    await page.click("text=退出")
    await log_in(page, live, "qu_jiandu")
    await page.goto(f"{live.url}/emergencies")
    totals = await page.locator("[data-testid=tier-totals]").inner_text()
    assert "石婆店镇" in totals and "2500.00" in totals
    await live.screenshot(page, "emergencies-district")
    await page.goto(event_url)
    assert await page.locator("form[action$=approve]").count() == 0  # supervisors read, they do not pay
