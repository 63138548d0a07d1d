"""The payroll in a real browser: the township's approver checks the 发放花名册, a district officer confirms it,
downloads the bank file and imports the bank's return file chosen from disk (read by webapp/static/js/payroll.js);
the failure is listed as a task of the township. Screenshots go to test-artifacts/screenshots."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import Page

from tests.support.browser import Live, log_in
from tests.support.payroll import CARDS, ENROLLED_IN_OCTOBER, seed_recipient, start_payroll


async def test_the_roster_is_checked_confirmed_paid_and_a_failure_becomes_a_task(
    live: Live, page: Page, tmp_path: Path
) -> None:
    for n, card in enumerate(CARDS[:2], start=1):
        await seed_recipient(
            live.pool,
            f"SP-2026-110{n}",
            name=f"浏览{n}",
            **ENROLLED_IN_OCTOBER,
            card=card,
        )
    await start_payroll(live.env.client, "2026-11")
    pid = await live.pool.fetchval("select id from payrolls")

    await log_in(page, live, "shipo_shenpi")
    await page.click("nav.mainnav >> text=资金发放")
    await page.click(f"[data-testid=payrolls] tr[data-payroll='{pid}'] a")
    await page.click("[data-testid=check-form] button")
    await page.wait_for_url(f"**/payroll/{pid}?done=check")
    await live.screenshot(page, "payroll-checked")

    await page.context.clear_cookies()
    await log_in(page, live, "qu_minzheng")
    await page.goto(f"{live.url}/payroll/{pid}")
    await page.click("[data-testid=confirm-form] button")
    await page.wait_for_url(f"**/payroll/{pid}?done=confirm")
    async with page.expect_download() as download:
        await page.click("text=银行发放文件（CSV）")
    bank_file = await (await download.value).path()
    assert "合计,,2,1300.00" in await asyncio.to_thread(Path(bank_file).read_text, encoding="utf-8-sig")

    answer = tmp_path / "回盘.csv"
    rows = f"账号,金额,结果,失败原因\n{CARDS[0]},650.00,成功,\n{CARDS[1]},650.00,失败,户名不符\n"
    await asyncio.to_thread(answer.write_text, rows)
    await page.set_input_files("#return-file", str(answer))
    await page.click("[data-testid=return-form] button")
    await page.wait_for_url(f"**/payroll/{pid}?done=return")
    results = await page.inner_text("[data-testid=lines]")
    assert "成功" in results and "失败：户名不符" in results
    await live.screenshot(page, "payroll-reconciled")
    await page.goto(f"{live.url}/payroll")
    assert "银行发放失败：户名不符" in await page.inner_text("[data-testid=tasks]")
