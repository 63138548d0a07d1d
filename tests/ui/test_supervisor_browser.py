"""Supervisor pages in a real browser: the dashboard's charts draw, the exports download, and a district
officer takes over a case that the workflow itself escalated (time-skipping server)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime, timedelta

from playwright.async_api import Page

from tests.review_support import start, state
from tests.ui.conftest import Live, log_in
from tests.ui.test_supervisor_pages import BEIJING, SHUNHE, add_case, at


async def seed_district(live: Live) -> None:
    """A few weeks of cases in three townships, some decided, one overdue."""
    today = datetime.now(BEIJING).date()
    names = ["王大山", "李秀英", "张建国", "刘桂兰", "陈志强", "杨丽", "赵德明", "黄小红"]
    for i in range(24):
        township = ("341503106", "341503104", "341503001")[i % 3]
        accepted = today - timedelta(days=3 + i * 4)
        decided = at(accepted + timedelta(days=14 + i % 9), 15) if i % 2 else None
        stage = (
            ("enrolled" if i % 4 == 1 else "refused") if decided else ("investigation", "hearing", "decision")[i % 3]
        )
        await add_case(
            live.pool,
            f"D{i:03d}",
            township=township,
            name=names[i % len(names)],
            kind="tekun" if i % 5 == 0 else "dibao",
            stage=stage,
            status=stage if decided else "open",
            accepted=at(accepted),
            decided=decided,
            overdue=i == 20,
        )


async def test_dashboard_draws_a_chart_per_canvas(live: Live, page: Page) -> None:
    await seed_district(live)
    await log_in(page, live, "qu_jiandu")
    assert page.url.endswith("/dashboard")
    await page.wait_for_function("() => window.Chart && document.querySelectorAll('canvas[data-chart]').length === 3")
    drawn = await page.evaluate(
        """() => [...document.querySelectorAll('canvas[data-chart]')].map(canvas => {
             const chart = Chart.getChart(canvas);
             const ctx = canvas.getContext('2d');
             const pixels = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
             let painted = 0;
             for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
             return {name: canvas.dataset.chart, type: chart && chart.config.type,
                     datasets: chart ? chart.data.datasets.length : 0, painted};
           })"""
    )
    assert [d["name"] for d in drawn] == ["stages", "times", "weekly"]
    assert [d["type"] for d in drawn] == ["bar", "bar", "line"]
    assert drawn[0]["datasets"] == 7 and drawn[1]["datasets"] == 3 and drawn[2]["datasets"] == 2
    assert all(d["painted"] > 1000 for d in drawn), drawn
    assert await page.locator("[data-kpi=total]").inner_text() == "24"
    await live.screenshot(page, "supervisor-dashboard")


async def test_case_list_and_csv_download(live: Live, page: Page) -> None:
    await seed_district(live)
    await log_in(page, live, "qu_jiandu")
    await page.goto(live.url + "/cases")
    assert await page.locator("[data-testid=case-total]").inner_text() == "共 24 件"
    await live.screenshot(page, "supervisor-cases")
    await page.select_option("select[name=township]", SHUNHE)
    await page.click("form.sv-filters button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("[data-testid=case-total]").inner_text() == "共 8 件"
    async with page.expect_download() as info:
        await page.click("[data-testid=export-csv]")
    download = await info.value
    content = await asyncio.to_thread((await download.path()).read_bytes)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 9 and {r[4] for r in rows[1:]} == {"顺河镇"}


async def test_officer_takes_over_an_escalated_case(live: Live, page: Page) -> None:
    handle = await start(live.env, "OVERDUE-UI")
    await live.env.sleep(timedelta(days=40))  # past the 20-working-day limit: the workflow escalates
    for _ in range(600):
        if await live.pool.fetchval("select count(*) from escalations where case_id = 'OVERDUE-UI'") == 2:
            break
        await asyncio.sleep(0.05)
    row = page.locator("tr[data-case=OVERDUE-UI]")

    await log_in(page, live, "qu_jiandu")
    await page.goto(live.url + "/overdue")
    assert "超过办结时限" in await row.inner_text() and "核对结果逾期" in await row.inner_text()
    assert await page.locator("form.sv-takeover").count() == 0  # supervisors read, they do not act
    await live.screenshot(page, "supervisor-overdue")

    await log_in(page, live, "qu_minzheng")
    await page.goto(live.url + "/overdue")
    await row.locator("input[name=reason]").fill("超期未办结，区级接管")
    await row.locator("button", has_text="接管").click()
    await page.wait_for_load_state("networkidle")
    assert "已由区民政局接管" in await page.locator("[data-testid=flash]").inner_text()
    assert "区民政局 陈立" in await row.locator("[data-col=taken-over-by]").inner_text()
    await live.screenshot(page, "supervisor-overdue-taken-over")
    assert (await state(handle)).handled_by == "district"
    await handle.terminate("test over")
