"""Issue 17, points 3 and 5, in a real browser: the caseworker withdraws a case at the applicant's request from the
case page (the approver's 终止 is offered to the approver only), and the village cadre prints the public notice
of a case in 公示, which the portal lists for its township. Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import subprocess

import asyncpg
import pytest
from playwright.async_api import Page, expect

from rules.stages import Action
from schemas.review import Decision
from tests.support.browser import ARTIFACTS, Live, log_in
from tests.support.clock import beijing
from tests.support.factories import actor
from tests.support.review import act, investigate, start, until_stage

START = beijing(2026, 11, 24, 9, 30)  # a Tuesday


async def row_becomes(pool: asyncpg.Pool, case_id: str, column: str, predicate) -> None:
    for _ in range(300):
        if predicate(await pool.fetchval(f"select {column} from cases where case_id = $1", case_id)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"case {case_id}: {column} never became as expected")


@pytest.mark.start_at(START)
async def test_caseworker_withdraws_a_case_from_its_page(live: Live, page: Page) -> None:
    await until_stage(await start(live.env, "BR-WD"), "investigation")
    await row_becomes(live.pool, "BR-WD", "stage", lambda s: s == "investigation")

    await log_in(page, live, "shipo_shenpi")
    await page.goto(live.url + "/cases/BR-WD")
    await expect(page.locator("[data-testid=act-terminate]")).to_be_visible()
    await expect(page.locator("[data-testid=act-withdraw]")).to_have_count(0)

    await log_in(page, live, "shipo_jingban")
    await page.goto(live.url + "/cases/BR-WD")
    await expect(page.locator("[data-testid=act-terminate]")).to_have_count(0)
    withdraw = page.locator("[data-testid=act-withdraw]")
    await withdraw.locator("summary").click()  # folded: never closed by a slip of the hand
    form = withdraw.locator("form")
    await expect(form.locator("input[name=statement_signed_on]")).to_have_value("2026-11-24")
    # a missing statement number is put right beside the field
    async with page.expect_navigation():
        await page.click("[data-testid=submit-withdraw]")
    await expect(page.locator("[data-testid=act-withdraw] [data-error-for=statement_ref]")).not_to_be_empty()
    await page.locator("[data-testid=act-withdraw] input[name=statement_ref]").fill("CH-2026-088")
    await page.locator("[data-testid=act-withdraw] textarea[name=reason]").fill("已外出务工，收入稳定")
    await live.screenshot(page, "case-withdraw-form")
    async with page.expect_navigation():
        await page.click("[data-testid=submit-withdraw]")
    await expect(page.locator("[data-testid=stage]")).to_have_text("已撤回", timeout=15_000)
    await expect(page.locator("[data-testid=timeline]")).to_contain_text(
        "申请人申请撤回（撤回申请书 CH-2026-088，2026-11-24 签署）：已外出务工，收入稳定；案件办结"
    )
    await expect(page.locator("[data-testid=act-withdraw]")).to_have_count(0)
    await live.screenshot(page, "case-withdrawn")
    assert await live.pool.fetchval("select status from cases where case_id = 'BR-WD'") == "withdrawn"


@pytest.mark.start_at(START)
async def test_village_cadre_prints_the_public_notice(live: Live, page: Page) -> None:
    h = await start(live.env, "BR-PN")
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await until_stage(h, "public_notice")
    await row_becomes(live.pool, "BR-PN", "notice_ends_at", lambda v: v is not None)

    await log_in(page, live, "shipo_cun1")
    await page.goto(live.url + "/cases/BR-PN")
    await expect(page.locator("[data-testid=notice-link]")).to_have_attribute("href", "/cases/BR-PN/notice")
    await page.goto(live.url + "/cases/BR-PN/notice")
    await expect(page.locator("[data-testid=notice-title]")).to_have_text("最低生活保障审核确认公示")
    await expect(page.locator("[data-testid=notice-row] td").nth(1)).to_have_text("王**")
    await expect(page.locator("[data-testid=notice-row] td").nth(5)).to_have_text("1566.00")
    await expect(page.locator("[data-testid=notice-period]")).to_have_text("公示期：2026年11月25日至2026年12月1日。")
    await expect(page.locator("[data-testid=print]")).to_be_visible()
    await live.screenshot(page, "public-notice-print")
    # printed: one A4 page, without the toolbar
    await page.emulate_media(media="print")
    await expect(page.locator("[data-testid=print]")).to_be_hidden()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "public-notice.pdf"
    await page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout  # noqa: ASYNC221
    assert "Pages:           1" in info and "(A4)" in info, info
    await page.emulate_media(media="screen")

    await page.goto(live.url + "/portal")
    await page.click("[data-testid=go-notices]")
    await page.select_option("select[name=township]", "341503106")
    async with page.expect_navigation():
        await page.click("button.primary")
    rows = page.locator("[data-testid=notice-row]")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("王**")
    await expect(rows.locator("[data-testid=notice-period]")).to_have_text("2026-11-25 至 2026-12-01")
    await expect(page.locator("[data-testid=object-link]")).to_have_attribute("href", "/portal/complain")
    await live.screenshot(page, "portal-public-notices")
