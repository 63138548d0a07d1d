"""Issue 15, point 1: a staff action sent twice with one `Idempotency-Key` (a double click, a client retry, a
browser resubmit) is done once, through the HTTP API and the pages, on a real worker and Temporal's
time-skipping server; the money is checked in the tables."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.support.clients import csrf_token, log_in, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.emergency import TOWNSHIP, VILLAGE, fund
from tests.support.factories import application, resident_id
from tests.test_review_api_rules import Api
from webapp.idempotency import fingerprint

ACT = "/api/emergencies/{}/actions/"


def person(year: int = 1980) -> dict:
    return {
        "name": "孙七",
        "id_number": resident_id(date(year, 2, 2)),
        "township_code": TOWNSHIP,
        "village_code": VILLAGE,
        "address": "示范村一 孙家岗 7 号",
        "members": 3,
    }


async def register(web: httpx.AsyncClient, headers: dict[str, str], event_id: str, year: int = 1980) -> None:
    body = {"event_id": event_id, "kind": "fire", "description": "房屋失火", "household": person(year)}
    r = await web.post("/api/emergencies", headers=headers, json=body)
    assert r.status_code == 201, r.text


async def funded_event(web: httpx.AsyncClient, pool: asyncpg.Pool, event_id: str) -> tuple[dict[str, str], str]:
    """An event registered by the village cadre, whose society has 1000.00: the cadre's headers, the approve URL."""
    cadre = await login(web, "shipo_cun1", session=False)
    await fund(pool, VILLAGE, "1000.00")
    await register(web, cadre, event_id)
    return cadre, ACT.format(event_id) + "approve"


async def money(pool: asyncpg.Pool, event_id: str) -> tuple[list[int], list[int]]:
    """The event's payments and their ledger entries, in fen."""
    payments = await pool.fetch("select amount_fen from aid_payments where event_id = $1 order by id", event_id)
    entries = await pool.fetch(
        "select e.amount_fen from fund_entries e join aid_payments p using (payment_key) "
        "where p.event_id = $1 and e.kind = 'payment' order by e.id",
        event_id,
    )
    return [r["amount_fen"] for r in payments], [r["amount_fen"] for r in entries]


async def balance(web: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return (await web.get(f"/api/funds/{VILLAGE}", headers=headers)).json()["balance"]


def test_the_fingerprint_reads_json_as_data_and_forms_without_their_tokens() -> None:
    a = fingerprint("POST", "", "application/json", b'{"tier": "village", "amount": "300.00"}')
    assert a == fingerprint("POST", "", "application/json", b'{"amount":"300.00","tier":"village"}')
    assert a != fingerprint("POST", "", "application/json", b'{"amount":"200.00","tier":"village"}')
    assert a != fingerprint("POST", "wait=1", "application/json", b'{"amount":"300.00","tier":"village"}')
    form = "application/x-www-form-urlencoded"
    assert fingerprint("POST", "", form, b"amount=300&csrftoken=a&idempotency_key=k") == fingerprint(
        "POST", "", form, b"csrftoken=b&amount=300"
    )


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_one_approval_sent_twice_pays_once(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    cadre, approve = await funded_event(web, pool, "IDEM-SEQ")
    once = cadre | {"Idempotency-Key": "approve-IDEM-SEQ-1"}
    first = await web.post(approve, headers=once, json={"tier": "village", "amount": "300.00"})
    second = await web.post(approve, headers=once, json={"amount": "300.00", "tier": "village"})
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert first.json() == second.json() and first.json()["total"] == "300.00"
    assert second.headers["idempotent-replayed"] == "true"
    assert await money(pool, "IDEM-SEQ") == ([30000], [30000])
    assert await balance(web, cadre) == "700.00"

    # the same key with another amount: refused, nothing paid
    r = await web.post(approve, headers=once, json={"tier": "village", "amount": "200.00"})
    assert (r.status_code, r.json()["code"]) == (422, "idempotency_key_reused")
    assert "幂等键" in r.json()["message"]
    # the same key from another user, or on another route, is another request
    r = await web.post(
        ACT.format("IDEM-SEQ") + "documents", headers=once, json={"items": ["救助申请书"], "note": "已补齐"}
    )
    assert r.status_code == 200, r.text
    assert await money(pool, "IDEM-SEQ") == ([30000], [30000])
    assert await pool.fetchval("select count(*) from idempotency_keys where key = 'approve-IDEM-SEQ-1'") == 2


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_one_approval_sent_twice_at_once_pays_once(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    cadre, approve = await funded_event(web, pool, "IDEM-RACE")
    once = cadre | {"Idempotency-Key": "f0c1d7e2-race"}
    body = {"tier": "village", "amount": "300.00"}
    first, second = await asyncio.gather(
        web.post(approve, headers=once, json=body), web.post(approve, headers=once, json=body)
    )
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert first.json() == second.json() and first.json()["total"] == "300.00"
    assert await money(pool, "IDEM-RACE") == ([30000], [30000])
    assert await balance(web, cadre) == "700.00"
    # a different key is a new approval: 300.00 more
    r = await web.post(approve, headers=cadre | {"Idempotency-Key": "f0c1d7e2-next"}, json=body)
    assert (r.status_code, r.json()["total"]) == (200, "600.00")
    assert await money(pool, "IDEM-RACE") == ([30000, 30000], [30000, 30000])


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_fund_income_and_registration_sent_twice_are_done_once(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    cadre = await login(web, "shipo_cun1", session=False)
    once = cadre | {"Idempotency-Key": "income-1"}
    income = {"amount": "500.00", "source": "donation", "donor": "裕安爱心协会"}
    answers = [await web.post(f"/api/funds/{VILLAGE}/income", headers=once, json=income) for _ in range(2)]
    assert [r.status_code for r in answers] == [201, 201]
    assert answers[0].json() == answers[1].json() and answers[1].json()["balance"] == "500.00"
    assert await balance(web, cadre) == "500.00"

    # no event id: each registration draws a new one, so only the key makes the second the same event
    body = {"kind": "fire", "description": "房屋失火", "household": person()}
    key = cadre | {"Idempotency-Key": "register-1"}
    answers = [await web.post("/api/emergencies", headers=key, json=body) for _ in range(2)]
    assert [r.status_code for r in answers] == [201, 201]
    assert answers[0].json()["event"]["event_id"] == answers[1].json()["event"]["event_id"]
    assert await pool.fetchval("select count(*) from emergencies") == 1


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_the_approval_form_submitted_twice_pays_once(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "1000.00")
    await register(web, await login(web, "shipo_cun1", session=False), "IDEM-FORM")
    assert (await log_in(web, "shipo_cun1")).status_code == 303
    page = (await web.get("/emergencies/IDEM-FORM")).text
    form = re.search(r'action="/emergencies/IDEM-FORM/approve">(.*?)</form>', page, re.S).group(1)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', form).group(1)
    keys = re.findall(r'name="idempotency_key" value="([0-9a-f]{32})"', page)
    assert len(keys) == len(set(keys)) >= 2  # one key per form
    data = {"csrftoken": csrf_token(page), "idempotency_key": key, "tier": "village", "amount": "300.00", "note": ""}
    first = await web.post("/emergencies/IDEM-FORM/approve", data=data)
    second = await web.post("/emergencies/IDEM-FORM/approve", data=data)
    assert [first.status_code, second.status_code] == [303, 303]
    assert first.headers["location"] == second.headers["location"] == "/emergencies/IDEM-FORM?done=approve"
    assert await money(pool, "IDEM-FORM") == ([30000], [30000])
    # the page shows a fresh key: the next approval is a new one
    page = (await web.get("/emergencies/IDEM-FORM")).text
    assert key not in page
    # the same form sent back with another amount: refused as a page
    r = await web.post("/emergencies/IDEM-FORM/approve", data=data | {"amount": "200.00"})
    assert r.status_code == 422 and "该表单已提交过" in r.text
    assert await money(pool, "IDEM-FORM") == ([30000], [30000])


@pytest.fixture
async def api(web: httpx.AsyncClient) -> Api:
    users = ["shipo_jingban", "shipo_diaocha", "shipo_shenpi", "qu_minzheng"]
    return Api(web, {u: await login(web, u, session=False) for u in users})


@pytest.mark.start_at(beijing(2026, 12, 4, 10, 0))
@pytest.mark.web(temporal="review_env")
async def test_a_decision_sent_twice_with_one_key_answers_the_first(
    api: Api, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await api.accept(application("IDEM-CASE-1"))
    await api.to_decision("IDEM-CASE-1")
    url = "/api/cases/IDEM-CASE-1/actions/decision"
    headers = api.headers["shipo_shenpi"] | {"Idempotency-Key": "decide-IDEM-CASE-1"}
    body = {"approve": True, "category": "B"}
    first = await api.web.post(url, json=body, headers=headers)
    second = await api.web.post(url, json=body, headers=headers)
    assert (first.status_code, second.status_code) == (200, 200), second.text  # not 409 already_decided
    assert first.json() == second.json()
    # without the key, the repeat is a second decision, refused by the workflow
    third = await api.web.post(url, json=body, headers=api.headers["shipo_shenpi"])
    assert (third.status_code, third.json()["code"]) == (409, "already_decided")
    events = (await api.web.get("/api/cases/IDEM-CASE-1", headers=api.headers["shipo_jingban"])).json()["events"]
    assert [e["kind"] for e in events].count("decision") == 1


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_a_lost_answer_retried_is_the_same_update(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """The web process died after the payment and before it kept the answer (its claim is gone, as after a
    5xx): the retry reaches the workflow again, under the same update id, and Temporal answers it with the
    first payment."""
    cadre, approve = await funded_event(web, pool, "IDEM-LOST")
    once = cadre | {"Idempotency-Key": "lost-1"}
    first = await web.post(approve, headers=once, json={"tier": "village", "amount": "300.00"})
    assert first.status_code == 200
    await pool.execute("delete from idempotency_keys where key = 'lost-1'")
    retry = await web.post(approve, headers=once, json={"tier": "village", "amount": "300.00"})
    assert (retry.status_code, retry.json()) == (200, first.json())
    assert "idempotent-replayed" not in retry.headers  # it went to the workflow
    assert await money(pool, "IDEM-LOST") == ([30000], [30000])
    assert await balance(web, cadre) == "700.00"


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_a_payment_sent_twice_without_a_key_is_made_once_for_ten_minutes(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """A client that sends no key is kept from paying twice too: a money route keys the request by its content for
    ten minutes. Another amount is another payment; a refusal is not remembered; after ten minutes the same
    payment is a new one."""
    cadre, approve = await funded_event(web, pool, "IDEM-NOKEY")
    first = await web.post(approve, headers=cadre, json={"tier": "village", "amount": "300.00"})
    second = await web.post(approve, headers=cadre, json={"amount": "300.00", "tier": "village"})
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert first.json() == second.json() and first.json()["total"] == "300.00"
    assert second.headers["idempotent-replayed"] == "true"
    assert await money(pool, "IDEM-NOKEY") == ([30000], [30000])

    r = await web.post(approve, headers=cadre, json={"tier": "village", "amount": "200.00"})
    assert (r.status_code, r.json()["total"]) == (200, "500.00")
    over = {"tier": "village", "amount": "600.00"}  # 500 + 600 is past the village's 1000
    for _ in range(2):
        r = await web.post(approve, headers=cadre, json=over)
        assert (r.status_code, r.json()["code"]) == (409, "cap_exceeded"), r.text
        assert "idempotent-replayed" not in r.headers
    assert await pool.fetchval("select count(*) from idempotency_keys where key like 'content:%'") == 2

    await pool.execute(
        "update idempotency_keys set done_at = done_at - interval '10 minutes 1 second' where key like 'content:%'"
    )
    r = await web.post(approve, headers=cadre, json={"tier": "village", "amount": "300.00"})
    assert (r.status_code, r.json()["total"]) == (200, "800.00")
    assert "idempotent-replayed" not in r.headers
    assert await money(pool, "IDEM-NOKEY") == ([30000, 20000, 30000], [30000, 20000, 30000])
    assert await balance(web, cadre) == "200.00"

    # a fund's income sent twice without a key: booked once
    income = {"amount": "500.00", "source": "donation", "donor": "裕安爱心协会"}
    answers = [await web.post(f"/api/funds/{VILLAGE}/income", headers=cadre, json=income) for _ in range(2)]
    assert [r.status_code for r in answers] == [201, 201]
    assert await balance(web, cadre) == "700.00"


# Forms that change nothing (or only the visitor's own session) need no key.
KEYLESS_FORMS = {
    ("account/login.html", "/login"),
    ("ui/base.html", "/lang"),
    ("ui/base.html", "/logout"),
    ("portal/base.html", "/lang"),
    ("portal/status.html", "/portal/status"),  # a look-up, posted to keep ID numbers out of the address
    ("household/view.html", "/households"),  # likewise
    ("frontdoor/request.html", "/households"),
    ("supervisor/cases.html", "/cases"),  # a search, posted to keep ID numbers out of the address
    ("supervision/access_log.html", "/supervision/access-log"),  # likewise
}


def test_every_form_that_changes_state_carries_a_one_time_key() -> None:
    root = Path(__file__).resolve().parents[1] / "webapp"
    missing = []
    for template in root.rglob("templates/**/*.html"):
        name = template.relative_to(template.parents[1]).as_posix()
        for form in re.findall(r"<form\b[^>]*method=\"post\".*?</form>", template.read_text(), re.S):
            action = re.search(r'action="([^"{]*)', form)
            where = (name, action[1] if action else "")
            if "form_key()" not in form and where not in KEYLESS_FORMS:
                missing.append(where)
    assert missing == []
