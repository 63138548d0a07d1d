"""Documents in a real browser: a caseworker drops a photo on the case page's documents panel (the form uploads
through the API with its Idempotency-Key), and sees its thumbnail, the required materials left and the upload in
the timeline; the 补正 form offers the missing ones ticked."""

from __future__ import annotations

import asyncio
import base64

import pytest
from playwright.async_api import Page, expect

from tests.support.browser import Live, log_in
from tests.support.clock import beijing
from tests.support.documents import photo_with_gps
from tests.support.review import start

# What a file dropped from the desktop does: a `drop` event whose DataTransfer holds the file.
DROP = """(b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], "收入证明.jpg", { type: "image/jpeg" }));
  const box = document.querySelector("[data-testid=documents] [data-drop]");
  box.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
}"""


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_a_photo_uploaded_from_the_case_page_shows_as_a_thumbnail(live: Live, page: Page) -> None:
    await start(live.env, "DOCBROWSER1")
    for _ in range(300):
        if await live.pool.fetchval("select stage from cases where case_id = 'DOCBROWSER1'") == "investigation":
            break
        await asyncio.sleep(0.1)
    await log_in(page, live, "shipo_jingban")
    await page.goto(live.url + "/cases/DOCBROWSER1")
    panel = page.locator("[data-testid=documents]")
    await expect(panel.locator("[data-testid=missing-materials] .badge")).to_have_text(
        ["居民身份证", "户口簿", "家庭经济状况核对授权书", "收入证明"]
    )
    await panel.locator("[data-testid=doc-type]").select_option("hukou")
    await panel.locator("[data-testid=doc-files]").set_input_files(
        [
            {"name": "户口簿首页.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()},
            {"name": "户口簿本人页.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps((30, 30, 200))},
        ]
    )
    await expect(panel.locator("[data-chosen] li")).to_have_text(["户口簿首页.jpg", "户口簿本人页.jpg"])
    async with page.expect_navigation():
        await panel.locator("[data-testid=doc-submit]").click()
    thumbs = page.locator("[data-testid=document-list] li[data-type=hukou] img")
    await expect(thumbs).to_have_count(2)
    for i in range(2):
        await expect(thumbs.nth(i)).to_have_js_property("naturalWidth", 320)  # served through the authorised route
    await expect(panel.locator("[data-testid=missing-materials] .badge")).to_have_text(
        ["居民身份证", "家庭经济状况核对授权书", "收入证明"]
    )
    timeline = page.locator("[data-testid=timeline] tr[data-kind=document_recorded]")
    await expect(timeline).to_have_count(2)
    await expect(timeline.first).to_contain_text("上传材料：户口簿")
    ticked = page.locator("[data-testid=act-missing_materials] input[name=items]:checked")
    await expect(ticked).to_have_count(3)
    await live.screenshot(page, "documents-case-page")
    assert await live.pool.fetchval("select count(*) from documents where owner_id = 'DOCBROWSER1'") == 2

    # an income statement dropped on the box
    await panel.locator("[data-testid=doc-type]").select_option("income")
    await page.evaluate(DROP, base64.b64encode(photo_with_gps((250, 250, 250))).decode())
    await expect(panel.locator("[data-chosen] li")).to_have_text(["收入证明.jpg"])
    async with page.expect_navigation():
        await panel.locator("[data-testid=doc-submit]").click()
    await expect(page.locator("[data-testid=document-list] li[data-type=income] img")).to_have_count(1)
    await expect(panel.locator("[data-testid=missing-materials] .badge")).to_have_text(
        ["居民身份证", "家庭经济状况核对授权书"]
    )
