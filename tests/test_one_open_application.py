"""One open application per person and assistance type (issue 17, point 3), through the HTTP API and the intake
page, with a real worker on the time-skipping server: a second open case of the same type for a member of an
open case's household is refused with 409 `open_case_exists` (naming the open case only to those who may read
it), two intakes at once open one case, and a withdrawn case frees its people."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.support.clients import SHUNHE, csrf_token, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import application, intake_form
from webapp.review.intake import open_case_warning

START = beijing(2026, 11, 24, 9, 30)
ELSEWHERE = {
    "code": "open_case_exists",
    "message": "该申请家庭中有成员已在其他乡镇（街道）有未办结的同类申请，办结后方可再次申请；如有疑问，请联系区民政局",
}


def same_people(app_id: str, of: dict, *, township: str | None = None) -> dict:
    """Another application (another number) for the household of `of`; moved to `township` if given."""
    body = application(app_id).model_dump(mode="json")
    body["household"] = dict(of["household"])
    if township:
        body["household"] |= {"township_code": township, "village_code": None, "address": "顺河镇 顺河街 3 号"}
    return body


async def cases_once_written(pool: asyncpg.Pool, n: int) -> list[tuple]:
    """(case_id, stage, status) of every case, once `n` cases are past their first activities (in real time)."""
    for _ in range(200):
        rows = [tuple(x) for x in await pool.fetch("select case_id, stage, status from cases order by case_id")]
        if len(rows) == n and all(stage != "accepted" for _, stage, _ in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"cases: {rows}")


@pytest.mark.start_at(START)
@pytest.mark.web(temporal="review_env")
async def test_second_open_application_is_refused_until_the_first_is_withdrawn(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    caseworker = await login(web, "shipo_jingban")
    first = application("ONE-1").model_dump(mode="json")
    r = await web.post("/api/cases?wait=10", json=first, headers=caseworker)
    assert r.status_code == 201, r.text
    # the same household under another number, and one where only a child of the first is a member
    second = same_people("ONE-2", first)
    r = await web.post("/api/cases?wait=10", json=second, headers=caseworker)
    assert r.status_code == 409
    assert r.json() == {
        "code": "open_case_exists",
        "message": "该申请家庭中有成员已有未办结的最低生活保障申请（案件 ONE-1），不能重复受理；请在该案件中继续办理",
        "case_id": "ONE-1",
        "link": "/cases/ONE-1",
    }
    child = application("ONE-3").model_dump(mode="json")
    child["household"]["members"][1] = first["household"]["members"][2] | {"relation": "child"}
    r = await web.post("/api/cases", json=child, headers=caseworker)
    assert (r.status_code, r.json()["case_id"]) == (409, "ONE-1")
    # another township's caseworker learns only that an application is open elsewhere
    elsewhere = same_people("ONE-4", first, township=SHUNHE)
    r = await web.post("/api/cases", json=elsewhere, headers=await login(web, "shunhe_jingban"))
    assert (r.status_code, r.json()) == (409, ELSEWHERE)
    assert await pool.fetchval("select count(*) from cases") == 1
    assert await pool.fetchval("select count(*) from open_applications where case_id <> 'ONE-1'") == 0
    # the intake page says it too, with a link to the open case
    await login(web, "shipo_jingban")
    page = await web.get("/cases/new")
    check = await web.post(
        "/cases/new/check-id",
        data={"id_number": first["household"]["members"][0]["id_number"]},
        headers={"x-csrftoken": csrf_token(page.text)},
    )
    assert check.json()["message"] == "注意：该居民已有未办结的最低生活保障申请（案件 ONE-1），同类申请不能重复受理"
    logged = await pool.fetch(
        "select kind, detail from access_log where username = 'shipo_jingban' and kind = 'household.lookup'"
    )
    masked = first["household"]["members"][0]["id_number"]
    assert [tuple(x) for x in logged] == [("household.lookup", f"{masked[:6]}********{masked[-4:]}")]
    # the intake form: the same refusal, with a link to the open case
    data = intake_form(csrf_token(page.text), "王大山", first["household"]["members"][0]["id_number"])
    r = await web.post("/cases/new", data=data)
    assert r.status_code == 409
    assert (
        '<p class="error cw-banner" role="alert" data-testid="form-message">该申请家庭中有成员已有未办结的最低生活保障'
        '申请（案件 ONE-1），不能重复受理；请在该案件中继续办理 <a href="/cases/ONE-1" data-testid="open-case-link">'
        "查看该案件</a></p>"
    ) in r.text
    # the household view warns at intake
    form = await web.get("/households")
    view = await web.post(
        "/households",
        data={"id_number": first["household"]["members"][1]["id_number"], "csrftoken": csrf_token(form.text)},
    )
    assert view.status_code == 200
    assert (
        '<p class="error" role="status" data-testid="open-application">有未办结的申请：办结前，该户任何成员的同类申请'
        '均不予重复受理。\n<a href="/cases/ONE-1">ONE-1</a> 最低生活保障</p>'
    ) in view.text

    withdrawal = {"statement_signed_on": "2026-11-24", "statement_ref": "CH-2026-001"}
    r = await web.post("/api/cases/ONE-1/actions/withdraw", json=withdrawal, headers=caseworker)
    assert (r.status_code, r.json()["stage"]) == (200, "withdrawn"), r.text
    r = await web.post("/api/cases?wait=10", json=second, headers=caseworker)
    assert r.status_code == 201, r.text
    rows = await cases_once_written(pool, 2)
    assert rows == [("ONE-1", "withdrawn", "withdrawn"), ("ONE-2", "investigation", "open")]


@pytest.mark.start_at(START)
@pytest.mark.web(temporal="review_env")
async def test_two_intakes_at_once_open_one_case(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    caseworker = await login(web, "shipo_jingban")
    first = application("RACE-1").model_dump(mode="json")
    second = same_people("RACE-2", first)
    answers = await asyncio.gather(
        web.post("/api/cases?wait=10", json=first, headers=caseworker),
        web.post("/api/cases?wait=10", json=second, headers=caseworker),
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    [won] = [r.json()["case_id"] for r in answers if r.status_code == 201]
    [lost] = [r.json() for r in answers if r.status_code == 409]
    assert (lost["code"], lost["case_id"]) == ("open_case_exists", won)
    assert [row[0] for row in await cases_once_written(pool, 1)] == [won]
    assert await pool.fetchval("select count(distinct case_id) from open_applications") == 1


async def test_warning_outside_the_jurisdiction_names_no_case(pool: asyncpg.Pool) -> None:
    """The intake's warning for a person whose open case lies in another township: no number."""
    from tests.support.factories import actor

    id_number = "341503198001010010"
    await pool.execute(
        "insert into open_applications (case_id, id_number, assistance_type) values ('OTHER-1', $1, 'tekun')",
        id_number,
    )
    warning = await open_case_warning(pool, actor("shunhe_jingban"), id_number)
    assert warning == "注意：该居民已有未办结的特困人员供养申请（在其他乡镇（街道）），同类申请不能重复受理"
