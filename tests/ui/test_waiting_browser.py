"""Issue 17, points 1, 2 and 4 in a real browser: every open case, emergency event, 12349 request and referral
says whom it waits on (a role at a place, by name, and the people's full names), since when and by when in
working days; each form answers with what was done and what comes next, on the new state (no interim page);
the case page tells the whole story with names, links the in-app history and keeps the Temporal Web UI from
everyone but administrators. Screenshots go to test-artifacts/.

Each test starts at a stated Beijing instant; the web process's clock follows it."""

from __future__ import annotations

import asyncio
import re
from datetime import date

import asyncpg
import pytest
from playwright.async_api import Page, expect

from schemas.frontdoor import RequestKind
from tests.support.browser import Live, log_in
from tests.support.clock import beijing
from tests.support.factories import resident_id
from tests.support.frontdoor import submit as submit_request
from tests.support.i18n import msgids, templates, untranslated
from tests.support.review import act, home_visit, interview, start, until_stage

# Friday 2026-12-04, 09:00 Beijing: the case is accepted and its data check requested; the check's own limit is
# 10 working days later, Friday 12-18; the case's 20 working days run to Monday 2027-01-04 (19 working days in
# December, New Year's Day off).
ACCEPTED_AT = beijing(2026, 12, 4, 9, 0)
# Wednesday 12-09: 3 working days after the Friday (12-07, 12-08, 12-09); 7 are left until 12-18.
LOOKED_AT = beijing(2026, 12, 9, 10, 0)
WAITS_FOR_CHECK = "等待区民政局录入家庭经济状况核对结果（已等待 3 个工作日，应于 12-18 前办理，还剩 7 个工作日）"


async def go(page: Page, live: Live, user: str, path: str) -> None:
    await log_in(page, live, user)
    await page.goto(live.url + path)


async def submit(page: Page, action: str) -> None:
    async with page.expect_navigation():
        await page.locator(f"[data-testid=act-{action}] form button[type=submit]").click()


@pytest.mark.start_at(ACCEPTED_AT)
async def test_after_the_visit_and_the_interview_the_case_waits_for_the_districts_check(live: Live, page: Page) -> None:
    """The issue's first finding, and point 4: the findings with names, the history link, no Temporal link."""
    handle = await start(live.env, "SP-WAIT-001")
    await until_stage(handle, "investigation")
    await act(handle, "home_visit", home_visit(date(2026, 12, 4), assistants=("shipo_cun1",)))
    await act(handle, "neighbour_interview", interview(date(2026, 12, 4)))
    await live.env.skip_to(LOOKED_AT)

    await go(page, live, "shipo_jingban", "/cases/SP-WAIT-001")
    waiting = page.locator("[data-testid=waiting] p")
    await expect(waiting).to_have_count(1)
    await expect(waiting.locator("[data-testid=wait-text]")).to_have_text(WAITS_FOR_CHECK)
    await expect(waiting.locator("[data-testid=wait-people]")).to_have_text("办理人员：区民政局 陈立")
    # Point 4: every finding, with names, not logins.
    visit = page.locator("[data-testid=findings] [data-kind=home_visit]")
    await expect(visit.locator("[data-testid=finding-investigators]")).to_have_text(
        "石婆店镇经办人 李娟、石婆店镇经办人 王强"
    )
    await expect(visit).to_contain_text("协助人员（村干部）石婆店镇示范村一 村干部 刘芳")
    await expect(visit).to_contain_text("在场家庭成员签字王大山")
    await expect(visit).to_contain_text("录入：石婆店镇经办人 李娟")
    neighbours = page.locator("[data-testid=findings] [data-kind=neighbour_interview]")
    await expect(neighbours).to_contain_text("走访对象邻居李四、邻居赵五")
    await expect(neighbours).to_contain_text("录入：石婆店镇示范村一 村干部 刘芳")
    timeline = page.locator("[data-testid=timeline]")
    await expect(timeline.locator("tr[data-kind=home_visit]")).to_contain_text(
        "调查人员 石婆店镇经办人 李娟、石婆店镇经办人 王强"
    )
    assert "shipo_diaocha" not in await page.locator("main").inner_text()
    await expect(page.locator("[data-testid=history-link]")).to_have_attribute("href", "/cases/SP-WAIT-001/history")
    await expect(page.locator("[data-testid=temporal-link]")).to_have_count(0)
    await live.screenshot(page, "waiting-case-for-the-district")

    # The inbox: not the caseworker's to do, but among what waits on others, with the same words.
    await page.goto(live.url + "/inbox")
    await expect(page.locator("[data-testid=tab-todo]")).to_have_text("待办（0）")
    await expect(page.locator("[data-testid=tab-waiting]")).to_have_text("等待他人（1）")
    await page.click("[data-testid=tab-waiting]")
    row = page.locator("[data-testid=inbox] tr[data-case=SP-WAIT-001]")
    await expect(row.locator("[data-testid=waiting-on]")).to_have_text(WAITS_FOR_CHECK + " 区民政局 陈立")
    await live.screenshot(page, "waiting-inbox-waiting-on-others")

    # The district's officer has it to do; a village cadre may not read the supervision history: no link.
    await go(page, live, "qu_minzheng", "/inbox")
    await expect(page.locator("[data-testid=inbox] tr[data-case=SP-WAIT-001]")).to_contain_text(
        "录入家庭经济状况核对结果"
    )
    await go(page, live, "shipo_cun1", "/cases/SP-WAIT-001")
    await expect(page.locator("[data-testid=waiting] [data-testid=wait-text]")).to_have_text(WAITS_FOR_CHECK)
    await expect(page.locator("[data-testid=history-link]")).to_have_count(0)
    await expect(page.locator("[data-testid=temporal-link]")).to_have_count(0)

    # The read-only supervisor follows the link to the in-app history; no Temporal Web UI there either.
    await go(page, live, "qu_jiandu", "/cases/SP-WAIT-001")
    await expect(page.locator("[data-testid=temporal-link]")).to_have_count(0)
    async with page.expect_navigation():
        await page.click("[data-testid=history-link]")
    await expect(page.locator("h1")).to_contain_text("SP-WAIT-001")
    await expect(page.locator("[data-testid=temporal-link]")).to_have_count(0)
    # Only the administrator's pages link the Temporal Web UI.
    await go(page, live, "admin", "/admin")
    await expect(page.locator("[data-testid=temporal-link]")).to_have_attribute("href", re.compile(r"^http://"))
    await expect(page.locator("[data-testid=temporal-link]")).to_contain_text("Temporal 事件历史")

    # Point 2: the district's check answers with what was done and what comes next, on the new state.
    await go(page, live, "qu_minzheng", "/cases/SP-WAIT-001")
    form = page.locator("[data-testid=act-verification_result] form")
    await form.locator("input[name=verified_monthly_income]").fill("600")
    await form.locator("textarea[name=findings]").fill("核对无异常，与申报一致")
    await submit(page, "verification_result")
    await expect(page.locator("[data-testid=done]")).to_have_text(
        "已办理：录入家庭经济状况核对结果。下一步：等待石婆店镇经办人民主评议"
        "（已等待 0 个工作日，应于 01-04 前办理，还剩 17 个工作日）"
    )
    await expect(page.locator("[data-testid=stage]")).to_have_text("民主评议")
    await expect(page.locator("[data-testid=settling]")).to_have_count(0)
    verified = page.locator("[data-testid=findings] [data-kind=verification_result]")
    await expect(verified).to_contain_text("核对后家庭月收入600.00 元")
    await expect(verified).to_contain_text("录入：区民政局 陈立")


# Friday 2026-11-27, 10:00 Beijing: an intake at the window.
INTAKE_AT = beijing(2026, 11, 27, 10, 0)


@pytest.mark.start_at(INTAKE_AT)
async def test_an_intake_answers_with_its_number_and_whom_the_case_waits_on(live: Live, page: Page) -> None:
    """No "本环节没有需要您办理的事项" and deadline "—" while the workflow requests the data check: the form's
    answer is the case as the workflow moved it on."""
    await go(page, live, "shipo_jingban", "/cases/new")
    form = page.locator("form.intake")
    await form.locator("select[name=village_code]").select_option("341503106201")
    await form.locator("input[name=address]").fill("石婆店镇示范村一 王家庄 12 号")
    await form.locator("input[name=members-0-name]").fill("王大山")
    await form.locator("input[name=members-0-id_number]").fill(resident_id(date(1968, 3, 2), seq=301))
    await form.locator("select[name=members-0-able_to_work]").select_option("no")
    async with page.expect_navigation():
        await page.click("[data-testid=accept]")
    match = re.search(r"/cases/(341503106-20261127-[0-9a-f]{6})\?done=accepted$", page.url)
    assert match, page.url
    # 20 working days after Friday 11-27: Friday 12-25; the data check's 10: Friday 12-11.
    await expect(page.locator("[data-testid=done]")).to_have_text(
        f"受理成功：最低生活保障申请已受理（申请编号 {match[1]}）。下一步："
        "等待石婆店镇经办人入户调查、邻里走访（已等待 0 个工作日，应于 12-25 前办理，还剩 20 个工作日）；"
        "等待石婆店镇示范村一村（社区）干部入户调查、邻里走访"
        "（已等待 0 个工作日，应于 12-25 前办理，还剩 20 个工作日）；"
        "等待区民政局录入家庭经济状况核对结果（已等待 0 个工作日，应于 12-11 前办理，还剩 10 个工作日）"
    )
    await expect(page.locator("[data-testid=stage]")).to_have_text("调查核实（核对、入户调查、邻里走访）")
    await expect(page.locator("[data-testid=deadline]")).to_contain_text("2026-12-25")
    await expect(page.locator("[data-testid=no-actions]")).to_have_count(0)
    await expect(page.locator("[data-testid=settling]")).to_have_count(0)
    await expect(page.locator("[data-testid=act-home_visit]")).to_be_visible()
    people = page.locator("[data-testid=waiting] [data-testid=wait-people]")
    await expect(people.nth(0)).to_have_text("办理人员：石婆店镇经办人 王强、石婆店镇经办人 李娟")
    await expect(people.nth(1)).to_have_text("办理人员：石婆店镇示范村一 村干部 刘芳")
    await live.screenshot(page, "waiting-intake-accepted")


# Friday 2026-12-04, 09:00 Beijing: the first payment is due within 24 hours, on Saturday 12-05.
@pytest.mark.start_at(beijing(2026, 12, 4, 9, 0))
async def test_a_registered_emergency_says_so_and_waits_on_the_village(live: Live, page: Page) -> None:
    await go(page, live, "shipo_cun1", "/emergencies/new")
    await page.select_option("select[name=kind]", "illness")
    await page.fill("input[name=name]", "钱八")
    await page.fill("input[name=id_number]", resident_id(date(1966, 8, 8), seq=302))
    await page.fill("input[name=address]", "示范村一 钱家洼 9 号")
    await page.fill("textarea[name=description]", "突发脑出血住院")
    async with page.expect_navigation():
        await page.click("form button[type=submit]")
    match = re.search(r"/emergencies/(JJN-341503106201-20261204\d+)\?done=registered$", page.url)
    assert match, page.url
    waits = "等待石婆店镇示范村一村（社区）干部审批发放（已等待 0 个工作日，应于 12-05 前办理，还剩 0 个工作日）"
    await expect(page.locator("[data-testid=done]")).to_have_text(
        f"登记成功：急难事件 {match[1]} 已登记。下一步：{waits}"
    )
    await expect(page.locator("[data-testid=waiting] [data-testid=wait-text]")).to_have_text(waits)
    await expect(page.locator("[data-testid=waiting] [data-testid=wait-people]")).to_have_text(
        "办理人员：石婆店镇示范村一 村干部 刘芳"
    )
    await expect(page.locator("[data-testid=amount]")).to_be_visible()  # the payment form at once
    # Point 4: the event's log names the registrar by name, not login.
    await expect(page.locator("ul.timeline")).to_contain_text("石婆店镇示范村一 村干部 刘芳")
    assert "shipo_cun1" not in await page.locator("main").inner_text()
    await live.screenshot(page, "waiting-emergency-registered")


async def until_row(pool: asyncpg.Pool, sql: str, *args: object) -> None:
    for _ in range(200):
        if await pool.fetchval(sql, *args):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never true: {sql}")


# Friday 2026-12-04, 09:00 Beijing: a 12349 request is answered within 5 working days, by Friday 12-11.
@pytest.mark.start_at(beijing(2026, 12, 4, 9, 0))
async def test_a_request_waits_on_the_township_desk_and_its_referral_on_the_bureau(live: Live, page: Page) -> None:
    no = "12349-20261204-WAIT01"
    await submit_request(live.env, no, RequestKind.HELP, ["medical_costs"])
    await until_row(live.pool, "select answer_due is not null from frontdoor_requests where request_no = $1", no)
    await go(page, live, "shipo_jingban", f"/frontdoor/requests/{no}")
    texts = page.locator("[data-testid=waiting] [data-testid=wait-text]")
    await expect(texts).to_have_text(
        [
            "等待石婆店镇经办人分办（已等待 0 个工作日，应于 12-11 前办理，还剩 5 个工作日）",
            "等待石婆店镇审批人分办（已等待 0 个工作日，应于 12-11 前办理，还剩 5 个工作日）",
        ]
    )
    await expect(page.locator("[data-testid=waiting] [data-testid=wait-people]").nth(1)).to_have_text(
        "办理人员：石婆店镇审批人 张华"
    )
    async with page.expect_navigation():
        await page.locator("[data-testid=triage-form] button[type=submit]").click()
    await live.screenshot(page, "waiting-request-triaged")
    await expect(page.locator("ul.timeline")).to_contain_text("石婆店镇经办人 李娟")
    assert "shipo_jingban" not in await page.locator("main").inner_text()
    referral = await live.pool.fetchval("select referral_id from referrals where request_no = $1", no)
    await until_row(live.pool, "select accept_due is not null from referrals where referral_id = $1", referral)
    await go(page, live, "yiliao_bu", f"/bureau/referrals/{referral}")
    # The bureau accepts within 3 working days: Wednesday 12-09.
    await expect(page.locator("[data-testid=waiting] [data-testid=wait-text]")).to_have_text(
        "等待区医保局接收转介（已等待 0 个工作日，应于 12-09 前办理，还剩 3 个工作日）"
    )
    await live.screenshot(page, "waiting-referral-for-the-bureau")


def test_every_waiting_and_findings_string_has_chinese() -> None:
    """The shared waiting lines (ui/_waiting.html) and the case page's new partials."""
    names = ("_waiting.html", "_case_progress.html", "_case_links.html", "_findings.html")
    paths = [p for p in templates("ui", "caseworker") if p.name in names]
    assert len(paths) == len(names)
    assert untranslated(msgids(paths), "zh_CN") == []
