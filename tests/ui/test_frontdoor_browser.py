"""The 12349 front door in the browser: a resident applies on a phone and checks the status; the
township triages at the desk; the medical insurance bureau answers in its inbox; the resident sees it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page

from tests.support.browser import Live, log_in
from tests.support.clock import beijing
from tests.support.frontdoor import PERSON, resident


async def submit(page: Page, form: str) -> None:
    async with page.expect_navigation():
        await page.click(f"{form} button[type=submit]")


async def check_status(phone: Page, live: Live, number: str) -> str:
    await phone.goto(f"{live.url}/portal/status")
    await phone.fill("#request_no", number)
    await phone.fill("#id_number", PERSON)
    await phone.fill("#phone", resident()["phone"])
    await submit(phone, "form[action='/portal/status']")
    return await phone.locator("main").inner_text()


# Friday 2026-02-13, before Spring Festival: Saturday 02-14 is worked, 02-15..23 are off, so the 5 working days
# to answer are 02-14, 02-24, 02-25, 02-26 and 02-27.
@pytest.mark.start_at(beijing(2026, 2, 13, 16, 0))
async def test_resident_applies_on_a_phone_and_a_bureau_answers(live: Live, browser: Browser, page: Page) -> None:
    mobile = await browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True, device_scale_factor=2
    )
    phone = await mobile.new_page()
    phone.set_default_timeout(15_000)
    await phone.goto(f"{live.url}/portal")
    await live.screenshot(phone, "portal-home-mobile")
    await phone.click("[data-testid=go-apply]")
    await phone.check("input[value=medical_costs]")
    await phone.fill("#name", "周大勇")
    await phone.fill("#id_number", PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1"))
    await phone.fill("#phone", resident()["phone"])
    assert "应为" + PERSON[-1] in await phone.locator("#id_number-error").inner_text()  # checked in the page
    await phone.fill("#id_number", PERSON)
    await phone.select_option("#township_code", "341503106")
    await phone.wait_for_selector("#village_code option[value='341503106201']", state="attached")
    await phone.select_option("#village_code", "341503106201")
    await phone.fill("#description", "妻子重病住院，医药费负担很重")
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    await live.screenshot(phone, "portal-apply-mobile")
    await submit(phone, "form[action='/portal/apply']")
    number = await phone.locator("[data-testid=request-no]").inner_text()
    assert number.startswith("12349-20260213-")
    due = " ".join((await phone.locator("[data-testid=answer-due]").inner_text()).split())
    assert due == "我们将在 5 个工作日内（2026-02-27 前）答复您。"
    await live.screenshot(phone, "portal-receipt-mobile")
    text = await check_status(phone, live, number)
    assert "看病负担重" in text and "已收到" in text

    await log_in(page, live, "shipo_jingban")
    await page.goto(f"{live.url}/frontdoor")
    await page.click(f"[data-testid=waiting-triage] a:text('{number}')")
    assert await page.locator("input[name=needs][value=medical_costs]").is_checked()  # what the resident chose
    await live.screenshot(page, "frontdoor-request-triage")
    await submit(page, "[data-testid=triage-form]")
    assert "区医保局" in await page.locator("[data-testid=needs]").inner_text()
    await page.click("text=退出")

    await log_in(page, live, "yiliao_bu")  # the bureau's home is its inbox
    assert page.url.endswith("/bureau")
    row = page.locator("[data-testid=referral-inbox] tr[data-referral]")
    await row.first.wait_for()
    assert await row.count() == 1 and "周大勇" in await row.first.inner_text()
    await live.screenshot(page, "bureau-inbox")
    await row.first.locator("a").click()
    await page.wait_for_load_state("networkidle")
    await submit(page, "form[action$='/accept']")
    assert "办理中" in await page.locator("[data-testid=referral-status]").inner_text()
    await page.fill("textarea[name=help_given]", "住院费用医疗救助一次性报销")
    await page.fill("input[name=amount]", "-5")
    await submit(page, "form[action$='/result']")
    assert await page.locator("[data-testid=refusal]").count() == 1
    assert await page.input_value("textarea[name=help_given]") == "住院费用医疗救助一次性报销"  # kept
    await page.fill("input[name=amount]", "3200")
    await submit(page, "form[action$='/result']")
    assert "3200.00" in await page.locator("[data-testid=outcome]").inner_text()
    await live.screenshot(page, "bureau-referral-answered")

    text = await check_status(phone, live, number)
    assert "已答复" in text and "住院费用医疗救助一次性报销" in text
    await live.screenshot(phone, "portal-status-answered-mobile")
    await mobile.close()

    await page.click("text=退出")
    await log_in(page, live, "qu_minzheng")
    # filed online in PERSON's name: the desk confirms it is theirs before the household view lists it
    await page.goto(f"{live.url}/frontdoor/requests/{number}")
    await page.fill("form[action$='/verify-identity'] input[name=note]", "已电话回访本人确认")
    await submit(page, "form[action$='/verify-identity']")
    await page.click("text=家庭信息")
    await page.fill("input[name=id_number]", PERSON)
    await submit(page, "form[action='/households']")
    assert PERSON in await page.locator("[data-testid=household-head]").inner_text()
    assert "住院费用医疗救助一次性报销" in await page.locator("[data-testid=hh-referrals]").inner_text()
    await live.screenshot(page, "household-view")
    await page.goto(f"{live.url}/frontdoor/district")
    await live.screenshot(page, "frontdoor-district")
