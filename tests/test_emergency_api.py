"""Emergency aid through the HTTP API, with a real worker on the time-skipping server."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support.clients import login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.emergency import TOWNSHIP, VILLAGE
from tests.support.factories import resident_id


def household() -> dict:
    return {
        "name": "孙七",
        "id_number": resident_id(date(1980, 2, 2)),
        "township_code": TOWNSHIP,
        "village_code": VILLAGE,
        "address": "示范村一 孙家岗 7 号",
        "members": 3,
    }


async def as_user(c: httpx.AsyncClient, username: str) -> dict[str, str]:
    return await login(c, username)


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday
@pytest.mark.web(temporal="review_env")
async def test_village_pays_township_adds_district_sees_totals(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    person = household()
    cadre = await as_user(web, "shipo_cun1")
    r = await web.post(
        f"/api/funds/{VILLAGE}/income",
        headers=cadre,
        json={"amount": "3000.00", "source": "donation", "donor": "裕安爱心协会"},
    )
    assert r.status_code == 201 and r.json()["balance"] == "3000.00"
    r = await web.post(f"/api/funds/{VILLAGE}/income", headers=cadre, json={"amount": "100", "source": "donation"})
    assert r.status_code == 422 and "捐赠人" in r.json()["message"]
    approver = await as_user(web, "shipo_shenpi")
    r = await web.post(
        f"/api/funds/{TOWNSHIP}/income",
        headers=approver,
        json={"amount": "5000", "source": "government", "note": "2026年乡镇临时救助预算"},
    )
    assert (r.status_code, r.json()["balance"]) == (201, "5000.00")

    r = await web.post(
        "/api/emergencies",
        headers=cadre,
        json={"event_id": "API-FIRE", "kind": "fire", "description": "房屋失火", "household": person},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["event"]["event_id"], r.json()["event"]["status"], r.json()["event"]["tier"]) == (
        "API-FIRE",
        "open",
        "village",
    )
    again = await web.post(
        "/api/emergencies",
        headers=cadre,
        json={"event_id": "API-FIRE", "kind": "fire", "description": "房屋失火", "household": person},
    )
    assert (again.status_code, again.json()["event"]["event_id"]) == (200, "API-FIRE")  # the same event
    act = "/api/emergencies/API-FIRE/actions/"
    r = await web.post(act + "approve", headers=cadre, json={"tier": "village", "amount": "800"})
    assert r.status_code == 200 and r.json()["total"] == "800.00"
    r = await web.post(act + "approve", headers=cadre, json={"tier": "village", "amount": "200.01"})
    assert r.status_code == 409 and r.json()["code"] == "cap_exceeded" and "乡镇" in r.json()["message"]
    r = await web.post(act + "approve", headers=cadre, json={"tier": "village", "amount": "200"})
    assert (r.status_code, r.json()["total"]) == (200, "1000.00")
    r = await web.post(act + "escalate", headers=cadre, json={"reason": "治疗费用较大"})
    assert r.status_code == 200 and r.json()["tier"] == "township"
    r = await web.post(act + "approve", headers=approver, json={"tier": "township", "amount": "2000"})
    assert r.status_code == 200 and r.json()["total"] == "3000.00"

    supervisor = await as_user(web, "qu_jiandu")
    r = await web.post(act + "approve", headers=supervisor, json={"tier": "district", "amount": "100"})
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")
    r = await web.get("/api/emergencies", headers=supervisor)
    body = r.json()
    assert body["total"] == 1
    assert body["by_township_and_tier"] == [
        {
            "township_code": TOWNSHIP,
            "township_name": "石婆店镇",
            "tier": "township",
            "events": 1,
            "total": "3000.00",
        }
    ]
    detail = (await web.get("/api/emergencies/API-FIRE", headers=supervisor)).json()
    assert [p["amount"] for p in detail["payments"]] == ["800.00", "200.00", "2000.00"]
    # papers within 5 working days of the first payment on Tuesday 11-24: 25, 26, 27, 30 November, 1 December
    assert detail["state"]["documentation_due"] == "2026-12-01"
    id_number = person["id_number"]
    assert detail["event"]["applicant_id_masked"] == f"{id_number[:6]}********{id_number[-4:]}"

    ledger = (await web.get(f"/api/funds/{VILLAGE}", headers=cadre)).json()
    assert Decimal(ledger["balance"]) == Decimal("2000.00")
    assert [e["kind"] for e in ledger["entries"]] == ["payment", "payment", "income"]
    assert Decimal(ledger["entries"][0]["balance_after"]) == Decimal("2000.00")

    other = await as_user(web, "shunhe_jingban")
    for path in ("/api/emergencies/API-FIRE", f"/api/funds/{VILLAGE}"):
        r = await web.get(path, headers=other)
        assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction"), path
    assert (await web.get("/api/emergencies", headers=other)).json()["total"] == 0


@pytest.mark.web(temporal="review_env")
async def test_household_view_finds_an_emergency_registered_directly(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    person = household()
    cadre = await as_user(web, "shipo_cun1")
    r = await web.post(
        "/api/emergencies",
        headers=cadre,
        json={"event_id": "HH-1", "kind": "accident", "description": "车祸受伤", "household": person},
    )
    assert r.status_code == 201, r.text
    officer = await as_user(web, "qu_minzheng")
    view = (await web.post("/api/households/lookup", json={"id_number": person["id_number"]}, headers=officer)).json()
    assert [e["event_id"] for e in view["emergencies"]] == ["HH-1"]


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_a_village_fund_short_escalates_and_the_event_closes(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """Issue 15, point 3: a payment refused for funds leaves no trace; the village escalates for want of funds
    before paying its full 1000, the township pays its own tier within its caps, and the event closes."""
    from tests.support.emergency import fund

    cadre, approver = await as_user(web, "shipo_cun1"), await as_user(web, "shipo_shenpi")
    await fund(pool, VILLAGE, "700.00")
    await fund(pool, TOWNSHIP, "5000.00")
    body = {"event_id": "API-SHORT", "kind": "illness", "description": "突发重病住院", "household": household()}
    assert (await web.post("/api/emergencies", headers=cadre, json=body)).status_code == 201
    act = "/api/emergencies/API-SHORT/actions/"
    short = {"reason": "互助社资金不足", "grounds": "fund_insufficient"}
    r = await web.post(act + "approve", headers=cadre, json={"tier": "village", "amount": "500.00"})
    assert (r.status_code, r.json()["total"], r.json()["payment_key"]) == (200, "500.00", "API-SHORT-pay-001")
    r = await web.post(act + "escalate", headers=cadre, json={"reason": "治疗费用较大"})
    assert (r.status_code, r.json()["code"]) == (409, "cannot_escalate") and "1000" in r.json()["message"]
    r = await web.post(act + "escalate", headers=cadre, json=short)
    assert (r.status_code, r.json()["code"]) == (409, "cannot_escalate") and "资金尚未出现不足" in r.json()["message"]

    # 200.00 left in the village society: 300.00 (within its cap) is refused, and nothing of it stays behind
    r = await web.post(act + "approve", headers=cadre, json={"tier": "village", "amount": "300.00"})
    assert (r.status_code, r.json()["code"]) == (409, "fund_insufficient")
    state = (await web.get("/api/emergencies/API-SHORT", headers=cadre)).json()
    assert (state["event"]["village_total"], state["state"]["total"]) == ("500.00", "500.00")
    assert state["state"]["fund_short"] == ["village"]

    r = await web.post(act + "escalate", headers=cadre, json={"reason": "互助社资金不足", "grounds": "cap_reached"})
    assert (r.status_code, r.json()["code"]) == (409, "cannot_escalate")
    r = await web.post(act + "escalate", headers=cadre, json=short)
    assert (r.status_code, r.json()["tier"], r.json()["total"]) == (200, "township", "500.00")
    r = await web.post(act + "approve", headers=approver, json={"tier": "township", "amount": "2000.01"})
    assert (r.status_code, r.json()["code"]) == (409, "cap_exceeded")
    r = await web.post(act + "approve", headers=approver, json={"tier": "township", "amount": "2000.00"})
    assert (r.status_code, r.json()["total"]) == (200, "2500.00")
    assert r.json()["payment_key"] == "API-SHORT-pay-002"  # the refused payment's number was given back
    r = await web.post(act + "approve", headers=approver, json={"tier": "township", "amount": "0.01"})
    assert (r.status_code, r.json()["code"]) == (409, "cap_exceeded")  # the township paid its 2000: 2500 of 3000

    r = await web.post(act + "documents", headers=cadre, json={"items": ["救助申请书", "住院证明"]})
    assert r.status_code == 200, r.text
    r = await web.post(act + "close", headers=cadre, json={"summary": "已救助，材料齐全"})
    assert (r.status_code, r.json()["total"]) == (200, "2500.00")
    detail = (await web.get("/api/emergencies/API-SHORT", headers=approver)).json()
    assert detail["event"]["status"] == "closed"
    assert [(p["tier"], p["amount"]) for p in detail["payments"]] == [("village", "500.00"), ("township", "2000.00")]
    escalated = [e for e in detail["state"]["log"] if e["kind"] == "escalated"]
    assert [e["payload"]["grounds"] for e in escalated] == ["fund_insufficient"]
    rows = await pool.fetch(
        "select p.tier, p.amount_fen, e.amount_fen as booked from aid_payments p "
        "join fund_entries e using (payment_key) where p.event_id = 'API-SHORT' order by p.id"
    )
    assert [tuple(r) for r in rows] == [("village", 50000, 50000), ("township", 200000, 200000)]
    assert (await web.get(f"/api/funds/{VILLAGE}", headers=cadre)).json()["balance"] == "200.00"
    assert (await web.get(f"/api/funds/{TOWNSHIP}", headers=approver)).json()["balance"] == "3000.00"


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_an_event_whose_only_payment_was_refused_closes(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    cadre = await as_user(web, "shipo_cun1")
    body = {"event_id": "API-EMPTY", "kind": "fire", "description": "房屋失火", "household": household()}
    assert (await web.post("/api/emergencies", headers=cadre, json=body)).status_code == 201
    act = "/api/emergencies/API-EMPTY/actions/"
    r = await web.post(act + "approve", headers=cadre, json={"tier": "village", "amount": "300.00"})
    assert (r.status_code, r.json()["code"]) == (409, "fund_insufficient")
    r = await web.post(act + "close", headers=cadre, json={"summary": "已由亲属接济，无需救助"})
    assert (r.status_code, r.json()["total"]) == (200, "0.00")  # not payment_in_flight
    assert await pool.fetchval("select count(*) from aid_payments where event_id = 'API-EMPTY'") == 0


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_two_events_racing_for_the_last_money_of_one_fund(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """Issue 15, point 9: two households' approvals sent at the same moment for the last 500.00 of the village
    society: one is paid, the other refused for funds with nothing left behind, then escalated on those grounds
    and paid by the township."""
    import asyncio

    from tests.support.emergency import fund

    cadre, approver = await as_user(web, "shipo_cun1"), await as_user(web, "shipo_shenpi")
    await fund(pool, VILLAGE, "500.00")
    await fund(pool, TOWNSHIP, "5000.00")
    for event, seq in (("RACE-A", 1), ("RACE-B", 2)):
        person = household() | {"id_number": resident_id(date(1980, 2, 2), seq=seq), "name": f"孙{seq}"}
        body = {"event_id": event, "kind": "fire", "description": "房屋失火", "household": person}
        assert (await web.post("/api/emergencies", headers=cadre, json=body)).status_code == 201

    async def approve(event: str) -> httpx.Response:
        return await web.post(
            f"/api/emergencies/{event}/actions/approve",
            headers=cadre | {"Idempotency-Key": f"{event}-approve-1"},
            json={"tier": "village", "amount": "400.00"},
        )

    answers = dict(zip(("RACE-A", "RACE-B"), await asyncio.gather(approve("RACE-A"), approve("RACE-B")), strict=True))
    paid = [e for e, r in answers.items() if r.status_code == 200]
    refused = [e for e, r in answers.items() if r.status_code == 409]
    assert len(paid) == len(refused) == 1, {e: r.text for e, r in answers.items()}
    [winner], [loser] = paid, refused
    assert answers[winner].json()["payment_key"] == f"{winner}-pay-001"
    assert answers[loser].json()["code"] == "fund_insufficient" and "100.00" in answers[loser].json()["message"]
    again = await approve(loser)  # the client retries with its key: the refusal again, nothing paid
    assert (again.status_code, again.json()["code"]) == (409, "fund_insufficient")
    assert (await web.get(f"/api/funds/{VILLAGE}", headers=cadre)).json()["balance"] == "100.00"
    assert await pool.fetchval("select count(*) from aid_payments where event_id = $1", loser) == 0

    act = f"/api/emergencies/{loser}/actions/"
    r = await web.post(
        act + "escalate", headers=cadre, json={"reason": "互助社资金不足", "grounds": "fund_insufficient"}
    )
    assert (r.status_code, r.json()["tier"], r.json()["total"]) == (200, "township", "0.00")
    r = await web.post(act + "approve", headers=approver, json={"tier": "township", "amount": "400.00"})
    assert (r.status_code, r.json()["total"], r.json()["payment_key"]) == (200, "400.00", f"{loser}-pay-001")
    rows = await pool.fetch("select event_id, tier, amount_fen from aid_payments order by event_id")
    assert sorted(tuple(x) for x in rows) == sorted([(winner, "village", 40000), (loser, "township", 40000)])
    assert (await web.get(f"/api/funds/{TOWNSHIP}", headers=approver)).json()["balance"] == "4600.00"


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_a_second_event_for_a_person_with_an_open_event_returns_it(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """Issue 15, point 2: one open event per person (ID number); the village cannot draw its 1000 twice."""
    from tests.support.emergency import fund

    await fund(pool, VILLAGE, "5000.00")
    person = household()
    cadre, caseworker = await as_user(web, "shipo_cun1"), await as_user(web, "shipo_jingban")
    first = {"event_id": "API-ONE", "kind": "fire", "description": "房屋失火", "household": person}
    assert (await web.post("/api/emergencies", headers=cadre, json=first)).status_code == 201
    act = "/api/emergencies/API-ONE/actions/"
    r = await web.post(act + "approve", headers=cadre, json={"tier": "village", "amount": "1000"})
    assert (r.status_code, r.json()["total"]) == (200, "1000.00")

    second = {"event_id": "API-TWO", "kind": "illness", "description": "家人突发重病", "household": person}
    for who in (cadre, caseworker):  # another id, another kind, another registrar: the open event
        r = await web.post("/api/emergencies", headers=who, json=second)
        assert (r.status_code, r.json()["event"]["event_id"], r.json()["event"]["village_total"]) == (
            200,
            "API-ONE",
            "1000.00",
        )
    r = await web.post("/api/emergencies", headers=cadre, json={k: v for k, v in second.items() if k != "event_id"})
    assert (r.status_code, r.json()["event"]["event_id"]) == (200, "API-ONE")
    expense = {"kind": "medical", "expense": "9000", "covered": "6000", "income_12m": "30000"}
    r = await web.post("/api/emergencies", headers=caseworker, json=second | {"path": "expense", "expense": expense})
    assert (r.status_code, r.json()["code"]) == (409, "open_event_exists")
    assert r.json()["message"] == (
        "孙七在石婆店镇示范村一有未办结的急难型临时救助事件（2026-11-24 登记），"
        "请在该事件中继续救助，办结后方可再次登记"
    )
    assert await pool.fetchval("select count(*) from emergencies") == 1
    assert await pool.fetchval("select sum(amount_fen) from aid_payments") == 100000

    r = await web.post(act + "documents", headers=cadre, json={"items": ["火灾证明"]})
    assert r.status_code == 200
    assert (await web.post(act + "close", headers=cadre, json={"summary": "救助到位"})).status_code == 200
    # Closed: two registrations at once open one new event, which shows what the person received this year.
    racing = await asyncio.gather(
        *(web.post("/api/emergencies", headers=cadre, json=second | {"event_id": f"API-R{i}"}) for i in (1, 2))
    )
    assert sorted(r.status_code for r in racing) == [200, 201]
    opened = {r.json()["event"]["event_id"] for r in racing}
    assert len(opened) == 1
    (event_id,) = opened
    detail = (await web.get(f"/api/emergencies/{event_id}", headers=cadre)).json()
    prior = detail["state"]["prior"]
    assert (prior["since"], prior["village"], prior["township"], prior["total"]) == (
        "2025-11-24",
        "1000.00",
        "0.00",
        "1000.00",
    )
    assert [(e["event_id"], e["status"], e["total"]) for e in prior["events"]] == [("API-ONE", "closed", "1000.00")]
    assert detail["state"]["repeat_pending"] is True
    r = await web.post(
        f"/api/emergencies/{event_id}/actions/approve", headers=cadre, json={"tier": "village", "amount": "500"}
    )
    assert (r.status_code, r.json()["code"]) == (409, "repeat_needs_township")
    assert await pool.fetchval("select count(*) from emergencies where status = 'open'") == 1
