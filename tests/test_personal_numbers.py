"""Case and event numbers go into URLs and logs: wherever a user supplies one (a case's application number, an
emergency event's id, the case a complaint is about, the case a 12349 request is linked to), a number that is, or
holds, a resident ID number or a mobile number is refused with 422 `personal_number` before anything is looked
up or started (schemas.identity.holds_personal_number, webapp.errors.refuse_personal_number). Numbers the system
makes itself are of other shapes."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from temporalio.service import RPCError, RPCStatusCode

from schemas.identity import holds_personal_number
from schemas.review import workflow_id_for
from tests.support.clients import SHIPO, app_client, login
from tests.support.clock import SkippingEnvironment
from tests.support.factories import application
from tests.support.frontdoor import apply_online, portal_post, resident
from tests.test_emergency_api import household

ID_NUMBER = "11010519491231002X"  # valid (GB 11643)
MOBILE = "13812345678"


def refused(label: str, field: str) -> tuple:
    message = f"{label}不能是身份证号码或手机号码，也不能含有它们（编号会出现在网址和日志中）"
    return 422, "personal_number", message, [{"loc": [field], "type": "personal_number", "msg": message}]


def refusal(r: httpx.Response) -> tuple:
    body = r.json()
    return r.status_code, body["code"], body["message"], body.get("errors")


@pytest.mark.parametrize(
    "number",
    [
        ID_NUMBER,
        ID_NUMBER.lower(),
        "110105194912310021",  # a wrong check digit is still ID-shaped
        MOBILE,
        "12345678901",  # 11 digits from a 1
        "+86 138-1234-5678",
        "１３８１２３４５６７８",  # full-width, as an input method types it
        f"CASE{ID_NUMBER}",
        f"SB-{MOBILE}-1",
        "110105 19491231 002X",
    ],
)
def test_shapes_refused(number: str) -> None:
    assert holds_personal_number(number)


@pytest.mark.parametrize(
    "number",
    [
        "341503106-20261124-a1b2c3",  # the intake form's draft number
        "JJN-341503106201-20261204003000123456",  # a generated emergency event id
        "IMP-0000001",  # an imported recipient's case
        "12349-20261124-ABC123",  # a 12349 request
        "FD-DIBAO-1",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "11010519491231002",  # 17 digits
        "",
        None,
    ],
)
def test_shapes_taken(number: str | None) -> None:
    assert not holds_personal_number(number)


@pytest.mark.web(temporal="review_env")
async def test_user_supplied_case_and_event_numbers_shaped_like_personal_data_are_refused(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    caseworker = await login(web, "shipo_jingban")

    # a case's number, chosen at acceptance: no case, no workflow
    for number in (ID_NUMBER, MOBILE):
        body = application(number).model_dump(mode="json")
        r = await web.post("/api/cases", headers=caseworker, json=body)
        assert refusal(r) == refused("申请编号", "application_id"), r.text
    assert await pool.fetchval("select count(*) from cases") == 0
    for number in (ID_NUMBER, MOBILE):
        with pytest.raises(RPCError) as missing:
            await review_env.client.get_workflow_handle(workflow_id_for(number)).describe()
        assert missing.value.status is RPCStatusCode.NOT_FOUND

    # an emergency event's id, chosen at registration
    cadre = await login(web, "shipo_cun1")
    body = {"kind": "fire", "description": "夜间房屋失火", "household": household(), "event_id": f"JJN-{MOBILE}"}
    r = await web.post("/api/emergencies", headers=cadre, json=body)
    assert refusal(r) == refused("事件编号", "event_id"), r.text
    assert await pool.fetchval("select count(*) from emergencies") == 0

    # the case a complaint is about: by the API's registration, a 12349 request and the portal's form
    complaint = {
        "complainant": "赵某",
        "phone": "13955640000",
        "township_code": SHIPO,
        "about_case_id": ID_NUMBER,
        "content": "来电反映该户低保评议不公",
    }
    r = await web.post("/api/complaints", headers=caseworker, json=complaint)
    assert refusal(r) == refused("涉及的案件编号", "about_case_id"), r.text
    r = await web.post(
        "/api/frontdoor/requests",
        headers=caseworker,
        json=resident(description="来电投诉该户评议不公", village_code=None)
        | {"kind": "complaint", "about_case_id": MOBILE},
    )
    assert refusal(r) == refused("涉及的案件编号", "about_case_id"), r.text
    async with app_client(pool, review_env.client) as public:
        data = resident(description="我反映该户评议不公，请核查", village_code="") | {"about_case_id": ID_NUMBER}
        r = await portal_post(public, "/portal/complain", data)
    assert r.status_code == 422
    message = refused("涉及的案件编号", "about_case_id")[2]
    assert f'<p class="field-error" id="about_case_id-error">{message}</p>' in r.text
    assert await pool.fetchval("select count(*) from complaints") == 0
    assert await pool.fetchval("select count(*) from frontdoor_requests") == 0

    # the case a 12349 request is linked to
    number, _ = await apply_online(web, ["low_income"])
    r = await web.post(
        f"/api/frontdoor/requests/{number}/link-case",
        headers=caseworker,
        json={"need": "low_income", "case_id": ID_NUMBER},
    )
    assert refusal(r) == refused("案件编号", "case_id"), r.text
