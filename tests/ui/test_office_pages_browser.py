"""Issue 17, points 6-8 in Chromium, with screenshots in test-artifacts/screenshots: the policy as a form in
Chinese with its changes against the version in force; the calendar's sample file and preview; the
village cadre's fund ledger (menu, names, event links, dates, CSV); Beijing time on the emergency record;
the portal's per-field errors, the ask page without script errors, and the favicon; the English timeline."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

from playwright.async_api import Page

from tests.support.browser import Live, log_in, until_true
from tests.support.calendar import law_days
from tests.support.emergency import VILLAGE, fund, pay, start_emergency
from tests.support.factories import NOTICE_2030
from tests.support.review import start


async def submit(page: Page, selector: str) -> None:
    async with page.expect_navigation():
        await page.click(selector)


def errors_of(page: Page) -> list[str]:
    """Console and script errors of `page` from now on."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: found.append(str(e)))
    return found


async def test_policy_form_names_fields_in_chinese_and_shows_its_changes(live: Live, page: Page) -> None:
    await log_in(page, live, "admin")
    await page.goto(live.url + "/admin/policy/new")
    assert await page.locator("[data-section=review] legend").inner_text() == "审核审批"
    assert "个工作日" in await page.locator("dd[data-field='review.promised_working_days']").inner_text()
    assert await page.locator("#p-review\\.notice_unit option:checked").inner_text() == "自然日"
    await page.fill("#p-review\\.promised_working_days", "15")
    await page.fill("#p-review\\.notice_length", "")
    await page.fill("#p-note", "承诺时限缩短为 15 个工作日")
    await submit(page, "[data-testid=policy-preview]")
    problems = await page.locator("[data-testid=policy-problems]").inner_text()
    assert "公示期长度：为必填项" in problems
    assert await page.locator("[data-error-for='review.notice_length']").inner_text() == "为必填项"
    assert await page.input_value("#p-review\\.promised_working_days") == "15"  # what was typed stays
    await live.screenshot(page, "policy-form-error")

    await page.fill("#p-review\\.notice_length", "7")
    await submit(page, "[data-testid=policy-preview]")
    row = page.locator("[data-testid=policy-diff] tr[data-field='review.promised_working_days']")
    assert " ".join((await row.inner_text()).split()) == "审核审批 承诺办结时限 20 个工作日 15 个工作日"
    assert await page.locator("[data-testid=policy-diff] tbody tr").count() == 2  # the days and the note
    await live.screenshot(page, "policy-form-preview")
    await submit(page, "button[value=store]")
    assert page.url.endswith("/admin/policy/2")
    assert await page.locator("[data-testid=policy-diff] tbody tr").count() == 2
    assert "15个工作日" in await page.locator("dd[data-field='review.promised_working_days']").inner_text()
    await live.screenshot(page, "policy-view")


async def test_calendar_sample_download_and_preview(live: Live, page: Page, tmp_path: Path) -> None:
    await log_in(page, live, "admin")
    await page.goto(live.url + "/admin/calendar")
    async with page.expect_download() as info:
        await page.click("text=下载 CSV 示例")
    sample = await asyncio.to_thread(Path(await (await info.value).path()).read_text, encoding="utf-8-sig")
    assert sample.startswith("date,kind,name\n2027-01-01,holiday,元旦\n")  # next year's statutory days
    assert "2027-10-01,holiday,国庆节" in sample

    notice = tmp_path / "notice-2030.csv"
    law = "".join(f"{d},holiday,\n" for d in law_days(2030, "2030-01-01"))  # the law's other weekdays off
    notice.write_text(
        "date,kind,name\n2030-01-01,holiday,元旦\n2030-01-02,holiday,元旦\n2030-01-05,workday,元旦调休\n" + law,
        encoding="utf-8",
    )
    await page.set_input_files("#notice-file", str(notice))
    await until_true(page, "document.querySelector('textarea[name=content]').value.includes('2030-01-05')")
    await page.fill("input[name=source]", NOTICE_2030["source"])
    await submit(page, "[data-testid=calendar-preview]")
    preview = page.locator("[data-testid=preview]")
    assert "放假 12 天，调休上班 1 天，其中 2 天与现有日历不同" in await preview.inner_text()
    assert await preview.locator("tr.near").evaluate_all("rows => rows.map(r => r.dataset.day)") == [
        "2030-01-02",
        "2030-01-05",
    ]
    assert await live.pool.fetchval("select count(*) from calendar_years") == 0  # a preview imports nothing
    await live.screenshot(page, "calendar-preview")
    await submit(page, "form.import-form button[value=import]")
    assert "已导入 2030 年" in await page.locator(".flash").inner_text()


async def test_cadre_ledger_in_the_menu_with_names_links_dates_and_export(live: Live, page: Page) -> None:
    await fund(live.pool, VILLAGE, "1000.00")
    await live.pool.execute(
        "insert into fund_entries (fund_id, kind, amount_fen, source, donor, note, recorded_by) "
        "select id, 'income', 10000, 'donation', '爱心人士', '=HYPERLINK(\"http://x\")', 'shipo_cun1' from aid_funds "
        "where place_code = $1",
        VILLAGE,
    )
    h = await start_emergency(live.env, "JJN-LEDGER-1")
    await pay(h, "shipo_cun1", "village", "300")
    await log_in(page, live, "shipo_cun1")
    await submit(page, "[data-testid=nav-ledger]")
    assert page.url.endswith(f"/funds/{VILLAGE}")
    payment = page.locator("[data-testid=ledger] tbody tr", has_text="支出")
    assert "赵六" in await payment.inner_text()
    assert await payment.locator("a").get_attribute("href") == "/emergencies/JJN-LEDGER-1"
    await live.screenshot(page, "cadre-ledger")

    export = await page.request.get(live.url + await page.get_attribute("[data-testid=ledger-export]", "href"))
    assert export.status == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO((await export.body()).decode("utf-8-sig"))))
    assert rows[0][:4] == ["时间（北京时间）", "类型", "金额（元）", "来源/受助人"]
    assert [r[1:5] for r in rows[1:2]] == [["支出", "-300.00", "赵六", "JJN-LEDGER-1"]]
    assert ["社会捐赠 · 爱心人士", "", '\'=HYPERLINK("http://x")'] in [r[3:6] for r in rows]  # formula-safe

    # Entries are stamped by the database's clock, not the test's: filter with dates on either side of any.
    await page.fill("input[name=since]", "2000-01-01")
    await page.fill("input[name=until]", "2099-12-31")
    await submit(page, "[data-testid=ledger-filter] button")
    assert await page.locator("[data-testid=ledger] tbody tr").count() == 3
    await page.fill("input[name=since]", "2099-01-01")
    await submit(page, "[data-testid=ledger-filter] button")
    assert "since=2099-01-01" in page.url
    assert await page.locator("[data-testid=ledger] tbody tr").inner_text() == "暂无台账记录。"
    assert "since=2099-01-01" in await page.get_attribute("[data-testid=ledger-export]", "href")

    await page.goto(live.url + "/emergencies/JJN-LEDGER-1")
    registered = await page.locator("dt:text-is('登记时间') + dd").inner_text()
    assert registered.startswith("2026-11-24 09:")  # the suite starts at 09:30 Beijing, 01:30 UTC
    assert "UTC" not in await page.locator("main").inner_text()
    assert registered in await page.locator(".meta").first.inner_text()  # the record says the same time


async def test_portal_errors_per_field_ask_page_and_favicon(live: Live, page: Page) -> None:
    errors = errors_of(page)
    await page.goto(live.url + "/portal/apply")
    await submit(page, "button.primary")
    expected = {
        "name": "请填写姓名",
        "id_number": "请填写身份证号码",
        "phone": "请填写联系电话",
        "township_code": "请选择乡镇（街道）",
        "description": "请写明情况",
        "needs": "请至少选择一项求助事项",
    }
    assert {f: await page.locator(f"#{f}-error").inner_text() for f in expected} == expected
    await live.screenshot(page, "portal-apply-errors")

    errors.clear()  # the refused form's own 422
    await page.goto(live.url + "/portal/ask")
    await page.select_option("#township_code", "341503106")
    await page.wait_for_timeout(300)  # an htmx request would have gone out by now
    assert errors == []  # no htmx:targetError: the ask page has no village list to swap
    icon = await page.request.get(live.url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert await page.get_attribute("link[rel=icon]", "href") == "/static/favicon.svg"
    await live.screenshot(page, "portal-ask")


async def test_the_english_timeline_is_written_from_the_events_data(live: Live, page: Page) -> None:
    h = await start(live.env)
    case_id = None
    for _ in range(200):
        case_id = await live.pool.fetchval("select case_id from cases where workflow_id = $1", h.id)
        if case_id:
            break
        await asyncio.sleep(0.05)
    await log_in(page, live, "shipo_jingban")
    await page.goto(f"{live.url}/cases/{case_id}")
    accepted = page.locator("[data-testid=timeline] tr[data-kind=accepted] td").last
    chinese = await accepted.inner_text()
    await page.click("[data-testid=lang-en]")
    await page.wait_for_load_state("networkidle")
    assert await accepted.inner_text() == "Application accepted" != chinese
    await live.screenshot(page, "case-timeline-en")
