"""暂定 beside the front door's and the discovery tasks' dates, as the case lists show it beside a case's deadline: a
date counted through a year whose holiday notice is not in the calendar yet (2027 here: the statutory holidays alone,
元旦 Friday 2027-01-01 off) is provisional on the 12349 desk, the bureau's inbox, the complaints list, the discovery
tasks and the pages of each (and in the API's rows); once the notice is imported (Monday 2027-01-04 off too) and the
workflows are told, the rows carry the new dates and no 暂定. A date that passed and was reported to the district is
not counted again: it is final, without 暂定, from the report on.

The workflows write the flag where they write the date (db/frontdoor_repo.write_log, db/discovery_tasks_repo.open_task);
the pages read the rows."""

from __future__ import annotations

import re
from datetime import date

import asyncpg
import httpx
import pytest

from infra.calendar_news import announce_calendar_change
from schemas.frontdoor import intake_workflow_id
from tests.support.calendar import import_2027
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.discovery import task_for
from tests.support.frontdoor import apply_online, filed, referred
from tests.support.workflows import end_if_running, eventually
from tests.test_emergency_clocks_web import page_as, text
from tests.test_frontdoor_portal import look_up
from tests.ui.test_frontdoor_pages import fact

SHIPO = "341503106"


def row_cells(row: str) -> list[str]:
    return [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def cells(page: str, attribute: str, key: str) -> list[str]:
    """The cells of the list row `data-<attribute>="<key>"`, as text."""
    row = re.search(rf'<tr[^>]*data-{attribute}="{re.escape(key)}"[^>]*>(.*?)</tr>', page, re.S)
    assert row, (attribute, key)
    return row_cells(row[1])


def late_referral(district: str, referral_id: str) -> list[str]:
    """The cells of the referral's row in the district's list of overdue referrals, as text."""
    late = district.split('data-testid="late-referrals"')[1].split("</table>")[0]
    row = re.search(rf'<tr class="overdue">(<td><a href="/bureau/referrals/{referral_id}">.*?)</tr>', late, re.S)
    assert row, referral_id
    return row_cells(row[1])


@pytest.mark.start_at(beijing(2026, 12, 30, 10, 0))  # a Wednesday
@pytest.mark.web(temporal="review_env")
async def test_lists_and_pages_show_tentative_until_the_notice_is_imported(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    request_no = "12349-20261230-TENT01"
    request, referral, s = await referred(review_env, request_no)
    referral_id = s.referral_id
    complaint_no = "TS-20261230-TENT02"
    complained, _ = await filed(review_env, complaint_no, "村里低保评议不公开")
    task_id, task, _ = await task_for(review_env, pool, 1, SHIPO, date(2026, 12, 30))

    async def shown() -> dict[str, object]:
        """Each date as the lists, the pages and the API show it."""
        seen: dict[str, object] = {}
        desk = await page_as(web, "shipo_jingban", "/frontdoor")
        seen["desk"] = cells(desk, "request", request_no)[5]
        page = (await web.get(f"/frontdoor/requests/{request_no}")).text
        seen["request page"] = fact(page, "答复期限")
        api = (await web.get(f"/api/frontdoor/requests/{request_no}")).json()["request"]
        seen["request api"] = (api["answer_due"], api["answer_provisional"])
        seen["tasks"] = cells((await web.get("/discovery")).text, "task", task_id)[4]
        seen["task page"] = fact((await web.get(f"/discovery/{task_id}")).text, "核实期限")
        api = (await web.get(f"/api/discovery/tasks/{task_id}")).json()
        seen["task api"] = (api["visit_due"], api["visit_provisional"])
        seen["inbox"] = cells(await page_as(web, "yiliao_bu", "/bureau"), "referral", referral_id)[5:7]
        page = (await web.get(f"/bureau/referrals/{referral_id}")).text
        seen["referral page"] = [fact(page, "签收期限"), fact(page, "答复期限")]
        complaints = await page_as(web, "shipo_shenpi", "/frontdoor/complaints")
        seen["complaints"] = cells(complaints, "complaint", complaint_no)[5:7]
        page = (await web.get(f"/frontdoor/complaints/{complaint_no}")).text
        seen["complaint page"] = [fact(page, "签收期限"), fact(page, "办结期限")]
        return seen

    # Counted with the statutory holidays of 2027 alone: 5 working days to answer (12-31, 01-04..07), 3 to accept
    # (01-05), 15 to report the result (01-21), 10 to visit (01-14); a complaint's 15 and 60 calendar days end on
    # Thursday 01-14 and, Sunday 02-28 being a day off, on Monday 03-01.
    assert await shown() == {
        "desk": "2027-01-07 暂定",
        "request page": "2027-01-07 暂定",
        "request api": ("2027-01-07", True),
        "tasks": "2027-01-14 暂定",
        "task page": "2027-01-14 暂定",
        "task api": ("2027-01-14", True),
        "inbox": ["2027-01-05 暂定", "2027-01-21 暂定"],
        "referral page": ["2027-01-05 暂定", "2027-01-21 暂定"],
        "complaints": ["2027-01-14 暂定", "2027-03-01 暂定"],
        "complaint page": ["2027-01-14 暂定", "2027-03-01 暂定"],
    }

    await import_2027(pool)
    # the request, its referral, the complaint and the task
    assert await announce_calendar_change(review_env.client, pool) == (4, [])

    async def settled() -> bool:
        flags = await pool.fetchval(
            "select array[r.answer_provisional, f.accept_provisional, f.result_provisional, c.accept_provisional, "
            "c.conclude_provisional, t.visit_provisional] from frontdoor_requests r, referrals f, complaints c, "
            "discovery_tasks t where r.request_no = $1 and f.referral_id = $2 and c.complaint_no = $3 "
            "and t.task_id = $4",
            request_no,
            referral_id,
            complaint_no,
            task_id,
        )
        return flags == [False] * 6

    await eventually(settled, "every row settled")
    # 01-04 off: 5 working days end on 01-08, 3 on 01-06, 15 on 01-22, 10 on 01-15; the complaint's days stay
    assert await shown() == {
        "desk": "2027-01-08",
        "request page": "2027-01-08",
        "request api": ("2027-01-08", False),
        "tasks": "2027-01-15",
        "task page": "2027-01-15",
        "task api": ("2027-01-15", False),
        "inbox": ["2027-01-06", "2027-01-22"],
        "referral page": ["2027-01-06", "2027-01-22"],
        "complaints": ["2027-01-14", "2027-03-01"],
        "complaint page": ["2027-01-14", "2027-03-01"],
    }
    # the request's history says what moved (the words of workflows.common.recounted)
    page = await page_as(web, "shipo_jingban", f"/frontdoor/requests/{request_no}")
    assert "工作日历已更新，答复期限重算为 2027-01-08（原为 2027-01-07，暂定）" in text(page)

    for h in (task, complained, referral, request):
        await end_if_running(h)


@pytest.mark.start_at(beijing(2026, 12, 30, 10, 0))  # a Wednesday
@pytest.mark.web(temporal="review_env")
async def test_the_district_sees_tentative_on_a_late_referral(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    request, referral, s = await referred(review_env, "12349-20261230-TENT03")
    await review_env.skip_to(beijing(2027, 1, 6, 0, 1))  # its last day to accept (01-05) has closed: reported
    await eventually(
        lambda: pool.fetchval("select escalated from referrals where referral_id = $1", s.referral_id),
        "the referral reported to the district",
    )
    district = await page_as(web, "qu_jiandu", "/frontdoor/district")
    # the limit passed and reported is final (it is not counted again): no 暂定; the result's still runs
    assert late_referral(district, s.referral_id)[4:6] == ["2027-01-05", "2027-01-21 暂定"]
    flags = "select accept_provisional, result_provisional from referrals where referral_id = $1"
    assert tuple(await pool.fetchrow(flags, s.referral_id)) == (False, True)

    await import_2027(pool)
    assert await announce_calendar_change(review_env.client, pool) == (2, [])  # the referral and its request
    await eventually(
        lambda: pool.fetchval(
            "select result_due = '2027-01-22' and not result_provisional from referrals where referral_id = $1",
            s.referral_id,
        ),
        "the result's limit counted again",
    )
    district = await page_as(web, "qu_jiandu", "/frontdoor/district")
    # the limit passed is not counted again (it was reported as it stood): as counted then, and final
    assert late_referral(district, s.referral_id)[4:6] == ["2027-01-05", "2027-01-22"]
    for h in (referral, request):
        await end_if_running(h)


@pytest.mark.start_at(beijing(2026, 12, 30, 10, 0))  # a Wednesday
@pytest.mark.web(temporal="review_env")
async def test_a_passed_answer_date_and_visit_date_are_final_once_reported(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """The request's answer date (01-07) and the discovery task's visit date (01-14) pass unmet and are reported to
    the district: they are not counted again, so they lose 暂定."""
    request_no = "12349-20261230-TENT04"
    request, referral, _ = await referred(review_env, request_no)
    task_id, task, _ = await task_for(review_env, pool, 1, SHIPO, date(2026, 12, 30))
    await review_env.skip_to(beijing(2027, 1, 15, 0, 1))
    await eventually(
        lambda: pool.fetchval(
            "select (select escalated_at is not null from discovery_tasks where task_id = $1) and exists(select from "
            "frontdoor_log where subject_id = $2 and kind = 'escalated_answer')",
            task_id,
            request_no,
        ),
        "the task and the request reported to the district",
    )
    assert await pool.fetchval(
        "select array[r.answer_provisional, t.visit_provisional] from frontdoor_requests r, discovery_tasks t "
        "where r.request_no = $1 and t.task_id = $2",
        request_no,
        task_id,
    ) == [False, False]
    assert cells(await page_as(web, "shipo_jingban", "/frontdoor"), "request", request_no)[5] == "2027-01-07 已超期"
    assert fact((await web.get(f"/frontdoor/requests/{request_no}")).text, "答复期限") == "2027-01-07"
    assert fact((await web.get(f"/discovery/{task_id}")).text, "核实期限") == "2027-01-14 已超期，已上报区民政局"
    for h in (task, referral, request):
        await end_if_running(h)


@pytest.mark.start_at(beijing(2026, 12, 30, 10, 0))  # a Wednesday
@pytest.mark.web(temporal="review_env")
async def test_the_resident_sees_a_tentative_answer_date(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    number, receipt = await apply_online(web, ["medical_costs"])
    said = re.search(r'data-testid="answer-due">(.*?)</p>', receipt, re.S)[1]
    assert text(said) == "我们将在 5 个工作日内（2027-01-07 前）答复您。 暂定"
    assert fact((await look_up(web, number)).text, "答复期限") == "2027-01-07 暂定"

    await import_2027(pool)
    assert await announce_calendar_change(review_env.client, pool) == (1, [])
    await eventually(
        lambda: pool.fetchval(
            "select answer_due = '2027-01-08' and not answer_provisional from frontdoor_requests where request_no = $1",
            number,
        ),
        "the answer date counted again",
    )
    assert fact((await look_up(web, number)).text, "答复期限") == "2027-01-08"
    await end_if_running(review_env.client.get_workflow_handle(intake_workflow_id(number)))
