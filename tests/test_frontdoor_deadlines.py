"""Deadlines of the front door on the time-skipping server: a bureau that does not accept in time is
reported to the district, which sees who has not answered; a complaint nobody accepts escalates too,
never reaches the person complained about, marks the case for a district visit, and its reply reaches
the complainant."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest

from db import frontdoor_repo
from schemas.frontdoor import FrontDoorLogIn, ReferralNames, ReferralState, referral_workflow_id
from schemas.staff import Bureau
from tests.support.clients import insert_case, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import application
from tests.support.frontdoor import PERSON, add_bureau_user, portal_post, referrals_of, referred, resident
from tests.support.workflows import eventually


@pytest.mark.start_at(beijing(2026, 9, 29, 10, 0))  # a Tuesday: National Day falls in the 3 days to accept
@pytest.mark.web(temporal="review_env")
async def test_a_bureau_missing_its_deadlines_is_reported_to_the_district(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await add_bureau_user(pool, "renshe_bu", Bureau.HR_SOCIAL_SECURITY)
    operator = await login(web, "qu_minzheng")  # the 12349 hotline
    r = await web.post(
        "/api/frontdoor/requests",
        headers=operator,
        json={**resident(description="来电：失业半年，想找工作"), "kind": "help", "needs": ["jobless"]},
    )
    assert r.status_code == 201, r.text
    number = r.json()["request_no"]
    # 5 working days after 09-29: 09-30, then 10-01..07 off, 10-08, 10-09, Saturday 10-10 (made up), 10-12
    assert (r.json()["answer_due"], r.json()["answer_working_days"]) == ("2026-10-12", 5)
    row = await pool.fetchrow("select channel, received_by from frontdoor_requests where request_no = $1", number)
    assert (row["channel"], row["received_by"]) == ("hotline", "qu_minzheng")
    await web.post(f"/api/frontdoor/requests/{number}/triage", headers=operator, json={"needs": ["jobless"]})
    referral_id = (await eventually(lambda: referrals_of(pool, number), "referral delivered"))["jobless"]
    handle = review_env.client.get_workflow_handle(referral_workflow_id(referral_id))
    first = await handle.query(ReferralNames.STATE, result_type=ReferralState)
    # accept within 3 working days (09-30, 10-08, 10-09); answer within 15 (... 10-10, 10-12..16, 19..23, 26)
    assert (first.accept_due, first.result_due) == (date(2026, 10, 9), date(2026, 10, 26))

    await review_env.skip_to(beijing(2026, 10, 9, 23, 59))  # the last day to accept: nothing yet
    assert not await pool.fetchval("select escalated from referrals where referral_id = $1", referral_id)
    await review_env.skip_to(beijing(2026, 10, 10, 0, 1))  # its close has passed
    note = await eventually(  # written after the escalation is logged on the referral's row
        lambda: pool.fetchrow(
            "select subject, body from notifications where audience = 'role:district_officer@341503' "
            "and kind = 'referral-escalated_accept'"
        ),
        "the district told",
    )
    assert "区人社局" in note["body"] and str(first.accept_due) in note["body"]
    assert await pool.fetchval("select escalated from referrals where referral_id = $1", referral_id)

    operator = await login(web, "qu_minzheng")  # ten days on: yesterday's sessions have expired
    district = await login(web, "qu_jiandu")
    overview = (await web.get("/api/frontdoor/overview", headers=district)).json()
    [load] = overview["referrals"]
    assert (load["bureau"], load["open"], load["not_accepted"], load["accept_overdue"], load["escalated"]) == (
        "hrss",
        1,
        1,
        1,
        1,
    )
    late = (await web.get("/api/referrals?overdue=true", headers=district)).json()["items"]
    assert [i["referral_id"] for i in late] == [referral_id] and late[0]["accept_overdue"]
    assert (await web.get("/api/frontdoor/overview", headers=await login(web, "shipo_jingban"))).status_code == 403

    # late is better than never: the bureau accepts, then misses the result deadline as well
    hrss = await login(web, "renshe_bu")
    r = await web.post(f"/api/referrals/{referral_id}/accept", headers=hrss, json={"note": "已联系"})
    assert r.status_code == 200 and r.json()["escalations"] == ["accept"]
    [item] = (await web.get("/api/referrals", headers=hrss)).json()["items"]
    assert item["escalated"] and not item["accept_overdue"] and not item["result_overdue"]
    await review_env.skip_to(beijing(2026, 10, 26, 23, 59))  # the last day for a result: not escalated yet
    [item] = (await web.get("/api/referrals", headers=await login(web, "renshe_bu"))).json()["items"]
    assert not item["result_overdue"]
    await review_env.skip_to(beijing(2026, 10, 27, 0, 1))
    await eventually(
        lambda: pool.fetchval(
            "select 1 from notifications where audience = 'role:district_officer@341503' "
            "and kind = 'referral-escalated_result'"
        ),
        "result escalated",
    )
    state = await review_env.client.get_workflow_handle(referral_workflow_id(referral_id)).query(
        ReferralNames.STATE, result_type=ReferralState
    )
    assert state.status == "accepted" and state.escalations == ["accept", "result"]
    hrss = await login(web, "renshe_bu")
    [item] = (await web.get("/api/referrals", headers=hrss)).json()["items"]
    assert item["result_overdue"] and not item["accept_overdue"]
    kinds = await pool.fetch(
        "select kind from frontdoor_log where subject_type = 'referral' and subject_id = $1 order by id",
        referral_id,
    )
    assert [k["kind"] for k in kinds] == ["delivered", "escalated_accept", "accepted", "escalated_result"]
    # the request itself is overdue too, and the district heard of it
    await eventually(
        lambda: pool.fetchval(
            "select 1 from notifications where audience = 'role:district_officer@341503' and kind like 'request-%'"
        ),
        "the district told of the request",
    )
    district = await login(web, "qu_jiandu")
    [late_request] = (await web.get("/api/frontdoor/overview", headers=district)).json()["requests"]
    assert late_request["township_name"] == "石婆店镇" and late_request["waiting"] == 1


@pytest.mark.start_at(beijing(2026, 11, 24, 23, 30))
@pytest.mark.web(temporal="review_env")
async def test_a_complaint_escalates_skips_the_person_concerned_and_reaches_the_case(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    caseworker = await login(web, "shipo_diaocha")
    app = application("FD-COMPLAINT-CASE")
    app.household.members[0].id_number = PERSON
    assert (await web.post("/api/cases", headers=caseworker, json=app.model_dump(mode="json"))).status_code == 202
    await eventually(lambda: pool.fetchval("select 1 from cases where case_id = 'FD-COMPLAINT-CASE'"), "case")

    r = await portal_post(
        web,
        "/portal/complain",
        resident(description="经办人李娟入户时态度粗暴，还要求送礼")
        | {"about_case_id": "FD-COMPLAINT-CASE", "about_person": "李娟"},
    )
    assert r.status_code == 303, r.text
    row = await eventually(
        lambda: pool.fetchrow(
            "select * from complaints where about_case_id = 'FD-COMPLAINT-CASE' "
            "and accept_due is not null and conclude_due is not null"  # the row comes first, its limits after
        ),
        "complaint and its limits",
    )
    number = row["complaint_no"]
    # accepted within 15 calendar days of 11-24, concluded within 60: the 60th day, 2027-01-23, is a Saturday,
    # so the limit runs to Monday 01-25 (Civil Code art. 203)
    assert (row["unit_code"], row["status"]) == ("341503106", "registered")
    assert (row["accept_due"], row["conclude_due"]) == (date(2026, 12, 9), date(2027, 1, 25))

    # the district must now visit the household itself
    await eventually(lambda: _visit_required(web, caseworker), "case flagged for a district visit")

    # the person complained about, and the caseworker of the case it concerns, neither see nor handle it
    for accused in (await login(web, "shipo_jingban"), caseworker):
        assert (await web.get("/api/complaints", headers=accused)).json()["items"] == []
        r = await web.post(f"/api/complaints/{number}/accept", headers=accused, json={})
        assert (r.status_code, r.json()["code"]) == (404, "not_found")  # it does not exist for them
    handler = await login(web, "shipo_shenpi")
    assert [i["complaint_no"] for i in (await web.get("/api/complaints", headers=handler)).json()["items"]] == [number]
    assert (await web.get("/api/complaints", headers=await login(web, "shunhe_jingban"))).json()["items"] == []

    await review_env.skip_to(beijing(2026, 12, 9, 23, 59))  # the last day to accept: not escalated yet
    assert not await pool.fetchval("select escalated from complaints where complaint_no = $1", number)
    await review_env.skip_to(beijing(2026, 12, 10, 0, 1))  # nobody accepted it within 15 days
    await eventually(
        lambda: pool.fetchval(
            "select 1 from notifications where audience = 'role:district_officer@341503' "
            "and kind = 'complaint-escalated_accept'"
        ),
        "the district told",
    )
    assert await pool.fetchval("select escalated from complaints where complaint_no = $1", number)
    handler = await login(web, "shipo_shenpi")  # fifteen days on: sessions have expired
    district = await login(web, "qu_minzheng")
    [unit] = (await web.get("/api/frontdoor/overview", headers=district)).json()["complaints"]
    assert (unit["unit_name"], unit["open"], unit["overdue"], unit["escalated"]) == ("石婆店镇", 1, 1, 1)
    listed = (await web.get("/api/complaints", headers=district)).json()["items"]
    assert listed[0]["overdue"] and listed[0]["escalated"]

    r = await web.post(
        f"/api/complaints/{number}/conclude", headers=handler, json={"finding": "partly", "reply": "x" * 5}
    )
    assert r.status_code == 409 and r.json()["code"] == "wrong_stage"
    assert (await web.post(f"/api/complaints/{number}/accept", headers=handler, json={})).status_code == 200
    r = await web.post(
        f"/api/complaints/{number}/conclude",
        headers=handler,
        json={"finding": "partly", "reply": "经核查，态度问题属实，已批评教育；未发现索要财物"},
    )
    assert r.status_code == 200 and r.json()["status"] == "concluded"
    told = await eventually(
        lambda: pool.fetchval(
            "select body from notifications where audience = $1 and body like '%已批评教育%'",
            f"phone:{resident()['phone']}",
        ),
        "complainant told",
    )
    assert "部分属实" in told
    request = await eventually(
        lambda: pool.fetchrow("select * from frontdoor_requests where kind = 'complaint' and status = 'closed'"),
        "request closed with the reply",
    )
    assert "已批评教育" in request["answer"]


async def _visit_required(c, headers) -> dict | None:
    case = (await c.get("/api/cases/FD-COMPLAINT-CASE", headers=headers)).json()
    flagged = case["state"] and case["state"]["district_visit_required"]
    return case if flagged and any(e["kind"] == "district_visit_required" for e in case["events"]) else None


@pytest.mark.web(temporal="review_env")
async def test_staff_register_a_complaint_for_the_district(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await insert_case(pool, "FD-CLOSED-CASE", status="closed", stage="enrolled")  # recorded, not in review
    township = await login(web, "shipo_jingban")
    r = await web.post(
        "/api/complaints",
        headers=township,
        json={
            "complainant": "匿名群众",
            "phone": "0564-3331234",
            "township_code": "341503106",
            "about_person": "张华",
            "about_case_id": "FD-CLOSED-CASE",
            "content": "来电反映审批人张华优亲厚友",
            "to_district": True,
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["unit_code"] == "341503" and created["complaint_no"].startswith("TS-")
    # the township that took it down does not handle a complaint about its own approver
    assert (await web.get(f"/api/complaints/{created['complaint_no']}", headers=township)).status_code == 403
    district = await login(web, "qu_minzheng")
    detail = (await web.get(f"/api/complaints/{created['complaint_no']}", headers=district)).json()
    assert detail["complaint"]["unit_name"] == "裕安区" and detail["state"]["status"] == "registered"
    approver = await login(web, "shipo_shenpi")
    assert (await web.get("/api/complaints", headers=approver)).json()["items"] == []
    # a case number that is not (or no longer) in review does not stop the complaint
    logged = await eventually(
        lambda: pool.fetchval(
            "select kind from frontdoor_log where subject_id = $1 and kind = 'case_not_open'",
            created["complaint_no"],
        ),
        "case not open noted",
    )
    assert logged


@pytest.mark.start_at(beijing(2026, 11, 24, 10, 0))
async def test_a_referral_whose_delivery_gave_up_shows_the_inbox_as_its_adapter(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """When delivery to a bureau's system gives up after its window, the delivery activity never answered, so
    nothing set the referral's adapter; its `delivered` log entry, which names the inbox, does."""
    _, _, s = await referred(review_env, "12349-20261124-ADP001")
    await pool.execute("update referrals set adapter = null where referral_id = $1", s.referral_id)
    entry = FrontDoorLogIn(
        subject_type="referral",
        subject_id=s.referral_id,
        log_key="9999-delivered",
        kind="delivered",
        actor=None,
        payload={"adapter": "inbox", "accept_due": str(s.accept_due), "result_due": str(s.result_due)},
        occurred_at=beijing(2026, 11, 24, 12, 0),
        status="delivered",
    )
    async with pool.acquire() as conn:
        await frontdoor_repo.write_log(conn, entry)
    row = await pool.fetchrow("select adapter, status from referrals where referral_id = $1", s.referral_id)
    assert (row["adapter"], row["status"]) == ("inbox", "delivered")
    # a later entry naming no adapter, or another one, leaves it as it is
    await pool.execute("update referrals set adapter = 'webhook' where referral_id = $1", s.referral_id)
    async with pool.acquire() as conn:
        await frontdoor_repo.write_log(conn, entry.model_copy(update={"log_key": "9999-delivered-again"}))
    assert await pool.fetchval("select adapter from referrals where referral_id = $1", s.referral_id) == "webhook"
