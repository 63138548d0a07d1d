"""The caseworker pages in a real browser on a real worker: one dibao case from the intake form to
enrolment, jurisdiction, and the inbox's order and colours. Screenshots go to test-artifacts/.

Each date-dependent test starts at a stated Beijing instant; the web process's clock follows it."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from playwright.async_api import Page, expect

from db import cases_repo
from schemas.review import CaseEvent
from tests.support.browser import Live, log_in
from tests.support.clients import insert_case
from tests.support.clock import beijing
from tests.support.factories import resident_id
from tests.support.review import ENROLLED, start, state, until_stage

APPLICANT_ID = resident_id(date(1968, 3, 2), seq=101)
CHILD_ID = resident_id(date(2009, 5, 1), seq=102)
WRONG_CHECK = CHILD_ID[:17] + ("0" if CHILD_ID[17] != "0" else "1")


async def submit(page: Page, action: str) -> None:
    form = page.locator(f"[data-testid=act-{action}] form")
    async with page.expect_navigation():
        await form.locator("button[type=submit]").click()


async def act_as(page: Page, live: Live, username: str, case_url: str) -> None:
    await log_in(page, live, username)
    await page.goto(case_url)


async def wait_for_status(pool: asyncpg.Pool, case_id: str, status: str) -> None:
    for _ in range(300):
        if await pool.fetchval("select status from cases where case_id = $1", case_id) == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"case {case_id} never became {status}")


# 00:30 Beijing on Tuesday 2026-11-24, still Monday 11-23 in UTC: the case number, the forms' default dates
# and the public notice all count the Beijing day.
INTAKE_AT = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
# The decision is taken on 11-24; its 7 calendar days of public notice end at 00:00 Beijing on 12-02.
NOTICE_ENDS = beijing(2026, 12, 2)


@pytest.mark.start_at(INTAKE_AT)
async def test_one_case_from_the_intake_form_to_enrolment(live: Live, page: Page) -> None:
    await log_in(page, live, "shipo_jingban")
    await page.goto(live.url + "/cases/new")
    form = page.locator("form.intake")
    await form.locator("select[name=village_code]").select_option("341503106201")
    await form.locator("input[name=address]").fill("石婆店镇示范村一 王家庄 12 号")
    await form.locator("input[name=phone]").fill("13805641234")
    await form.locator("input[name=members-0-name]").fill("王大山")
    await form.locator("input[name=members-0-id_number]").fill(APPLICANT_ID.lower())
    await form.locator("select[name=members-0-disability_grade]").select_option("2")
    await form.locator("select[name=members-0-able_to_work]").select_option("no")
    await form.locator("button.add-row[data-section=members]").click()
    await form.locator("input[name=members-1-name]").fill("王小明")
    child_id = form.locator("input[name=members-1-id_number]")
    await child_id.fill(WRONG_CHECK)
    # The server's own checksum message appears while typing, before any submit.
    await expect(form.locator("[data-error-for=members-1-id_number]")).to_contain_text("身份证号码校验位错误")
    await expect(child_id).to_have_class(re.compile("invalid"))
    await form.locator("button.add-row[data-section=incomes]").click()
    await form.locator("select[name=incomes-0-member]").select_option(label="王大山")
    await form.locator("select[name=incomes-0-source]").select_option("agriculture")
    await form.locator("input[name=incomes-0-monthly_amount]").fill("600")
    await form.locator("button.add-row[data-section=assets]").click()
    await form.locator("input[name=assets-0-description]").fill("农村自建房一处")
    await form.locator("select[name=assets-0-kind]").select_option("house")
    await form.locator("input[name=assets-0-value]").fill("30000")
    await form.locator("input[name=attachments][value=居民身份证]").check()
    await form.locator("input[name=attachments][value=户口簿]").check()
    await form.locator("textarea[name=attachments_other]").fill("村委会证明")
    await live.screenshot(page, "caseworker-intake")

    # A failed submit keeps everything typed and puts the message beside the field.
    async with page.expect_navigation():
        await page.click("[data-testid=accept]")
    await expect(page.locator("[data-testid=form-message]")).to_be_visible()
    await expect(page.locator("[data-error-for=members-1-id_number]")).to_contain_text("校验位错误")
    await expect(form.locator("input[name=address]")).to_have_value("石婆店镇示范村一 王家庄 12 号")
    await expect(form.locator("input[name=members-0-id_number]")).to_have_value(APPLICANT_ID)  # normalised
    await expect(form.locator("select[name=members-0-able_to_work]")).to_have_value("no")
    await expect(form.locator("input[name=assets-0-value]")).to_have_value("30000")
    await expect(form.locator("select[name=incomes-0-member]")).to_have_value("0")
    await expect(form.locator("input[name=attachments][value=户口簿]")).to_be_checked()
    await live.screenshot(page, "caseworker-intake-refused")
    await form.locator("input[name=members-1-id_number]").fill(CHILD_ID)
    await expect(form.locator("[data-error-for=members-1-id_number]")).to_be_empty()
    async with page.expect_navigation():
        await page.click("[data-testid=accept]")

    match = re.search(r"/cases/(341503106-20261124-[0-9a-f]{6})\?done=accepted$", page.url)
    assert match, page.url
    case_id, case_url = match[1], live.url + f"/cases/{match[1]}"
    # The page refreshes itself until the workflow has requested the data check.
    await expect(page.locator("[data-testid=stage]")).to_have_text(
        "调查核实（核对、入户调查、邻里走访）", timeout=15_000
    )
    members = page.locator("[data-testid=members]")
    await expect(members).to_contain_text(APPLICANT_ID)  # the township's caseworker sees it in full
    # The Temporal Web UI is for administrators; the in-app history is linked instead.
    await expect(page.locator("[data-testid=temporal-link]")).to_have_count(0)
    await expect(page.locator("[data-testid=history-link]")).to_have_attribute("href", f"/cases/{case_id}/history")
    await expect(page.locator("[data-testid=act-home_visit]")).to_be_visible()
    await expect(page.locator("[data-testid=act-verification_result]")).to_have_count(0)

    await act_as(page, live, "qu_minzheng", case_url)
    verification = page.locator("[data-testid=act-verification_result] form")
    await verification.locator("input[name=verified_monthly_income]").fill("600")
    await verification.locator("textarea[name=findings]").fill("核对无异常，与申报一致")
    await submit(page, "verification_result")
    await expect(page.locator("[data-testid=done]")).to_contain_text("录入家庭经济状况核对结果")

    await act_as(page, live, "shipo_jingban", case_url)
    visit = page.locator("[data-testid=act-home_visit] form")
    await expect(visit.locator("input[name=investigators][value=shipo_jingban]")).to_be_checked()
    await expect(visit.locator("input[name=visited_on]")).to_have_value("2026-11-24")  # today, in Beijing
    await visit.locator("input[name=investigators][value=shipo_diaocha]").check()
    await visit.locator("textarea[name=family_signatures]").fill("王大山")
    await visit.locator("textarea[name=findings]").fill("家中无劳动力，房屋简陋，收入以务农为主")
    await submit(page, "home_visit")
    await expect(page.locator("[data-testid=done]")).to_be_visible()
    await live.screenshot(page, "caseworker-case-midway")

    await act_as(page, live, "shipo_cun1", case_url)
    await expect(page.locator("[data-testid=members]")).to_contain_text("341503********")  # cadres see masked
    interview = page.locator("[data-testid=act-neighbour_interview] form")
    await interview.locator("textarea[name=interviewees]").fill("邻居李四、邻居赵五")
    await interview.locator("textarea[name=findings]").fill("邻居反映情况属实")
    await submit(page, "neighbour_interview")
    await expect(page.locator("[data-testid=stage]")).to_have_text("民主评议")

    await act_as(page, live, "shipo_jingban", case_url)
    hearing = page.locator("[data-testid=act-hearing] form")
    await hearing.locator("textarea[name=participants]").fill("村民代表甲\n村民代表乙\n党员代表丙")
    await hearing.locator("textarea[name=summary]").fill("评议同意纳入低保")
    await submit(page, "hearing")
    await expect(page.locator("[data-testid=stage]")).to_have_text("审核确认")

    # The approver's first try is refused by the workflow; the form keeps what was typed.
    await act_as(page, live, "shipo_shenpi", case_url)
    decision = page.locator("[data-testid=act-decision] form")
    proposed = await page.locator("[data-testid=decision-proposed]").inner_text()
    assert "844.00" in proposed  # (722 - 600 / 2) x 2 members
    await decision.locator("select[name=category]").select_option("B")
    await decision.locator("input[name=monthly_amount]").fill("900")
    await submit(page, "decision")
    error = page.locator("[data-testid=act-decision] [data-testid=action-error]")
    await expect(error).to_have_text("核定金额与测算金额（844.00 元）不同，须说明调整理由")
    await expect(decision.locator("input[name=monthly_amount]")).to_have_value("900")
    await expect(decision.locator("select[name=category]")).to_have_value("B")
    await live.screenshot(page, "caseworker-action-refused")
    await decision.locator("input[name=monthly_amount]").fill("")
    await submit(page, "decision")
    # run() opens the notice after the decision's update has answered: the page refreshes itself until then.
    await expect(page.locator("[data-testid=stage]")).to_have_text("公示", timeout=10_000)
    handle = live.env.client.get_workflow_handle(f"review-{case_id}")
    assert (await state(handle)).notice_ends_at == NOTICE_ENDS
    await live.env.skip_to(NOTICE_ENDS - timedelta(minutes=1))  # the notice runs out without objection
    await asyncio.sleep(0.5)
    assert (await state(handle)).stage == "public_notice"
    assert await live.pool.fetchval("select status from cases where case_id = $1", case_id) == "open"
    await live.env.skip_to(NOTICE_ENDS + timedelta(minutes=1))
    await wait_for_status(live.pool, case_id, "enrolled")

    await log_in(page, live, "qu_jiandu")
    await page.goto(case_url)
    await expect(page.locator("[data-testid=stage]")).to_have_text("已纳入保障")
    await expect(page.locator("[data-testid=members]")).not_to_contain_text(APPLICANT_ID)
    await expect(page.locator("[data-testid^=act-]")).to_have_count(0)
    timeline = page.locator("[data-testid=timeline] tbody tr")
    kinds = [await row.get_attribute("data-kind") for row in await timeline.all()]
    assert kinds == ENROLLED
    await expect(timeline.nth(3)).to_contain_text("石婆店镇经办人 李娟")
    await expect(timeline.nth(8)).to_contain_text("每月 844.00 元，自 2026年12月 起发放")  # the month after
    await live.screenshot(page, "caseworker-case-enrolled")
    await page.click("[data-testid=lang-en]")
    await expect(page.locator("h2").first).to_have_text("Case file")
    await live.screenshot(page, "caseworker-case-enrolled-en")


async def test_a_namesake_warning_is_confirmed_on_the_case_page(live: Live, page: Page) -> None:
    """The applicant declared 王强 by name: shipo_diaocha is warned about, not barred, until a caseworker says
    he is the same person; the home visit form offers caseworkers and district officers as investigators and
    the village's cadre as an assistant."""
    handle = await start(live.env, "SP-NAME-001", declared=("王强",))
    await until_stage(handle, "investigation")
    case_url = live.url + "/cases/SP-NAME-001"
    await act_as(page, live, "shipo_cun1", case_url)
    warning = page.locator("[data-namesake=shipo_diaocha]")
    await expect(warning).to_contain_text("待经办人核实")
    await expect(warning.locator("button")).to_have_count(0)

    await act_as(page, live, "shipo_jingban", case_url)
    visit = page.locator("[data-testid=act-home_visit] form")
    investigators = visit.locator("input[name=investigators]")
    assistants = visit.locator("input[name=assistants]")
    assert sorted(await investigators.evaluate_all("xs => xs.map(x => x.value)")) == [
        "qu_minzheng",
        "shipo_diaocha",
        "shipo_jingban",
    ]
    assert await assistants.evaluate_all("xs => xs.map(x => x.value)") == ["shipo_cun1"]
    await expect(warning).to_contain_text("与申请人申报的近亲属 王强（兄弟姐妹）同名")
    await live.screenshot(page, "caseworker-namesake-warning")
    await warning.locator("input[name=note]").fill("本人确认系申请人之兄")
    async with page.expect_navigation():
        await warning.locator("button[value=yes]").click()
    await expect(warning).to_contain_text("经核实是本人，已回避")
    await expect(page.locator("[data-testid=recusal]")).to_contain_text("申请人申报的近亲属（兄弟姐妹），经核实为本人")
    await expect(visit.locator("input[name=investigators][value=shipo_diaocha]")).to_have_count(0)
    await live.screenshot(page, "caseworker-namesake-confirmed")
    assert (await state(handle)).barred_staff == ["shipo_diaocha"]


async def test_another_township_gets_the_403_page(live: Live, page: Page) -> None:
    handle = await start(live.env, "SP-403-001")
    await until_stage(handle, "investigation")
    await log_in(page, live, "shunhe_jingban")
    response = await page.goto(live.url + "/cases/SP-403-001")
    assert response is not None and response.status == 403
    await expect(page.locator("h1")).to_contain_text("无权访问")
    await expect(page.locator("[role=alert]")).to_have_text("该案件不在您的辖区内")
    assert "王大山" not in await page.content()
    response = await page.goto(live.url + "/cases/NO-SUCH-CASE")
    assert response is not None and response.status == 404


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday
async def test_inbox_orders_by_deadline_and_colours_rows(live: Live, page: Page) -> None:
    """Rows due within 5 working days are "near": Tuesday 12-01 is the 5th working day after Tuesday
    11-24 (the weekend does not count), Wednesday 12-02 the 6th."""
    cases = {
        "IN-LATER": date(2026, 12, 2),
        "IN-OVERDUE": date(2026, 11, 20),  # last Friday: Monday and today are past it
        "IN-SOON": date(2026, 12, 1),
        "IN-PAUSED": date(2026, 11, 25),
    }
    for case_id, deadline in cases.items():
        await insert_case(live.pool, case_id, deadline=deadline)
    await live.pool.execute("update cases set deadline_provisional = true where case_id = 'IN-LATER'")
    await cases_repo.append_events(
        live.pool,
        [
            CaseEvent(
                case_id="IN-PAUSED",
                event_key="0004-missing_materials",
                kind="missing_materials",
                stage="investigation",
                actor="shipo_jingban",
                payload={"summary": "一次性告知需补正材料"},
                occurred_at=beijing(2026, 11, 23, 15, 0),
            )
        ],
    )
    await insert_case(live.pool, "IN-OTHER-TOWN", "341503104", deadline=date(2026, 11, 24))
    await log_in(page, live, "shipo_jingban")
    await page.goto(live.url + "/inbox")
    await expect(page.locator(".cw-legend")).to_contain_text("今天：2026-11-24")
    rows = page.locator("[data-testid=inbox] tbody tr")
    order = [await r.get_attribute("data-case") for r in await rows.all()]
    assert order == ["IN-OVERDUE", "IN-PAUSED", "IN-SOON", "IN-LATER"]
    classes = [await r.get_attribute("class") for r in await rows.all()]
    assert classes == ["overdue", "paused", "near", ""]
    left = [await r.locator("td").nth(1).inner_text() for r in await rows.all()]
    assert left == ["超期 2 个工作日", "暂停", "剩 5 个工作日", "剩 6 个工作日"]
    await expect(rows.nth(1)).to_contain_text("等待申请人补正材料")
    await expect(rows.nth(3)).to_contain_text("暂定")
    await live.screenshot(page, "caseworker-inbox")
