"""The correction an irregular re-check opens (纠错, audit M5), on the real web app and the embedded PostgreSQL: shown
on the case page, closed there (or through the API with an `Idempotency-Key`) by the township's approver or a district
officer with a written outcome that goes into the case's event log and onto the re-check's record, after which it
leaves the open list; refused to other roles and to staff related to the household, the staff relatives register
included (audit L3, also for the re-check's finding). The finding is written as the re-check's activity writes it
(`supervision_repo.record_recheck`); the workflow's part: tests/test_recheck.py."""

from __future__ import annotations

import re
from datetime import date

import asyncpg
import httpx
import pytest

from db import supervision_repo
from tests.support.clients import SHIPO, csrf_token, log_in, login
from tests.support.factories import resident_id
from tests.support.supervision import OCTOBER, add_event, register, seed_case, with_household
from tests.test_recheck import IRREGULAR, sampled

pytestmark = pytest.mark.web

RELATED = "您与该户存在近亲属关系，依规应当回避，不能办理"
NO_OUTCOME = "请写明纠错处理结果（至少 4 个字）"
OUTCOME = "已责令石婆店镇重新入户调查，核减月保障金 100 元"


async def irregular(pool: asyncpg.Pool, case_id: str, *others: str) -> str:
    """Case `case_id` (石婆店镇, approved by shipo_shenpi) drawn in October (with `others`) and found irregular by
    qu_minzheng: its correction is open. Returns the re-check's id."""
    for case in (case_id, *others):
        await seed_case(pool, case, SHIPO, OCTOBER)
        await add_event(pool, case, "decision", actor="shipo_shenpi", role="township_approver")
    case = await sampled(pool, case_id, *others)
    async with pool.acquire() as conn:
        await supervision_repo.record_recheck(conn, case.recheck_id, IRREGULAR)
    return case.recheck_id


def section(html: str) -> str:
    found = re.search(r'<section class="card" id="corrections".*?</section>', html, re.S)
    assert found, "no corrections on the page"
    return found.group(0)


async def close_form(web: httpx.AsyncClient, case_id: str, recheck_id: str, outcome: str) -> httpx.Response:
    page = (await web.get(f"/cases/{case_id}")).text
    return await web.post(
        f"/cases/{case_id}/corrections/{recheck_id}/close", data={"outcome": outcome, "csrftoken": csrf_token(page)}
    )


async def test_the_township_approver_closes_a_correction_with_a_written_outcome(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    recheck_id = await irregular(pool, "CR-1")
    assert recheck_id == "2026-10-CR-1"

    # a caseworker sees the correction, with no form, and may not close it
    await log_in(web, "shipo_jingban")
    shown = section((await web.get("/cases/CR-1")).text)
    assert "待纠错" in shown and "未入户调查即作出决定" in shown and 'data-testid="correction-form"' not in shown
    assert "由本乡镇（街道）审批人或区民政局工作人员写明纠错处理结果后办结。" in shown
    r = await close_form(web, "CR-1", recheck_id, OUTCOME)
    assert r.status_code == 403 and "纠错由本乡镇（街道）审批人或区民政局工作人员办结" in r.text

    await log_in(web, "shipo_shenpi")
    shown = section((await web.get("/cases/CR-1")).text)
    assert 'data-testid="correction-form"' in shown and "区民政局 陈立" in shown
    r = await close_form(web, "CR-1", recheck_id, "  已改 ")
    assert r.status_code == 422
    assert NO_OUTCOME in section(r.text).split('data-testid="correction-error"')[1].split("</p>")[0]
    assert await pool.fetchval("select status from case_corrections where recheck_id = $1", recheck_id) == "open"

    r = await close_form(web, "CR-1", recheck_id, f" {OUTCOME}\n")
    assert (r.status_code, r.headers["location"]) == (303, "/cases/CR-1?done=correction#corrections")
    page = (await web.get(r.headers["location"])).text
    assert "已办理：纠错办结。" in page.split('data-testid="done"')[1].split("</p>")[0]
    shown = section(page)
    assert 'data-status="done"' in shown and "纠错已办结" in shown and 'data-testid="correction-form"' not in shown
    assert re.search(r'data-testid="correction-outcome">([^<]*)<', shown).group(1) == OUTCOME
    assert "石婆店镇审批人 张华" in shown
    row = await pool.fetchrow(
        "select status, outcome, closed_by, closed_at is not null as closed from case_corrections "
        "where recheck_id = $1",
        recheck_id,
    )
    assert tuple(row) == ("done", OUTCOME, "shipo_shenpi", True)
    [event] = await pool.fetch(
        "select event_key, kind, actor, actor_role, payload from case_events where case_id = 'CR-1' "
        "and kind = 'correction_closed'"
    )
    assert tuple(event)[:4] == (
        "correction-closed-2026-10-CR-1",
        "correction_closed",
        "shipo_shenpi",
        "township_approver",
    )
    assert event["payload"] == {"recheck_id": recheck_id, "outcome": OUTCOME, "summary": f"抽查复核纠错办结：{OUTCOME}"}
    assert f"抽查复核纠错办结：{OUTCOME}" in page.split('data-testid="timeline"')[1]

    r = await close_form(web, "CR-1", recheck_id, "再次办结的说明")
    assert r.status_code == 409 and "该纠错已办结，不能再办理" in r.text
    assert await pool.fetchval("select count(*) from case_events where kind = 'correction_closed'") == 1

    # the district: gone from the open list; the re-check's record shows the outcome
    await log_in(web, "qu_minzheng")
    sampling = (await web.get("/supervision/sampling?month=2026-10")).text
    assert "没有待纠错的案件。" in sampling.split('data-testid="corrections"')[1]
    recheck = (await web.get(f"/supervision/rechecks/{recheck_id}")).text
    assert "纠错已办结" in recheck.split('data-testid="correction"')[1].split("</dd>")[0]
    assert re.search(r'data-testid="correction-outcome">([^<]*)<', recheck).group(1) == OUTCOME


async def test_the_correction_is_on_the_open_list_until_closed(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    recheck_id = await irregular(pool, "CR-4")
    await log_in(web, "qu_jiandu")  # the supervisor reads, acts on nothing
    sampling = (await web.get("/supervision/sampling?month=2026-10")).text
    listed = sampling.split('data-testid="corrections"')[1]
    assert f'data-recheck="{recheck_id}"' in listed and "未入户调查即作出决定" in listed
    assert 'data-testid="correction-form"' not in section((await web.get("/cases/CR-4")).text)
    recheck = (await web.get(f"/supervision/rechecks/{recheck_id}")).text
    assert "待纠错" in recheck.split('data-testid="correction"')[1].split("</dd>")[0]


async def test_a_district_officer_closes_a_correction_through_the_api_once(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    recheck_id = await irregular(pool, "CR-2")
    url = f"/api/corrections/{recheck_id}/close"
    supervisor = await login(web, "qu_jiandu", session=False)
    r = await web.post(url, headers=supervisor, json={"outcome": OUTCOME})
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    other_town = await login(web, "shunhe_shenpi", session=False)
    r = await web.post(url, headers=other_town, json={"outcome": OUTCOME})
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    officer = await login(web, "qu_minzheng", session=False)
    r = await web.post(url, headers=officer, json={"outcome": "改"})
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (422, "invalid", NO_OUTCOME)
    assert r.json()["errors"] == [{"loc": ["outcome"], "type": "invalid", "msg": NO_OUTCOME}]
    r = await web.post("/api/corrections/2026-10-NONE/close", headers=officer, json={"outcome": OUTCOME})
    assert (r.status_code, r.json()["code"]) == (404, "not_found")

    once = officer | {"Idempotency-Key": "close-CR-2"}
    first = await web.post(url, headers=once, json={"outcome": OUTCOME})
    assert first.status_code == 200, first.text
    body = first.json()
    assert {k: body[k] for k in ("recheck_id", "case_id", "status", "findings", "outcome", "closed_by")} == {
        "recheck_id": recheck_id,
        "case_id": "CR-2",
        "status": "done",
        "findings": "未入户调查即作出决定",
        "outcome": OUTCOME,
        "closed_by": "区民政局 陈立",
    }
    again = await web.post(url, headers=once, json={"outcome": OUTCOME})
    assert (again.status_code, again.json(), again.headers["idempotent-replayed"]) == (200, body, "true")
    r = await web.post(url, headers=officer | {"Idempotency-Key": "close-CR-2-b"}, json={"outcome": OUTCOME})
    assert (r.status_code, r.json()["code"]) == (409, "closed")
    assert await pool.fetchval("select count(*) from case_events where kind = 'correction_closed'") == 1


async def test_staff_the_relatives_check_barred_may_not_close_it(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    """The relatives check at acceptance barred shipo_shenpi from case CR-6: no form, and closing is refused
    (`recused`) and logged for the district."""
    recheck_id = await irregular(pool, "CR-6")
    barred = [{"username": "shipo_shenpi", "full_name": "石婆店镇审批人 张华", "reason": "近亲属备案：舅舅"}]
    await add_event(pool, "CR-6", "relatives_matched", payload={"barred": barred})
    await log_in(web, "shipo_shenpi")
    assert 'data-testid="correction-form"' not in section((await web.get("/cases/CR-6")).text)
    r = await close_form(web, "CR-6", recheck_id, OUTCOME)
    assert r.status_code == 403
    assert section(r.text).split('data-testid="correction-error"')[1].split("</p>")[0].endswith(RELATED)
    assert await pool.fetchval("select status from case_corrections where recheck_id = $1", recheck_id) == "open"
    refused = await pool.fetch("select case_id, username, action, code, message from refused_actions")
    assert [tuple(x) for x in refused] == [("CR-6", "shipo_shenpi", "correction_close", "recused", RELATED)]


async def test_staff_the_relatives_register_names_may_not_close_or_recheck(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """After the case was accepted and drawn, shipo_shenpi and qu_minzheng registered the applicant as a relative:
    no form for them, and closing the correction or recording the re-check's finding is refused (`recused`, logged);
    before, only the relatives check's events at acceptance counted."""
    recheck_id, open_recheck = await irregular(pool, "CR-3", "CR-5"), "2026-10-CR-5"
    member = resident_id(date(1950, 3, 1))
    await with_household(pool, "CR-3", member=member)
    await with_household(pool, "CR-5", member=member)
    for user in ("shipo_shenpi", "qu_minzheng"):
        await register(pool, user, member)

    await log_in(web, "shipo_shenpi")
    assert 'data-testid="correction-form"' not in section((await web.get("/cases/CR-3")).text)
    r = await close_form(web, "CR-3", recheck_id, OUTCOME)
    assert r.status_code == 403 and RELATED in section(r.text)
    api = await login(web, "qu_minzheng", session=False)
    r = await web.post(f"/api/corrections/{recheck_id}/close", headers=api, json={"outcome": OUTCOME})
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (403, "recused", RELATED)
    assert await pool.fetchval("select status from case_corrections where recheck_id = $1", recheck_id) == "open"

    await log_in(web, "qu_minzheng")
    form = (await web.get(f"/supervision/rechecks/{open_recheck}")).text
    assert 'data-testid="finding-form"' not in form  # sent all the same below
    r = await web.post(
        f"/supervision/rechecks/{open_recheck}",
        data={"result": "upheld", "findings": "材料齐全，程序合规", "csrftoken": csrf_token(form)},
    )
    assert r.status_code == 403 and RELATED in r.text.split('data-testid="error"')[1].split("</p>")[0]
    assert await pool.fetchval("select status from rechecks where recheck_id = $1", open_recheck) == "open"
    refused = await pool.fetch("select case_id, username, action, code from refused_actions order by id")
    assert [tuple(x) for x in refused] == [
        ("CR-3", "shipo_shenpi", "correction_close", "recused"),
        ("CR-3", "qu_minzheng", "correction_close", "recused"),
        ("CR-5", "qu_minzheng", "recheck", "recused"),
    ]
