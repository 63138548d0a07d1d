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


async def test_styles_apply_under_a_csp_without_inline_style(live: Live, page: Page) -> None:
    """The CSP allows styles from this origin only: the portal's and the desk's stylesheets apply, and no page
    here reports a violation (an inline style would be refused and logged)."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    await page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => console.error("
        "'Content Security Policy violation: ' + e.violatedDirective))"
    )
    await page.goto(live.url + "/portal")
    header = await page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor")
    assert header == "rgb(180, 35, 24)"  # --brand #b42318 from /static/css/portal.css
    await log_in(page, live, "shipo_jingban")
    await page.goto(live.url + "/frontdoor/new")
    await page.wait_for_load_state("networkidle")
    needs = await page.evaluate("getComputedStyle(document.querySelector('.fd-needs')).display")
    assert needs == "grid"  # app.css, formerly a <style> in the template
    assert violations == []
