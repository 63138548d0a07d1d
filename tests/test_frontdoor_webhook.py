"""The webhook adapter against a small HTTP receiver in the test: the referral arrives signed (and is
delivered again after the bureau's system fails once), and the bureau answers on the callback, where a
missing or wrong signature is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from schemas.frontdoor import ReferralStart
from tests.support.clients import login
from tests.support.frontdoor import PERSON, apply_online, referrals_of
from tests.support.workflows import eventually

SECRET = "housing-shared-secret-2026"


class Receiver:
    """The housing bureau's system: answers 503 to the first delivery, then 200, and keeps what it got."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(503 if len(receiver.received) == 1 else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jiuzhu/referrals"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.web(temporal="review_env")
async def test_webhook_delivery_and_signed_callback(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await pool.execute(
        "insert into bureau_endpoints (bureau, url, secret) values ('housing', $1, $2)", receiver.url, SECRET
    )
    number, _ = await apply_online(web, ["housing"], description="土坯房漏雨，墙体开裂，想申请危房改造")
    caseworker = await login(web, "shipo_jingban")
    r = await web.post(f"/api/frontdoor/requests/{number}/triage", headers=caseworker, json={"needs": ["housing"]})
    assert r.status_code == 200, r.text
    referral_id = (await eventually(lambda: referrals_of(pool, number), "delivered", tries=200))["housing"]
    assert await pool.fetchval("select adapter from referrals where referral_id = $1", referral_id) == "webhook"

    assert len(receiver.received) == 2  # the bureau's 503 was retried
    (_, first_body), (headers, body) = receiver.received
    assert first_body == body
    assert headers["x-jiuzhu-signature"] == sign(body)
    assert headers["x-jiuzhu-referral"] == referral_id and headers["content-type"] == "application/json"
    sent = ReferralStart.model_validate_json(body)
    assert (sent.referral_id, sent.bureau.value, sent.request_no) == (referral_id, "housing", number)
    assert PERSON not in body.decode() and sent.id_masked.count("*") == 8  # the bureau gets a masked ID

    url = f"/api/referrals/{referral_id}/callback"
    accept = json.dumps({"action": "accept", "note": "已派员查看房屋"}).encode()
    json_type = {"content-type": "application/json"}
    for bad in ({}, {"x-jiuzhu-signature": sign(accept, "wrong-secret")}, {"x-jiuzhu-signature": "sha256=00"}):
        r = await web.post(url, content=accept, headers=json_type | bad)
        assert r.status_code == 401 and r.json()["code"] == "bad_signature"
    tampered = json.dumps({"action": "accept", "note": "改过的内容"}).encode()
    r = await web.post(url, content=tampered, headers=json_type | {"x-jiuzhu-signature": sign(accept)})
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    r = await web.post(
        "/api/referrals/ZJ-20260101-NOSUCH-housing/callback",
        content=accept,
        headers=json_type | {"x-jiuzhu-signature": sign(accept)},
    )
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")  # an unknown referral looks the same

    r = await web.post(url, content=accept, headers=json_type | {"x-jiuzhu-signature": sign(accept)})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    incomplete = json.dumps({"action": "result", "outcome": "helped"}).encode()
    r = await web.post(url, content=incomplete, headers=json_type | {"x-jiuzhu-signature": sign(incomplete)})
    assert (r.status_code, r.json()["code"]) == (422, "invalid")
    result = json.dumps(
        {"action": "result", "outcome": "helped", "help_given": "列入2027年农村危房改造计划", "amount": "20000.00"}
    ).encode()
    r = await web.post(url, content=result, headers=json_type | {"x-jiuzhu-signature": sign(result)})
    assert r.status_code == 200 and r.json()["status"] == "answered"
    r = await web.post(url, content=result, headers=json_type | {"x-jiuzhu-signature": sign(result)})
    assert r.status_code == 409 and r.json()["code"] == "closed"

    actors = await pool.fetch(
        "select actor from frontdoor_log where subject_type = 'referral' and subject_id = $1 and actor is not null",
        referral_id,
    )
    assert {a["actor"] for a in actors} == {"bureau-api:housing"}
    row = await pool.fetchrow("select outcome, amount_fen from referrals where referral_id = $1", referral_id)
    assert (row["outcome"], row["amount_fen"]) == ("helped", 2000000)
    closed = await eventually(
        lambda: pool.fetchval(
            "select answer from frontdoor_requests where request_no = $1 and status = 'closed'", number
        ),
        "request closed",
    )
    assert "危房改造" in closed
