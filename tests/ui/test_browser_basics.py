"""Log-in, language switch and CSRF in a real browser."""

from __future__ import annotations

from playwright.async_api import Page

from tests.support.browser import Live, log_in


async def test_log_in_switch_language_and_log_out(live: Live, page: Page) -> None:
    await page.goto(live.url + "/account")
    assert "/login" in page.url
    await live.screenshot(page, "login")
    await log_in(page, live, "shipo_jingban")
    await page.goto(live.url + "/account")
    assert await page.locator("h1").inner_text() == "我的账户"
    await page.click("[data-testid=lang-en]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("h1").inner_text() == "My account"
    await live.screenshot(page, "account-en")
    await page.click("[data-testid=lang-zh_CN]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("h1").inner_text() == "我的账户"
    await page.click("text=退出")
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith("/login")


async def test_post_without_csrf_token_is_refused(live: Live, page: Page) -> None:
    await log_in(page, live, "shipo_jingban")
    status = await page.evaluate(
        """async () => (await fetch('/account/password', {method: 'POST',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'},
             body: 'current=jiuzhu2026&new=abcdefgh1&confirm=abcdefgh1'})).status"""
    )
    assert status == 403
