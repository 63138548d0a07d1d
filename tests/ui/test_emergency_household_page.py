"""The registration page takes the household's other members' ID numbers (audit "money", finding 5): a member of an
open event's household cannot be registered for a second event."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.async_api import Page

from tests.support.browser import Live, log_in
from tests.support.clock import beijing
from tests.support.emergency import VILLAGE
from tests.support.factories import resident_id

HUSBAND = resident_id(date(1970, 3, 1), seq=711)
WIFE = resident_id(date(1972, 8, 9), seq=722)
SON = resident_id(date(2000, 1, 5), seq=731)


async def register(page: Page, live: Live, name: str, id_number: str, members: str) -> None:
    await page.goto(f"{live.url}/emergencies/new")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=id_number]", id_number)
    await page.fill("[data-testid=member-ids]", members)
    await page.fill("input[name=address]", "示范村一 钱家湾 9 号")
    await page.fill("textarea[name=description]", "房屋失火，家中财物烧毁")
    async with page.expect_navigation():
        await page.click("form button[type=submit]")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_members_entered_on_the_page_hold_the_household_to_one_open_event(live: Live, page: Page) -> None:
    await log_in(page, live, "shipo_cun1")
    await register(page, live, "钱大", HUSBAND, f"{WIFE}\n{SON[:-1]}0")  # the son's number mistyped
    assert "家庭成员身份证号码" in await page.locator("[role=alert]").first.inner_text()
    assert await page.input_value("[data-testid=member-ids]") == f"{WIFE}\n{SON[:-1]}0"  # kept
    await register(page, live, "钱大", HUSBAND, f"{WIFE}\n{SON}")
    assert f"/emergencies/JJN-{VILLAGE}-20261124" in page.url
    rows = await live.pool.fetch("select id_number from emergency_members order by id_number")
    assert [r["id_number"] for r in rows] == sorted([WIFE, SON])

    await register(page, live, "钱二", WIFE, "")
    assert await page.locator("[role=alert]").first.inner_text() == (
        "钱二或其家庭成员属于钱大户，钱大在石婆店镇示范村一有未办结的急难型临时救助事件（2026-11-24 登记），"
        "请在该事件中继续救助，办结后方可再次登记"
    )
    assert await live.pool.fetchval("select count(*) from emergencies") == 1
