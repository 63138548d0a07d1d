"""Discovery in a real browser (issue 19, "done when"): the medical-insurance bureau's Excel list of 20 people
creates tasks only for those not already assisted, the township records an outcome, the district's coverage
page counts them. The file is read by the page's script (static/js/discovery.js) and posted as base64."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook
from playwright.async_api import Page

from tests.support.browser import Live, log_in, until_true
from tests.support.clock import DEFAULT_START
from tests.support.discovery import person, seed_households

SHIPO = "341503106"


async def test_a_list_of_twenty_tasks_the_unassisted_and_the_district_counts(
    live: Live, page: Page, tmp_path: Path
) -> None:
    await seed_households(live.pool, 1, 8, SHIPO, recipients=True, decided=DEFAULT_START)
    await seed_households(live.pool, 9, 12, SHIPO, recipients=False, decided=DEFAULT_START)
    book = Workbook()
    sheet = book.active
    sheet.append(["身份证号", "姓名", "信号类别", "信号日期"])
    for i in range(1, 21):
        sheet.append([person(i), f"测试{i}", "大额医疗支出", date(2026, 11, 20)])
    path = tmp_path / "医保局大额支出名单.xlsx"
    book.save(path)

    await log_in(page, live, "yiliao_bu")
    await page.goto(live.url + "/bureau/discovery")
    await page.set_input_files("#discovery-file", str(path))
    await until_true(page, "document.querySelector('input[name=content_base64]').value.length > 100")
    await page.click("form.import-form button[type=submit]")
    await page.wait_for_load_state("networkidle")
    result = await page.locator("[data-testid=upload-result]").inner_text()
    assert "收到 20 人，已在保障 8 人，生成发现任务 12 个，90 天内重复 0 人" in result
    await live.screenshot(page, "discovery-upload")

    await page.context.clear_cookies()
    await log_in(page, live, "shipo_jingban")
    await page.goto(live.url + "/discovery")
    assert await page.locator("[data-testid=discovery-tasks] tbody tr").count() == 12
    await live.screenshot(page, "discovery-tasks")
    await page.click("[data-testid=discovery-tasks] tbody tr:first-child a")
    await page.wait_for_load_state("networkidle")
    await page.select_option("select[name=outcome]", "applied")
    await page.fill("input[name=visited_on]", "2026-11-24")
    await page.fill("textarea[name=note]", "已入户，指导提交低保申请")
    await page.click("[data-testid=outcome-form] button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert "已申请救助" in await page.locator("[data-testid=task-status]").inner_text()
    await live.screenshot(page, "discovery-task")

    await page.context.clear_cookies()
    await log_in(page, live, "qu_minzheng")
    await page.goto(live.url + "/dashboard/discovery")
    row = await page.locator(f"[data-township='{SHIPO}']").inner_text()
    assert row.split() == ["石婆店镇", "20", "8", "8", "12", "0", "1", "0", "1", "0"]
    await live.screenshot(page, "discovery-coverage")
