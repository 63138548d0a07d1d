"""Complaints are confidential (issue 16, point 2): nobody a complaint is about (the person it names, matched to
a user by user name or name, or a handler of the case it concerns) can list, read, count or act on it, in the
API, the pages, the household view, the district's overview or the daily digest; and who complained (name,
phone, ID number, address) shows to the complaint's handlers only, masked for everyone else who may see that it
exists. The rule is rules.recusal.complaint_about; the lists apply it in SQL (db.frontdoor_filters), which
`test_the_lists_sql_applies_the_rule_of_the_workflow` holds to the Python rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from db import frontdoor_repo
from db.frontdoor_filters import Reader
from infra.clock import today
from rules.actions import ActorView
from rules.frontdoor_actions import ComplaintAction, ComplaintView, complaint_refusal, handles_complaint
from rules.recusal import complaint_about
from tests.support.clients import SHIPO, insert_case, log_in, login
from tests.support.frontdoor import PERSON, portal_post, resident
from tests.support.workflows import eventually

CASE = "CONF-CASE-0001"
NOT_FOUND = (404, "not_found")


async def _case_handled_by_wang_qiang(pool: asyncpg.Pool) -> None:
    """A review case in 石婆店镇 that 王强 (shipo_diaocha) accepted and visited; nobody else acted on it."""
    await insert_case(pool, CASE)
    at = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    for key, kind, payload in (
        ("accepted", "accepted", {}),
        ("home_visit-1", "home_visit", {"investigators": ["shipo_diaocha", "qu_minzheng"], "findings": "无"}),
    ):
        await pool.execute(
            "insert into case_events (case_id, event_key, kind, actor, actor_role, payload, occurred_at) "
            "values ($1, $2, $3, 'shipo_diaocha', 'township_caseworker', $4, $5)",
            CASE,
            key,
            kind,
            payload,
            at,
        )


async def _get(web: httpx.AsyncClient, user: str, url: str) -> httpx.Response:
    web.cookies.clear()
    r = await web.get(url, headers=await login(web, user, session=False))
    web.cookies.clear()
    return r


async def _page(web: httpx.AsyncClient, user: str, url: str) -> httpx.Response:
    web.cookies.clear()
    assert (await log_in(web, user)).status_code == 303
    return await web.get(url)


async def _household(web: httpx.AsyncClient, user: str, id_number: str) -> dict:
    web.cookies.clear()
    r = await web.post("/api/households/lookup", json={"id_number": id_number}, headers=await login(web, user))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.web(temporal="review_env")
async def test_a_complaint_is_invisible_to_those_it_is_about_and_the_complainant_known_to_its_handlers(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    await _case_handled_by_wang_qiang(pool)
    data = resident(description="经办人李娟办理本户低保时索要好处，调查也走过场") | {
        "about_person": "李娟",  # shipo_jingban, by name
        "about_case_id": CASE,  # handled by shipo_diaocha
    }
    r = await portal_post(web, "/portal/complain", data)
    assert r.status_code == 303, r.text
    complaint_no, request_no = await eventually(
        lambda: pool.fetchrow("select complaint_no, request_no from complaints where accept_due is not null"),
        "complaint filed",
    )
    assert await pool.fetchval("select about_person from frontdoor_requests where request_no = $1", request_no)

    subjects = ("shipo_jingban", "shipo_diaocha", "qu_minzheng")  # named; the case's caseworker; its investigator
    for user in subjects:
        # lists and their totals
        r = await _get(web, user, "/api/frontdoor/requests?kind=complaint")
        assert r.status_code == 200 and (r.json()["total"], r.json()["items"]) == (0, []), (user, r.text)
        r = await _get(web, user, "/api/frontdoor/requests?status=open")
        assert request_no not in r.text and r.json()["total"] == 0, user
        r = await _get(web, user, "/api/complaints")
        assert r.status_code == 200 and (r.json()["total"], r.json()["items"]) == (0, []), (user, r.text)
        # details and actions: it does not exist for them
        for url in (f"/api/frontdoor/requests/{request_no}", f"/api/complaints/{complaint_no}"):
            r = await _get(web, user, url)
            assert (r.status_code, r.json()["code"]) == NOT_FOUND, (user, url)
        web.cookies.clear()
        headers = await login(web, user, session=False)
        r = await web.post(f"/api/complaints/{complaint_no}/accept", json={"note": "受理"}, headers=headers)
        assert (r.status_code, r.json()["code"]) == NOT_FOUND, user
        # the pages
        for page in ("/frontdoor/complaints", "/frontdoor"):
            shown = await _page(web, user, page)
            assert shown.status_code == 200 and complaint_no not in shown.text and request_no not in shown.text
        for page in (f"/frontdoor/complaints/{complaint_no}", f"/frontdoor/requests/{request_no}"):
            assert (await _page(web, user, page)).status_code == 404, (user, page)
        # the household view of the complainant: nothing, and nothing counted elsewhere
        view = await _household(web, user, PERSON)
        assert (view["requests"], view["complaints"], view["elsewhere"]) == ([], [], 0), user
        assert view["unverified_requests"] == [], user  # not even as an unverified filing

    # The township's approver handles it: everything, the complainant's identity whole.
    r = await _get(web, "shipo_shenpi", "/api/complaints")
    assert [(c["complaint_no"], c["complainant"]) for c in r.json()["items"]] == [(complaint_no, "周大勇")]
    r = await _get(web, "shipo_shenpi", f"/api/complaints/{complaint_no}")
    assert r.status_code == 200 and r.json()["phone"] == "13955641234"
    r = await _get(web, "shipo_shenpi", f"/api/frontdoor/requests/{request_no}")
    detail = r.json()
    assert (detail["request"]["name"], detail["id_number"], detail["phone"]) == ("周大勇", PERSON, "13955641234")
    assert detail["address"] == "示范村一 周家圩 5 号" and detail["complaints"][0]["complainant"] == "周大勇"
    view = await _household(web, "shipo_shenpi", PERSON)  # filed on the portal: not the person's until verified
    assert (view["complaints"], [u["request_no"] for u in view["unverified_requests"]]) == ([], [request_no])
    web.cookies.clear()
    verify = f"/api/frontdoor/requests/{request_no}/verify-identity"
    r = await web.post(verify, json={"note": "已电话回访本人确认"}, headers=await login(web, "shipo_shenpi"))
    assert r.status_code == 200, r.text
    view = await _household(web, "shipo_shenpi", PERSON)
    assert [c["complaint_no"] for c in view["complaints"]] == [complaint_no] and view["names"] == ["周大勇"]

    # The supervisor may know a complaint exists, not who made it.
    r = await _get(web, "qu_jiandu", "/api/complaints")
    assert [(c["complaint_no"], c["complainant"], c["phone_masked"]) for c in r.json()["items"]] == [
        (complaint_no, "周**", "139****1234")
    ]
    r = await _get(web, "qu_jiandu", f"/api/complaints/{complaint_no}")
    assert r.status_code == 200 and r.json()["phone"] == "139****1234"
    detail = (await _get(web, "qu_jiandu", f"/api/frontdoor/requests/{request_no}")).json()
    assert (detail["request"]["name"], detail["id_number"], detail["phone"], detail["address"]) == (
        "周**",
        None,
        "139****1234",
        "",
    )
    assert detail["state"] is None or detail["state"]["name"] == "周**"
    assert detail["complaints"][0]["complainant"] == "周**"
    page = await _page(web, "qu_jiandu", f"/frontdoor/requests/{request_no}")
    assert page.status_code == 200 and "周**" in page.text and "周大勇" not in page.text
    assert "13955641234" not in page.text and PERSON not in page.text
    # Looking the person up tells a supervisor nothing of it: that they complained is the handlers' to know.
    view = await _household(web, "qu_jiandu", PERSON)
    assert (view["requests"], view["complaints"], view["names"]) == ([], [], [])
    # The village's cadre sees the village's requests, this one masked, and without the ID number's mask.
    listing = (await _get(web, "shipo_cun1", "/api/frontdoor/requests?kind=complaint")).json()
    assert [(i["request_no"], i["name"], i["id_masked"]) for i in listing["items"]] == [(request_no, "周**", "")]

    # The morning's digest is kept for the township; each reader sees their part of it.
    body = {"overdue": [], "due_soon": [], "referrals": [], "complaints": [{"complaint_no": complaint_no}]}
    await pool.execute(
        "insert into digests (digest_key, day, place_code, body) values ('digest-conf', $1, $2, $3)",
        today(),
        SHIPO,
        json.loads(json.dumps(body)),
    )
    for user, shown in (("shipo_jingban", False), ("shipo_diaocha", False), ("shipo_shenpi", True)):
        digest = await _page(web, user, "/supervision/digest")
        assert digest.status_code == 200 and (complaint_no in digest.text) is shown, user


@pytest.mark.web(temporal="review_env")
async def test_a_complaint_about_a_district_officer_is_neither_shown_nor_counted_to_them(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    headers = await login(web, "shipo_shenpi", session=False)
    body = {
        "complainant": "钱多多",
        "phone": "13800001111",
        "township_code": SHIPO,
        "about_person": "区民政局陈立",  # qu_minzheng's personal name within a longer text
        "content": "区里的核对一直拖着不办",
        "to_district": True,
    }
    r = await web.post("/api/complaints", json=body, headers=headers)
    assert r.status_code == 201, r.text
    complaint_no = r.json()["complaint_no"]
    assert r.json()["unit_code"] == "341503"

    r = await _get(web, "qu_minzheng", f"/api/complaints/{complaint_no}")
    assert (r.status_code, r.json()["code"]) == NOT_FOUND
    r = await _get(web, "qu_minzheng", "/api/complaints")
    assert (r.json()["total"], r.json()["items"]) == (0, [])
    overview = (await _get(web, "qu_minzheng", "/api/frontdoor/overview")).json()
    assert overview["complaints"] == []
    overview = (await _get(web, "qu_jiandu", "/api/frontdoor/overview")).json()
    assert [(u["unit_code"], u["open"]) for u in overview["complaints"]] == [("341503", 1)]
    for user, counted in (("qu_minzheng", False), ("qu_jiandu", True)):
        district = await _page(web, user, "/frontdoor/district")
        assert district.status_code == 200 and ("没有未办结的投诉" not in district.text) is counted, user
    # The supervisor sees it exists, not who complained.
    r = await _get(web, "qu_jiandu", f"/api/complaints/{complaint_no}")
    assert r.status_code == 200 and r.json()["complaint"]["complainant"] == "钱**"


@pytest.mark.parametrize(
    "about",
    ["李娟", "shipo_jingban", "石婆店镇经办人 李娟", "经办人李娟", " 李娟（经办人） ", "李", "王强", "", None, "娟"],
)
async def test_the_lists_sql_applies_the_rule_of_the_workflow(pool: asyncpg.Pool, about: str | None) -> None:
    """Whatever the complainant wrote, the SQL of the lists leaves a complaint out exactly when the rule says it
    is about the reader: by name, or as a handler of its case (an actor, or an investigator a visit names)."""
    await insert_case(pool, CASE)
    await pool.execute(
        "insert into case_events (case_id, event_key, kind, actor, payload, occurred_at) "
        "values ($1, 'home_visit-1', 'home_visit', 'qu_minzheng', $2, now())",
        CASE,
        {"investigators": ["shipo_diaocha"], "assistants": ["shipo_cun1"]},
    )
    for no, case_id in (("TS-SQL-1", None), ("TS-SQL-2", CASE)):
        await pool.execute(
            "insert into complaints (complaint_no, workflow_id, complainant, phone, township_code, about_case_id, "
            "about_person, content, unit_code, created_at) values ($1, 'complaint-' || $1, '甲', '13800001111', $2, "
            "$3, $4, '内容四个字', $2, now())",
            no,
            SHIPO,
            case_id,
            about,
        )
    readers = [
        ("shipo_jingban", "石婆店镇经办人 李娟"),
        ("shipo_diaocha", "石婆店镇经办人 王强"),
        ("qu_minzheng", "区民政局 陈立"),
        ("shipo_cun1", "石婆店镇示范村一 村干部 刘芳"),
        ("shipo_shenpi", "石婆店镇审批人 张华"),
    ]
    for username, full_name in readers:
        reader = Reader(username, full_name)
        listed_rows = await frontdoor_repo.complaints(pool, frontdoor_repo.ComplaintFilter(reader=reader))
        listed = {r.complaint_no for r in listed_rows}
        for row in await frontdoor_repo.complaints(pool, frontdoor_repo.ComplaintFilter()):
            hidden = complaint_about(row.about_person, row.case_handlers, username, full_name)
            assert (row.complaint_no not in listed) is hidden, (username, about, row.complaint_no)
        hidden_nos = await frontdoor_repo.complaints_about_reader(
            pool, ["TS-SQL-1", "TS-SQL-2"], Reader(username, full_name)
        )
        assert hidden_nos == {"TS-SQL-1", "TS-SQL-2"} - listed


def test_the_handlers_of_its_case_may_not_handle_a_complaint() -> None:
    """The rule the workflow's validator applies (rules.frontdoor_actions) takes the case's handlers too, where the
    web app knows them; the complainant is shown to the handlers only (`handles_complaint`)."""
    view = ComplaintView("registered", SHIPO, "李娟", frozenset({"shipo_diaocha"}))
    wang = ActorView("shipo_diaocha", "township_caseworker", SHIPO, "石婆店镇经办人 王强")
    zhang = ActorView("shipo_shenpi", "township_approver", SHIPO, "石婆店镇审批人 张华")
    refused = complaint_refusal(ComplaintAction.ACCEPT, view, wang)
    assert refused is not None and refused.code == "recused"
    assert complaint_refusal(ComplaintAction.ACCEPT, view, zhang) is None
    assert (handles_complaint(view, wang), handles_complaint(view, zhang)) == (False, True)
    supervisor = ActorView("qu_jiandu", "district_supervisor", "341503", "区监督员 周敏")
    assert not handles_complaint(view, supervisor)
