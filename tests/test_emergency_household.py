"""Emergency aid per household, not per applicant (audit "money", finding 5): an event keeps its household's other
members; a registration one of whose people (applicant or member) belongs to another open event is refused with
the one-open-event code, and the prior aid an approver sees covers every event of any person of the household."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import asyncpg
import httpx
import pytest

from tests.support.clients import login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.emergency import TOWNSHIP, VILLAGE, close_paid, fund, pay, start_emergency, state
from tests.support.factories import resident_id

pytestmark = pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday
HUSBAND = resident_id(date(1970, 3, 1), seq=611)
WIFE = resident_id(date(1972, 8, 9), seq=622)
SON = resident_id(date(2000, 1, 5), seq=631)
STRANGER = resident_id(date(1968, 5, 5), seq=641)


def registration(event_id: str, name: str, id_number: str, *members: str) -> dict:
    household = {
        "name": name,
        "id_number": id_number,
        "township_code": TOWNSHIP,
        "village_code": VILLAGE,
        "address": "示范村一 钱家湾 9 号",
        "members": 1 + len(members),
        "member_id_numbers": list(members),
    }
    return {"event_id": event_id, "kind": "fire", "description": "房屋失火，家中财物烧毁", "household": household}


@pytest.mark.web(temporal="review_env")
async def test_a_spouse_cannot_open_a_second_event_for_the_household(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    cadre = await login(web, "shipo_cun1")
    r = await web.post("/api/emergencies", headers=cadre, json=registration("HH-ONE", "钱大", HUSBAND, WIFE, SON))
    assert r.status_code == 201, r.text
    assert await pool.fetch("select event_id, id_number from emergency_members order by id_number") == [
        ("HH-ONE", n) for n in sorted([WIFE, SON])
    ]
    pay_village = {"tier": "village", "amount": "1000"}
    r = await web.post("/api/emergencies/HH-ONE/actions/approve", headers=cadre, json=pay_village)
    assert (r.status_code, r.json()["total"]) == (200, "1000.00")

    # The wife as applicant, alone or with her husband, or as a member of another's registration: all refused.
    def refusal(name: str) -> str:
        return (
            f"{name}或其家庭成员属于钱大户，钱大在石婆店镇示范村一有未办结的急难型临时救助事件（2026-11-24 登记），"
            "请在该事件中继续救助，办结后方可再次登记"
        )

    for body, name in (
        (registration("HH-TWO", "钱二", WIFE), "钱二"),
        (registration("HH-TWO", "钱二", WIFE, HUSBAND), "钱二"),
        (registration("HH-TWO", "孙三", STRANGER, WIFE), "孙三"),
    ):
        r = await web.post("/api/emergencies", headers=cadre, json=body)
        assert (r.status_code, r.json()["code"], r.json()["message"]) == (409, "open_event_exists", refusal(name))
    assert await pool.fetchval("select count(*) from emergencies") == 1
    assert await pool.fetchval("select sum(amount_fen) from aid_payments") == 100000
    # Looking the wife up finds the event she is a member of; the stranger, none yet.
    officer = await login(web, "qu_minzheng")
    for person, events in ((WIFE, ["HH-ONE"]), (STRANGER, [])):
        view = (await web.post("/api/households/lookup", json={"id_number": person}, headers=officer)).json()
        assert [e["event_id"] for e in view["emergencies"]] == events

    # Someone of another household registers as before, with no prior aid.
    r = await web.post("/api/emergencies", headers=cadre, json=registration("HH-OTHER", "孙三", STRANGER))
    assert r.status_code == 201, r.text
    detail = (await web.get("/api/emergencies/HH-OTHER", headers=cadre)).json()
    prior = detail["state"]["prior"]
    assert (prior["total"], prior["events"], detail["state"]["repeat_pending"]) == ("0.00", [], False)
    r = await web.post("/api/emergencies/HH-OTHER/actions/approve", headers=cadre, json=pay_village)
    assert (r.status_code, r.json()["total"]) == (200, "1000.00")

    # The fund's ledger names whom it paid to those who read the events; the administrator, who books income,
    # sees the names masked.
    for user, names in (("qu_minzheng", ["孙三", "钱大"]), ("admin", ["孙*", "钱*"])):  # the latest first
        ledger = (await web.get(f"/api/funds/{VILLAGE}", headers=await login(web, user))).json()
        assert [e["beneficiary"] for e in ledger["entries"] if e["kind"] == "payment"] == names, user


async def test_the_household_guard_holds_in_the_workflow_and_prior_aid_covers_members(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    first = await start_emergency(review_env, "HW-1", id_number=HUSBAND, member_id_numbers=(WIFE,))
    await pay(first, "shipo_cun1", "village", "800")

    # Started directly (no web check): the registration activity finds the open event of the wife's household.
    again = await start_emergency(review_env, "HW-2", id_number=WIFE)
    dup = await state(again)
    assert (dup.duplicate_of, dup.status, dup.log, dup.total) == ("HW-1", "closed", [], Decimal("0"))
    # A household naming the husband as a member is held back too.
    third = await start_emergency(review_env, "HW-3", id_number=SON, member_id_numbers=(HUSBAND,))
    assert (await state(third)).duplicate_of == "HW-1"
    assert [r["event_id"] for r in await pool.fetch("select event_id from emergencies")] == ["HW-1"]

    await close_paid(first)
    # The wife's own event now: the approver sees the 800 her husband's event received.
    later = await start_emergency(review_env, "HW-4", id_number=WIFE)
    s = await state(later)
    assert s.prior is not None
    assert (s.prior.since, s.prior.village, s.prior.township, s.prior.district, s.prior.total) == (
        date(2025, 11, 24),
        Decimal("800.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("800.00"),
    )
    assert [(e.event_id, e.status, e.total) for e in s.prior.events] == [("HW-1", "closed", Decimal("800.00"))]
    assert s.repeat_pending is True
    await later.terminate("test over")

    # Someone unrelated: no prior aid, no repeat to approve, paid at once.
    other = await start_emergency(review_env, "HW-5", id_number=STRANGER)
    s = await state(other)
    assert s.prior is not None
    assert (s.prior.total, s.prior.events, s.repeat_pending, s.duplicate_of) == (Decimal("0.00"), [], False, None)
    assert (await pay(other, "shipo_cun1", "village", "1000")).total == Decimal("1000.00")
    await other.terminate("test over")
