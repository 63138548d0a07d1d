"""The administrator's pages in a real browser: creating a user (the jurisdiction list follows the role
through htmx) and importing a holiday notice (the file is read by the page's script)."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.async_api import Page

from tests.support.browser import Live, log_in, until_true
from tests.support.factories import NOTICE_2030


async def test_admin_creates_a_user(live: Live, page: Page) -> None:
    await log_in(page, live, "admin")
    assert page.url.endswith("/admin")
    await live.screenshot(page, "admin-overview")
    await page.click(".admin-nav >> text=用户与角色")
    await page.wait_for_load_state("networkidle")
    await live.screenshot(page, "admin-users")

    await page.click("text=新建用户")
    await page.fill("input[name=username]", "shipo_cun2")
    await page.fill("input[name=full_name]", "石婆店镇示范村二 村干部 陈红")
    await page.select_option("select[name=role]", "village_cadre")
    village = "select[name=place_code] option[value='341503106202']"
    await page.wait_for_selector(village, state="attached")  # htmx swapped in the villages
    await page.select_option("select[name=place_code]", "341503106202")
    await live.screenshot(page, "admin-user-new")
    await page.click("button:has-text('创建用户')")
    await page.wait_for_load_state("networkidle")
    assert "已创建用户 shipo_cun2" in await page.locator("[role=status]").inner_text()
    assert len(await page.locator("[data-testid=one-time-code]").inner_text()) == 19  # the one-time code, once
    await live.screenshot(page, "admin-user-code")
    await page.goto(live.url + "/admin/users?q=shipo_cun2")
    row = page.locator("tr", has_text="shipo_cun2")
    assert "石婆店镇示范村二" in await row.inner_text() and "村（社区）干部" in await row.inner_text()
    await live.screenshot(page, "admin-user-created")

    await page.click("tr:has-text('shipo_cun2') >> text=编辑")
    await page.wait_for_load_state("networkidle")
    await live.screenshot(page, "admin-user-edit")


async def test_admin_imports_a_notice_and_counts_with_it(live: Live, page: Page, tmp_path: Path) -> None:
    notice = tmp_path / "notice-2030.json"
    notice.write_text(json.dumps(NOTICE_2030, ensure_ascii=False), encoding="utf-8")
    await log_in(page, live, "admin")
    await page.click(".admin-nav >> text=工作日历")
    await page.wait_for_load_state("networkidle")
    await page.set_input_files("#notice-file", str(notice))
    await until_true(page, "document.querySelector('textarea[name=content]').value.includes('2030-01-05')")
    await live.screenshot(page, "admin-calendar-chosen")
    await page.click("form.import-form button[value=import]")
    await page.wait_for_load_state("networkidle")
    flash = await page.locator(".flash").inner_text()
    assert "已导入 2030 年：节假日 12 天，调休上班 1 天" in flash and "已通知 0 个在办案件" in flash

    await page.fill("input[name=start]", "2029-12-31")
    await page.fill("input[name=n]", "3")
    await page.click("button:has-text('计算')")
    await page.wait_for_load_state("networkidle")
    assert "2030-01-05（星期六）" in await page.locator("[data-testid=compute-result]").inner_text()
    await live.screenshot(page, "admin-calendar")


async def test_other_admin_pages_render(live: Live, page: Page) -> None:
    """Screenshots of the remaining sections, to look at (and a check that each opens)."""
    await log_in(page, live, "admin")
    for path, name in [
        ("/admin/places", "admin-places"),
        ("/admin/places/341503104/villages/new", "admin-village-new"),
        ("/admin/relatives", "admin-relatives"),
        ("/admin/relatives/shipo_diaocha", "admin-relatives-one"),
        ("/admin/policy", "admin-policy"),
        ("/admin/policy/1", "admin-policy-view"),
        ("/admin/policy/new", "admin-policy-new"),
    ]:
        await page.goto(live.url + path)
        assert await page.locator("h1").count() == 1, path
        await live.screenshot(page, name)
    await page.goto(live.url + "/account/relatives")
    await page.fill("input[name=name]", "王大明")
    await page.fill("input[name=id_number]", "110105194912310021")
    await page.select_option("select[name=relation]", "兄弟姐妹")
    await page.click("button:has-text('登记备案')")
    await page.wait_for_load_state("networkidle")
    assert "校验位错误" in await page.locator("[role=alert]").inner_text()
    assert await page.input_value("input[name=name]") == "王大明"
    await live.screenshot(page, "account-relatives-refused")
    await page.click("[data-testid=lang-en]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("h1").inner_text() == "My near relatives"
    await page.goto(live.url + "/admin/users")
    await live.screenshot(page, "admin-users-en")
