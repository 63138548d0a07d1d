"""Supervisor pages in a real browser: the dashboard's charts draw, the exports download, and a district
officer takes over a case that the workflow itself escalated (time-skipping server)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta

import pytest
from playwright.async_api import Page

from tests.support.browser import Live, log_in, until_true
from tests.support.clients import SHUNHE
from tests.support.clock import beijing
from tests.support.review import start, state, until_stage
from tests.support.supervision import add_case, at

# The district's cases were accepted in the 13 weeks up to 2026-11-21; the pages are looked at on Tuesday 11-24.
SEEDED_ON = beijing(2026, 11, 24, 9, 30)


async def seed_district(live: Live) -> None:
    """A few weeks of cases in three townships, some decided, one overdue."""
    today = date(2026, 11, 24)
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


@pytest.mark.start_at(SEEDED_ON)
async def test_dashboard_draws_a_chart_per_canvas(live: Live, page: Page) -> None:
    await seed_district(live)
    await log_in(page, live, "qu_jiandu")
    assert page.url.endswith("/dashboard")
    await until_true(page, "() => window.Chart && document.querySelectorAll('canvas[data-chart]').length === 3")
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
    assert (
        drawn[0]["datasets"] == 9 and drawn[1]["datasets"] == 3 and drawn[2]["datasets"] == 2
    )  # a bar per stage, withdrawn and terminated included
    assert all(d["painted"] > 1000 for d in drawn), drawn
    heights = await page.evaluate(
        "[...document.querySelectorAll('.sv-chart')].map(b => [b.dataset.height + 'px', getComputedStyle(b).height])"
    )
    assert [h[0] for h in heights][2] == "260px" and all(a == b for a, b in heights), heights  # data-height
    assert await page.locator("[data-kpi=total]").inner_text() == "24"
    await live.screenshot(page, "supervisor-dashboard")


@pytest.mark.start_at(SEEDED_ON)
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


async def escalations(live: Live, case_id: str) -> list[tuple[str, date]]:
    rows = await live.pool.fetch(
        "select kind, deadline from escalations where case_id = $1 order by created_at, id", case_id
    )
    return [(r["kind"], r["deadline"]) for r in rows]


# Accepted Tuesday 2026-11-24: the data check is due in 10 working days (12-08), the case in 20 (12-22); each
# escalates at 00:00 Beijing after its last day.
ACCEPTED = beijing(2026, 11, 24, 9, 30)
CHECK_DUE, DEADLINE = date(2026, 12, 8), date(2026, 12, 22)
OVERDUE_AT = beijing(2026, 12, 23)


@pytest.mark.start_at(ACCEPTED)
async def test_officer_takes_over_an_escalated_case(live: Live, page: Page) -> None:
    handle = await start(live.env, "OVERDUE-UI")
    clock = (await until_stage(handle, "investigation")).clock
    assert (clock.accepted_on, clock.deadline) == (date(2026, 11, 24), DEADLINE)
    await live.env.skip_to(OVERDUE_AT - timedelta(minutes=1))
    await asyncio.sleep(0.5)
    assert await escalations(live, "OVERDUE-UI") == [("verification_overdue", CHECK_DUE)]  # not yet overdue
    await live.env.skip_to(OVERDUE_AT + timedelta(minutes=1))  # past the 20-working-day limit: it escalates
    for _ in range(600):
        if len(await escalations(live, "OVERDUE-UI")) == 2:
            break
        await asyncio.sleep(0.05)
    assert await escalations(live, "OVERDUE-UI") == [("verification_overdue", CHECK_DUE), ("overdue", DEADLINE)]
    row = page.locator("tr[data-case=OVERDUE-UI]")

    await log_in(page, live, "qu_jiandu")  # days later: a new session
    await page.goto(live.url + "/overdue")
    text = " ".join((await row.inner_text()).split())
    # today, 12-23, is the first working day past the case's deadline and the 11th past the data check's
    assert "超过承诺办结时限 · 时限 2026-12-22 · 超期 1 个工作日" in text and "上报于 2026-12-23 00:00" in text
    assert "核对结果逾期 · 时限 2026-12-08 · 超期 11 个工作日" in text and "上报于 2026-12-09 00:00" in text
    assert await row.locator("[data-col=days-overdue]").inner_text() == "1"
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
