"""The 12349 front door end to end over HTTP, on a real worker, Temporal's time-skipping server and
embedded PostgreSQL: one request split into a dibao case and two referrals, each bureau answering in
its inbox, the request closing; and the one household view showing all of it."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest

from schemas.staff import Bureau
from tests.support.clients import csrf_token, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import application
from tests.support.frontdoor import PERSON, add_bureau_user, apply_online, referrals_of, resident
from tests.support.workflows import eventually


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday
@pytest.mark.web(temporal="review_env")
async def test_one_request_becomes_a_dibao_case_and_two_referrals_and_closes(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await add_bureau_user(pool, "jiaoyu_bu", Bureau.EDUCATION)
    number, receipt = await apply_online(web, ["low_income", "medical_costs", "school_costs"])
    assert number.startswith("12349-20261124-")
    row = await pool.fetchrow("select * from frontdoor_requests where request_no = $1", number)
    # answered within 5 working days of Tuesday 11-24: 25, 26, 27, 30 November and 1 December
    assert (row["channel"], row["status"], row["answer_due"]) == ("portal", "received", date(2026, 12, 1))
    assert "我们将在 5 个工作日内（2026-12-01 前）答复您。" in receipt

    caseworker = await login(web, "shipo_jingban")
    waiting = (await web.get("/api/frontdoor/requests?waiting=triage", headers=caseworker)).json()
    assert [i["request_no"] for i in waiting["items"]] == [number]
    other = await login(web, "shunhe_jingban")
    r = await web.get(f"/api/frontdoor/requests/{number}", headers=other)
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    medical = await login(web, "yiliao_bu")
    r = await web.post(f"/api/frontdoor/requests/{number}/triage", headers=medical, json={"needs": ["medical_costs"]})
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")

    r = await web.post(
        f"/api/frontdoor/requests/{number}/triage",
        headers=caseworker,
        json={"needs": ["low_income", "medical_costs", "school_costs"], "note": "核实家庭情况后分办"},
    )
    assert r.status_code == 200, r.text
    routes = {n["code"]: (n["route"], n["status"]) for n in r.json()["needs"]}
    assert routes == {
        "low_income": ("review", "in_progress"),
        "medical_costs": ("referral", "in_progress"),
        "school_costs": ("referral", "in_progress"),
    }
    again = await web.post(f"/api/frontdoor/requests/{number}/triage", headers=caseworker, json={"needs": ["jobless"]})
    assert again.status_code == 409 and again.json()["code"] == "wrong_stage"

    ids = await eventually(lambda: _both(pool, number), "both referrals delivered")
    # each bureau sees its own referral only
    inbox = (await web.get("/api/referrals", headers=medical)).json()["items"]
    assert [i["referral_id"] for i in inbox] == [ids["medical_costs"]]
    # accepted within 3 working days (11-27), answered within 15 (12-15)
    assert (inbox[0]["bureau"], inbox[0]["accept_due"], inbox[0]["result_due"], inbox[0]["accept_overdue"]) == (
        "medical",
        "2026-11-27",
        "2026-12-15",
        False,
    )
    education = await login(web, "jiaoyu_bu")
    assert [i["referral_id"] for i in (await web.get("/api/referrals", headers=education)).json()["items"]] == [
        ids["school_costs"]
    ]
    r = await web.get(f"/api/referrals/{ids['school_costs']}", headers=medical)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_bureau")
    r = await web.post(f"/api/referrals/{ids['school_costs']}/accept", headers=medical, json={})
    assert (r.status_code, r.json()["code"]) == (403, "wrong_bureau")

    # the medical insurance bureau accepts and reports what it gave
    act = f"/api/referrals/{ids['medical_costs']}/"
    r = await web.post(act + "result", headers=medical, json={"outcome": "helped", "help_given": "先签收"})
    assert r.status_code == 409 and r.json()["code"] == "wrong_stage"
    assert (await web.post(act + "accept", headers=medical, json={"note": "已联系患者"})).json()["status"] == "accepted"
    r = await web.post(
        act + "result",
        headers=medical,
        json={"outcome": "helped", "help_given": "住院费用医疗救助一次性报销", "amount": "3200.00"},
    )
    assert r.status_code == 200 and r.json()["status"] == "answered"

    # education asks for more information, the township supplies it, then education answers
    act = f"/api/referrals/{ids['school_costs']}/"
    await web.post(act + "accept", headers=education, json={})
    r = await web.post(act + "request-info", headers=education, json={"question": "请提供学生在读证明"})
    assert r.json()["status"] == "info_requested"
    r = await web.post(act + "supply-info", headers=education, json={"info": "已补充"})
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    r = await web.post(act + "supply-info", headers=caseworker, json={"info": "在读证明已上传，裕安区第二中学高二"})
    assert (r.status_code, r.json()["status"]) == (200, "accepted")
    r = await web.post(
        act + "result",
        headers=education,
        json={"outcome": "helped", "help_given": "纳入高中国家助学金，每学期1000元"},
    )
    assert (r.status_code, r.json()["status"]) == (200, "answered")

    detail = (await web.get(f"/api/frontdoor/requests/{number}", headers=caseworker)).json()
    assert detail["request"]["status"] == "triaged"  # the dibao need still waits for its case
    assert detail["id_number"] == PERSON
    assert {r["status"] for r in detail["referrals"]} == {"answered"}

    # the township accepts a dibao case for the family and links it
    app = application("FD-DIBAO-1")
    app.household.members[0].id_number = PERSON
    app.household.members[0].name = "周大勇"
    r = await web.post("/api/cases", headers=caseworker, json=app.model_dump(mode="json"))
    assert r.status_code == 202, r.text
    await eventually(lambda: pool.fetchval("select 1 from cases where case_id = 'FD-DIBAO-1'"), "case row")
    wrong = await web.post(
        f"/api/frontdoor/requests/{number}/link-case",
        headers=caseworker,
        json={"need": "medical_costs", "case_id": "FD-DIBAO-1"},
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid")
    r = await web.post(
        f"/api/frontdoor/requests/{number}/link-case",
        headers=caseworker,
        json={"need": "low_income", "case_id": "FD-DIBAO-1"},
    )
    assert r.status_code == 200, r.text

    closed = await eventually(
        lambda: pool.fetchrow("select * from frontdoor_requests where request_no = $1 and status = 'closed'", number),
        "request closed",
    )
    assert "FD-DIBAO-1" in closed["answer"] and "3200" in closed["answer"] and "助学金" in closed["answer"]
    texts = await eventually(
        lambda: pool.fetch(
            "select body from notifications where audience = $1 and body like '%助学金%'",
            f"phone:{resident()['phone']}",
        ),
        "the resident told the answers",
    )
    assert [t["body"] for t in texts] == [closed["answer"]]

    # the resident sees the answers of that one request
    form = await web.get("/portal/status")
    r = await web.post(
        "/portal/status",
        data={
            "request_no": number.lower(),
            "id_number": PERSON,
            "phone": resident()["phone"],
            "csrftoken": csrf_token(form.text),
        },
    )
    assert r.status_code == 200 and "住院费用医疗救助" in r.text and "区教体局" in r.text

    # filed online in PERSON's name: the desk confirms it is theirs before the household view lists it
    r = await web.post(
        f"/api/frontdoor/requests/{number}/verify-identity", json={"note": "已电话回访本人确认"}, headers=caseworker
    )
    assert r.status_code == 200 and r.json()["identity_verified_by"] == "shipo_jingban"
    # one household view: the case with its members, the request, both referrals
    view = (await web.post("/api/households/lookup", json={"id_number": PERSON}, headers=caseworker)).json()
    assert [x["case_id"] for x in view["cases"]] == ["FD-DIBAO-1"]
    assert len(view["cases"][0]["members"]) == 3 and view["cases"][0]["relation"] == "self"
    assert [x["request_no"] for x in view["requests"]] == [number]
    assert {x["bureau"] for x in view["referrals"]} == {"medical", "education"}
    assert view["id_number"] == PERSON and view["elsewhere"] == 0
    r = await web.post("/api/households/lookup", json={"id_number": PERSON}, headers=medical)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    elsewhere = (await web.post("/api/households/lookup", json={"id_number": PERSON}, headers=other)).json()
    assert elsewhere["cases"] == [] and elsewhere["referrals"] == [] and elsewhere["elsewhere"] == 4
    supervisor = await login(web, "qu_jiandu")
    masked = (await web.post("/api/households/lookup", json={"id_number": PERSON}, headers=supervisor)).json()
    assert masked["id_number"] is None and masked["id_masked"].count("*") == 8


async def _both(pool: asyncpg.Pool, number: str) -> dict[str, str] | None:
    found = await referrals_of(pool, number)
    return found if len(found) == 2 else None
