"""The roster import page in a real browser (issue 18, point 1): the administrator chooses a roster with three
deliberate errors, tries it (the three rows are listed in Chinese and nothing is imported), downloads the error
sheet, then imports the corrected file."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page

from infra.roster_file import read_table, write_rows
from infra.roster_sample import sample
from tests.support.browser import Live, log_in, until_true


async def choose(page: Page, path: Path) -> None:
    await page.set_input_files("#roster-file", str(path))
    await until_true(page, "document.querySelector('#roster-form input[name=content]').value.length > 1000")


async def test_admin_tries_a_broken_roster_downloads_the_errors_then_imports_the_fixed_one(
    live: Live, page: Page, tmp_path: Path
) -> None:
    broken, fixed = tmp_path / "石婆店镇名册.xlsx", tmp_path / "石婆店镇名册-已改正.xlsx"
    headers, rows, faults = sample(60, 3)
    broken.write_bytes(write_rows(headers, rows, "xlsx"))
    headers, rows, _ = sample(60)
    fixed.write_bytes(write_rows(headers, rows, "xlsx"))
    await log_in(page, live, "admin")
    await page.click(".admin-nav >> text=名册导入")
    await page.wait_for_load_state("networkidle")

    await choose(page, broken)
    await page.click("[data-testid=dry-run]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator("[data-testid=error-count]").inner_text() == "3 行有错误，未导入任何数据。"
    cells = await page.locator("[data-testid=roster-errors] tbody tr td:first-child").all_inner_texts()
    assert [int(c) for c in cells] == [f.row for f in faults] == [27, 77, 129]
    listed = await page.locator("[data-testid=roster-errors] tbody").inner_text()
    assert "村（社区）：未知的村（社区）“不存在村”（石婆店镇下没有此村/社区）" in listed
    await live.screenshot(page, "admin-roster-errors")
    async with page.expect_download() as info:
        await page.click("[data-testid=error-sheet]")
    download = await info.value
    assert download.suggested_filename == "石婆店镇名册-错误清单.xlsx"
    sheet = read_table(Path(await download.path()).read_bytes(), "e.xlsx")  # noqa: ASYNC240 - one small file
    assert [int(r[0]) for r in sheet.rows] == [27, 77, 129]
    assert sheet.headers[-1] == "错误说明"
    assert await live.pool.fetchval("select count(*) from cases where channel = 'imported'") == 0

    await choose(page, fixed)
    await page.click("[data-testid=import]")
    await page.wait_for_load_state("networkidle")
    flash = await page.locator("[data-testid=roster-imported]").inner_text()
    assert flash == "已导入 60 户、153 人；跳过此前已导入的 0 户。"
    assert await live.pool.fetchval("select count(*) from cases where channel = 'imported'") == 60
    await live.screenshot(page, "admin-roster-imported")
