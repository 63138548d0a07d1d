"""The webhook adapter against a small HTTP receiver in the test: the referral arrives signed (and is
delivered again after the bureau's system fails once), and the bureau answers on the callback, where a
missing or wrong signature is refused, and so is a signed request replayed, posted to another referral's path,
or signed more than 5 minutes before or after now (schemas.webhook, README "Bureau webhook")."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from schemas.frontdoor import ReferralStart
from tests.support.clients import login
from tests.support.frontdoor import PERSON, apply_online, bureau_signed, referrals_of
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


def signed(path: str, body: bytes, secret: str = SECRET, **kw: Any) -> dict[str, str]:
    return {"content-type": "application/json"} | bureau_signed(secret, path, body, **kw)


def delivery_signed_ok(url: str, headers: dict[str, str], body: bytes) -> bool:
    """The bureau's check of a delivery, as README "Bureau webhook" tells it to do."""
    ts, nonce = headers["x-jiuzhu-timestamp"], headers["x-jiuzhu-nonce"]
    text = "\n".join(["POST", urlsplit(url).path, ts, nonce, hashlib.sha256(body).hexdigest()])
    mac = "sha256=" + hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, headers["x-jiuzhu-signature"])


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
    (first_headers, first_body), (headers, body) = receiver.received
    assert first_body == body
    assert delivery_signed_ok(receiver.url, headers, body) and delivery_signed_ok(receiver.url, first_headers, body)
    assert first_headers["x-jiuzhu-nonce"] != headers["x-jiuzhu-nonce"]  # each attempt signed afresh
    assert headers["x-jiuzhu-referral"] == referral_id and headers["content-type"] == "application/json"
    sent = ReferralStart.model_validate_json(body)
    assert (sent.referral_id, sent.bureau.value, sent.request_no) == (referral_id, "housing", number)
    assert PERSON not in body.decode() and sent.id_masked.count("*") == 8  # the bureau gets a masked ID

    url = f"/api/referrals/{referral_id}/callback"
    accept = json.dumps({"action": "accept", "note": "已派员查看房屋"}).encode()
    good = signed(url, accept)
    forged = (
        {"content-type": "application/json"},  # unsigned
        signed(url, accept, "wrong-secret"),
        good | {"x-jiuzhu-signature": "sha256=00"},
        {k: v for k, v in good.items() if k != "x-jiuzhu-nonce"},  # the nonce left out
        good | {"x-jiuzhu-timestamp": str(int(good["x-jiuzhu-timestamp"]) + 1)},  # the time changed
        good | {"x-jiuzhu-nonce": "0" * 32},  # another nonce under the same signature
    )
    for bad in forged:
        r = await web.post(url, content=accept, headers=bad)
        assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    tampered = json.dumps({"action": "accept", "note": "改过的内容"}).encode()
    r = await web.post(url, content=tampered, headers=good)
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    r = await web.post("/api/referrals/ZJ-20260101-NOSUCH-housing/callback", content=accept, headers=good)
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")  # an unknown referral looks the same
    now = int(time.time())
    for skew in (-301, 301):  # signed well, but 5 minutes and a second before or after now
        r = await web.post(url, content=accept, headers=signed(url, accept, timestamp=now + skew))
        assert (r.status_code, r.json()["code"]) == (401, "stale"), skew
        assert r.json()["message"].startswith("签名时间")

    # Another open referral of the same bureau: the first one's signed request does not work on it.
    second, _ = await apply_online(web, ["housing"], description="房屋在暴雨中倒塌一间，需要危房改造")
    r = await web.post(f"/api/frontdoor/requests/{second}/triage", headers=caseworker, json={"needs": ["housing"]})
    assert r.status_code == 200, r.text
    other = (await eventually(lambda: referrals_of(pool, second), "delivered", tries=200))["housing"]
    r = await web.post(f"/api/referrals/{other}/callback", content=accept, headers=good)
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")

    r = await web.post(url, content=accept, headers=good)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    r = await web.post(url, content=accept, headers=good)  # the same request again, word for word
    assert (r.status_code, r.json()["code"]) == (401, "replayed")
    incomplete = json.dumps({"action": "result", "outcome": "helped"}).encode()
    r = await web.post(url, content=incomplete, headers=signed(url, incomplete))
    assert (r.status_code, r.json()["code"]) == (422, "invalid")
    result = json.dumps(
        {"action": "result", "outcome": "helped", "help_given": "列入2027年农村危房改造计划", "amount": "20000.00"}
    ).encode()
    r = await web.post(url, content=result, headers=signed(url, result))
    assert r.status_code == 200 and r.json()["status"] == "answered"
    r = await web.post(url, content=result, headers=signed(url, result))
    assert r.status_code == 409 and r.json()["code"] == "closed"
    seen = await pool.fetchval("select count(*) from webhook_nonces where bureau = 'housing'")
    assert seen == 4  # the accept, the incomplete result (a good signature, refused after), both results

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


@pytest.mark.web(temporal="review_env")
async def test_plain_http_endpoint_is_not_called(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool, receiver: Receiver
) -> None:
    """A referral carries personal data: an endpoint on plain HTTP off this machine is never called. The medical
    bureau's inbox in Jiuzhu takes the referral at once (no retries), its log says why with the code, and the
    bureau's staff have it to sign for; a bureau whose endpoint is on this machine (the receiver) still gets its
    own."""
    await pool.execute(
        "insert into bureau_endpoints (bureau, url, secret) values "
        "('medical', 'http://example.invalid/jiuzhu/referrals', $1), ('housing', $2, $1)",
        SECRET,
        receiver.url,
    )
    number, _ = await apply_online(web, ["medical_costs"])
    caseworker = await login(web, "shipo_jingban")
    triage = {"needs": ["medical_costs"]}
    r = await web.post(f"/api/frontdoor/requests/{number}/triage", headers=caseworker, json=triage)
    assert r.status_code == 200, r.text
    referral_id = (await eventually(lambda: referrals_of(pool, number), "delivered"))["medical_costs"]
    row = await pool.fetchrow("select adapter, status from referrals where referral_id = $1", referral_id)
    assert (row["adapter"], row["status"]) == ("inbox", "delivered")
    refused = await pool.fetch(
        "select kind, actor, payload from frontdoor_log where subject_type = 'referral' and subject_id = $1 "
        "and kind like 'delivery%'",
        referral_id,
    )
    assert [(e["kind"], e["actor"], e["payload"]["code"]) for e in refused] == [
        ("delivery_refused", None, "insecure_endpoint")
    ]
    assert refused[0]["payload"]["summary"] == (
        "区医保局接口未发送：接口地址必须以 https:// 开头：转介含个人信息，不经明文 HTTP 发送（本机地址除外）。"
        "已转入系统收件箱，请在系统内签收办理"
    )

    bureau = await login(web, "yiliao_bu")
    r = await web.get("/api/referrals", headers=bureau)
    assert r.status_code == 200, r.text
    assert [(i["referral_id"], i["status"], i["adapter"]) for i in r.json()["items"]] == [
        (referral_id, "delivered", "inbox")
    ]
    r = await web.get(f"/api/referrals/{referral_id}", headers=bureau)
    assert r.status_code == 200, r.text
    assert [e["kind"] for e in r.json()["log"]] == ["delivery_refused", "delivered"]

    second, _ = await apply_online(web, ["housing"], description="土坯房漏雨，墙体开裂，想申请危房改造")
    r = await web.post(f"/api/frontdoor/requests/{second}/triage", headers=caseworker, json={"needs": ["housing"]})
    assert r.status_code == 200, r.text
    other = (await eventually(lambda: referrals_of(pool, second), "delivered", tries=200))["housing"]
    assert await pool.fetchval("select adapter from referrals where referral_id = $1", other) == "webhook"
    assert [h["x-jiuzhu-referral"] for h, _ in receiver.received] == [other, other]  # 503, then taken
