"""A complaint names a case of its own township only (audit finding 1): the complaint workflow tells the case it
names, which ends its public notice (or sends it back to the investigation) and requires the district's visit,
so a number that is not a review case of the complaint's township is refused before anything starts, by every
way of filing one (the API's registration, a 12349 request by the API, the desk's form and the portal's), with
one answer whether the case does not exist or lies in another township. A case of the complaint's own township
is taken as before, its number as recorded however it was typed."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.support.clients import SHIPO, SHUNHE, app_client, csrf_token, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.frontdoor import PERSON, portal_post, resident
from tests.support.review import events
from tests.support.workflows import eventually
from tests.test_public_notice import in_notice

CASE = "FD-SCOPE-1"  # 石婆店镇's case, in public notice
MESSAGE = "涉及的案件编号：未在所选乡镇（街道）找到该案件编号"
REFUSED = (422, "case_not_found", MESSAGE, [{"loc": ["about_case_id"], "type": "case_not_found", "msg": MESSAGE}])


def complaint(township: str, about: str) -> dict[str, str]:
    return {
        "complainant": "赵某",
        "phone": "13955640000",
        "township_code": township,
        "about_case_id": about,
        "content": "来电反映该户低保评议不公",
    }


def refusal(r: httpx.Response) -> tuple:
    body = r.json()
    return r.status_code, body["code"], body["message"], body.get("errors")


async def _case(pool: asyncpg.Pool) -> tuple:
    row = await pool.fetchrow("select stage, notice_ends_at, handled_by from cases where case_id = $1", CASE)
    return tuple(row)


async def _desk_form(web: httpx.AsyncClient, user: str, data: dict[str, str]) -> httpx.Response:
    web.cookies.clear()
    await login(web, user)
    form = await web.get("/frontdoor/new")
    return await web.post("/frontdoor/new", data={**data, "csrftoken": csrf_token(form.text)})


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_a_complaint_names_a_case_of_its_own_township_only(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await in_notice(review_env, pool, CASE)
    before = await _case(pool)
    assert before == ("public_notice", beijing(2026, 12, 2), "township")
    case_events = await events(pool, CASE)

    # 顺河镇's caseworker, and the district's hotline, about 石婆店镇's case or one that does not exist
    other = await login(web, "shunhe_jingban")
    hotline = await login(web, "qu_minzheng")
    for headers in (other, hotline):
        for about in (CASE, " fd-scope-1 ", "NO-SUCH-CASE", "不是编号"):
            r = await web.post("/api/complaints", headers=headers, json=complaint(SHUNHE, about))
            assert refusal(r) == REFUSED, (about, r.text)
        r = await web.post(
            "/api/frontdoor/requests",
            headers=headers,
            json=resident(description="来电投诉该户评议不公", township_code=SHUNHE, village_code=None)
            | {"kind": "complaint", "about_case_id": CASE},
        )
        assert refusal(r) == REFUSED, r.text
    # naming the case's own township is outside 顺河镇's jurisdiction, as before
    r = await web.post("/api/complaints", headers=other, json=complaint(SHIPO, CASE))
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")

    # the desk's form: shown again with what was typed and the refusal beside the case number
    r = await _desk_form(
        web,
        "shunhe_jingban",
        resident(description="来电投诉该户评议不公", township_code=SHUNHE, village_code="")
        | {"kind": "complaint", "about_case_id": CASE},
    )
    assert r.status_code == 422
    assert f'<input name="about_case_id" value="{CASE}" aria-invalid="true">' in r.text
    assert f'<span class="field-error" data-error-for="about_case_id" role="alert">{MESSAGE}</span>' in r.text
    assert "来电投诉该户评议不公" in r.text and PERSON in r.text

    # the portal's form: the same, for a member of the public
    async with app_client(pool, review_env.client) as public:
        data = resident(description="我反映该户评议不公，请核查", township_code=SHUNHE, village_code="")
        r = await portal_post(public, "/portal/complain", data | {"about_case_id": CASE})
    assert r.status_code == 422
    assert f'name="about_case_id" value="{CASE}" maxlength="64" aria-invalid="true">' in r.text
    assert f'<p class="field-error" id="about_case_id-error">{MESSAGE}</p>' in r.text
    assert "我反映该户评议不公，请核查" in r.text and 'value="13955641234"' in r.text

    # nothing started, and the case is where it was
    assert await pool.fetchval("select count(*) from complaints") == 0
    assert await pool.fetchval("select count(*) from frontdoor_requests") == 0
    assert await _case(pool) == before
    assert await events(pool, CASE) == case_events

    # 石婆店镇's own complaint about it is taken as before, its number as recorded however it was typed
    township = await login(web, "shipo_jingban")
    r = await web.post("/api/complaints", headers=township, json=complaint(SHIPO, " fd－scope－1 "))
    assert r.status_code == 201, r.text
    number = r.json()["complaint_no"]
    assert await pool.fetchval("select about_case_id from complaints where complaint_no = $1", number) == CASE
    # which ends the notice: back to the investigation, with the district's visit
    await eventually(
        lambda: pool.fetchval("select 1 from cases where case_id = $1 and stage = 'investigation'", CASE),
        "the case back in investigation",
    )
    assert (await _case(pool))[0] == "investigation"
    assert (await events(pool, CASE))[len(case_events) :] == ["objection"]


@pytest.mark.start_at(beijing(2026, 12, 4, 9, 0))
async def test_a_complaint_not_yet_recorded_is_answered_202_and_a_retry_registers_it_once(
    ts_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """No worker runs: the complaint's workflow starts but records nothing. The number stands (202, no dates),
    and the same request again, under its Idempotency-Key, gets that number back instead of a second complaint."""
    from temporalio.client import WorkflowExecutionStatus

    from tests.support.clients import SECRET, asgi_client, login
    from webapp.app import create_app

    app = create_app(pool, ts_env.client, secret_key=SECRET)
    body = {"complainant": "周大勇", "phone": "13955641234", "township_code": "341503106", "content": "窗口态度差"}
    async with asgi_client(app) as c:
        headers = await login(c, "shipo_jingban") | {"Idempotency-Key": "complaint-202"}
        first = await c.post("/api/complaints", json=body, headers=headers)
        again = await c.post("/api/complaints", json=body, headers=headers)
    assert first.status_code == 202, first.text
    created = first.json()
    assert (created["unit_code"], created["accept_due"], created["conclude_due"]) == ("341503106", None, None)
    assert (again.status_code, again.json()) == (202, created)
    started = await ts_env.client.get_workflow_handle(f"complaint-{created['complaint_no']}").describe()
    assert started.status == WorkflowExecutionStatus.RUNNING
    # the repeat was answered from the key: one claim, kept with its 202
    rows = await pool.fetch("select response_status from idempotency_keys where key = 'complaint-202'")
    assert [(r["response_status"]) for r in rows] == [202]
