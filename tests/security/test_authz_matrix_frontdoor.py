"""Issue 16, point 11, the 12349 front door: the places × roles matrix on real workflows (tests/support/authz.py
says how a route's answers are stated). Requests of a resident of 石婆店镇示范村一 and complaints about 石婆店镇 are
taken down through the API, read, triaged into a referral to the medical bureau, answered, accepted; every caller
of every place is tried on each route, the refusals first. A complaint naming the township's approver does not
exist for them (404)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest

from tests.security.conftest import World
from tests.support.authz import DISTRICT, T1, TOWNSHIP, V1, VILLAGE, Matrix, Route, holders, shown_to
from tests.support.clock import beijing
from tests.support.factories import resident_id
from webapp.authz import who

pytestmark = pytest.mark.start_at(beijing(2026, 12, 4, 9, 0))

DESK = ("shipo_jingban", "shipo_shenpi", "qu_minzheng")  # the township's window and the district's hotline
READERS = (*VILLAGE, *TOWNSHIP, *DISTRICT)
WRONG_ROLE = (403, "wrong_role")
PERSON = resident_id(date(1966, 8, 8), seq=881)


def _request(kind: str):
    def body(user: str) -> dict[str, Any]:
        return {
            "kind": kind,
            "needs": ["medical_costs"] if kind == "help" else [],
            "name": "钱七",
            "id_number": PERSON,
            "phone": "13956405555",
            "township_code": T1,
            "village_code": V1,
            "address": "示范村一 钱家 1 号",
            "description": "看病负担重，需要帮助" if kind == "help" else "低保怎么申请？",
        }

    return body


def _complaint(about: str | None):
    def body(user: str) -> dict[str, Any]:
        return {
            "complainant": "孙八",
            "phone": "13956406666",
            "township_code": T1,
            "content": "村里评议不公，审批人态度恶劣" if about else "村里评议不公",
        } | ({"about_person": about} if about else {})

    return body


def _keep(numbers: dict[str, str], field: str):
    """An effect that keeps the number each allowed caller's call created."""

    async def effect(user: str, r: httpx.Response) -> None:
        numbers[user] = r.json()[field]

    return effect


@pytest.mark.timeout(300)
async def test_front_door_by_place(world: World, matrix: Matrix) -> None:
    w = world
    # Referrals go to the medical bureau's inbox (its webhook in the seed points nowhere).
    await w.pool.execute("update bureau_endpoints set active = false where bureau = 'medical'")
    problems: list[str] = []
    helps: dict[str, str] = {}
    enquiries: dict[str, str] = {}
    complaints: dict[str, str] = {}

    # Taking down: the township's desk and the district's hotline, for the township's residents.
    register = who("request.register")
    for kind, numbers in (("help", helps), ("enquiry", enquiries)):
        problems += await matrix.check(
            Route(
                "POST",
                "/api/frontdoor/requests",
                register,
                ok=DESK,
                status=201,
                json=_request(kind),
                effect=_keep(numbers, "request_no"),
            )
        )
    problems += await matrix.check(
        Route(
            "POST",
            "/api/complaints",
            who("complaint.register"),
            ok=DESK,
            status=201,
            json=_complaint(None),
            effect=_keep(complaints, "complaint_no"),
        )
    )
    # A complaint naming the township's approver (石婆店镇审批人 张华): it does not exist for them.
    route = Route("POST", "/api/complaints", who("complaint.register"), json=_complaint("张华"))
    r = await matrix.call("shipo_jingban", route)
    assert r.status_code == 201, r.text
    about_no = r.json()["complaint_no"]
    assert not problems, "\n".join(problems)
    help_no, complaint_no = helps["shipo_jingban"], complaints["shipo_jingban"]

    # Reading: a request of the village, a complaint about the township (its handling unit).
    read = who("request.read")
    for url in (f"/api/frontdoor/requests/{help_no}", f"/frontdoor/requests/{help_no}"):
        problems += await matrix.check(Route("GET", url, read, ok=READERS, effect=shown_to(READERS, help_no)))
    for url in ("/api/frontdoor/requests", "/frontdoor"):
        problems += await matrix.check(Route("GET", url, read, ok=holders(read), effect=shown_to(READERS, help_no)))
    handlers = ("shipo_jingban", "shipo_shenpi", *DISTRICT)
    complaint_read = who("complaint.read")
    for url in (f"/api/complaints/{complaint_no}", f"/frontdoor/complaints/{complaint_no}"):
        problems += await matrix.check(Route("GET", url, complaint_read, ok=handlers))
    not_about = ("shipo_jingban", *DISTRICT)
    for url in (f"/api/complaints/{about_no}", f"/frontdoor/complaints/{about_no}"):
        problems += await matrix.check(Route("GET", url, complaint_read, ok=not_about, hidden=("shipo_shenpi",)))
    for url in ("/api/complaints", "/frontdoor/complaints"):
        problems += await matrix.check(
            Route("GET", url, complaint_read, ok=holders(complaint_read), effect=shown_to(handlers, complaint_no))
        )
    problems += await matrix.check(
        Route(
            "POST",
            "/api/households/lookup",
            who("household.view"),
            ok=holders(who("household.view")),
            json={"id_number": PERSON},
            effect=shown_to(handlers, help_no),
        )
    )

    # Linking a request to a case of another township: answered as a case that does not exist (point 3).
    for user in TOWNSHIP:
        for case_id in (w.seeds.shunhe_case, "AZ-NO-SUCH-CASE"):
            route = Route("POST", f"/api/frontdoor/requests/{helps[user]}/link-case", read)
            route.json = {"need": "low_income", "case_id": case_id}
            r = await matrix.call(user, route)
            if (r.status_code, r.json()) != (422, {"code": "invalid", "message": f"审核案件不存在：{case_id}"}):
                problems.append(f"link-case {case_id} as {user}: {r.status_code} {r.text}")

    # Acting: each of the desk on a request (complaint) of its own; the workflow refuses the others' roles.
    def own(path: str, numbers: dict[str, str], default: str):
        return lambda user: path.format(numbers.get(user, default))

    not_desk = dict.fromkeys(("shipo_cun1", "qu_jiandu"), WRONG_ROLE)
    problems += await matrix.check(
        Route(
            "POST",
            own("/api/frontdoor/requests/{}/triage", helps, help_no),
            read,
            ok=DESK,
            json={"needs": ["medical_costs"]},
            answers=not_desk,
        )
    )
    problems += await matrix.check(
        Route(
            "POST",
            own("/api/frontdoor/requests/{}/answer", enquiries, enquiries["shipo_jingban"]),
            read,
            ok=DESK,
            json={"text": "您好，请到乡镇民政办申请"},
            answers=not_desk,
        )
    )
    problems += await matrix.check(
        Route(
            "POST",
            own("/api/complaints/{}/accept", complaints, complaint_no),
            complaint_read,
            ok=DESK,
            json={},
            answers={"qu_jiandu": WRONG_ROLE},
        )
    )

    # The referral the caseworker's triage made: the medical bureau's, read by the township and the district.
    referral = None
    for _ in range(300):
        referral = await w.pool.fetchval("select referral_id from referrals where request_no = $1", help_no)
        if referral:
            break
        await asyncio.sleep(0.1)
    assert referral, "no referral"
    referral_read = who("referral.read")
    sees = ("shipo_jingban", "shipo_shenpi", *DISTRICT, "yiliao_bu")
    other_bureau = {"jiaoyu_bu": (403, "wrong_bureau")}
    for url in (f"/api/referrals/{referral}", f"/bureau/referrals/{referral}"):
        problems += await matrix.check(
            Route("GET", url, referral_read, ok=sees, answers={} if url.startswith("/bureau") else other_bureau)
        )
    for url in ("/api/referrals", "/bureau"):
        problems += await matrix.check(
            Route("GET", url, referral_read, ok=holders(referral_read), effect=shown_to(sees, referral))
        )
    problems += await matrix.check(
        Route(
            "POST",
            f"/api/referrals/{referral}/accept",
            referral_read,
            ok=("yiliao_bu",),
            json={},
            answers=other_bureau | dict.fromkeys(("shipo_jingban", "shipo_shenpi", *DISTRICT), WRONG_ROLE),
        )
    )
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)
    assert matrix.tried == 352  # every caller on every route above: none left out

    # What the allowed actions did, read back from the rows.
    statuses = dict(
        await w.pool.fetch(
            "select request_no, status from frontdoor_requests where request_no = any($1::text[])",
            [*helps.values(), *enquiries.values()],
        )
    )
    assert {statuses[n] for n in enquiries.values()} == {"closed"}, statuses
    assert {statuses[n] for n in helps.values()} == {"triaged"}, statuses
    accepted = await w.pool.fetch(
        "select status from complaints where complaint_no = any($1::text[])", list(complaints.values())
    )
    assert [r["status"] for r in accepted] == ["accepted"] * 3
    assert await w.pool.fetchval("select status from referrals where referral_id = $1", referral) == "accepted"
