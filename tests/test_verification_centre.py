"""The verification centre adapters: the database queue officers work from, and a real HTTP endpoint."""

from __future__ import annotations

import asyncio
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import ClassVar

import asyncpg
import httpx
import pytest

from activities.verification import DatabaseVerificationCentre, HttpVerificationCentre, choose_centre
from schemas.review_records import VerificationRequestIn
from tests.support.clock import beijing

REQUESTED_AT = beijing(2026, 11, 24, 9, 30)


async def test_database_centre_files_each_request_once(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "insert into cases (case_id, workflow_id, assistance_type, township_code, applicant_name, applicant_id_masked, "
        "channel, policy_version, stage, accepted_at) values "
        "('V1', 'review-V1', 'dibao', '341503106', '张三', 'x', 'counter', 1, 'investigation', $1)",
        REQUESTED_AT,
    )
    centre = DatabaseVerificationCentre(pool)
    req = VerificationRequestIn(case_id="V1", township_code="341503106", requested_at=REQUESTED_AT)
    await centre.request(req)
    await centre.request(req.model_copy(update={"requested_at": beijing(2026, 11, 24, 9, 31)}))  # a retry
    rows = await pool.fetch(
        "select township_code, requested_at, adapter, status from verification_requests where case_id = 'V1'"
    )
    assert [tuple(r) for r in rows] == [("341503106", REQUESTED_AT, "database", "requested")]
    assert isinstance(choose_centre(pool, None), DatabaseVerificationCentre)
    chosen = choose_centre(pool, "https://centre.example/requests", "secret")
    assert isinstance(chosen, HttpVerificationCentre) and chosen.headers == {"Authorization": "Bearer secret"}


class _Centre(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict, dict]]] = []
    status = 202

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Centre.received.append((dict(self.headers), body))
        self.send_response(_Centre.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


async def test_http_centre_posts_json_with_idempotency_key() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Centre)
    Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/requests"
    try:
        centre = HttpVerificationCentre(url, token="secret")
        req = VerificationRequestIn(case_id="V2", township_code="341503104", requested_at=REQUESTED_AT)
        await centre.request(req)
        headers, body = _Centre.received[-1]
        assert body == {"case_id": "V2", "township_code": "341503104", "requested_at": "2026-11-24T09:30:00+08:00"}
        assert headers["Idempotency-Key"] == "verification-V2" and headers["Authorization"] == "Bearer secret"
        _Centre.status = 503
        with pytest.raises(httpx.HTTPStatusError) as e:  # surfaces to Temporal, which retries the activity
            await centre.request(req)
        assert e.value.response.status_code == 503
    finally:
        server.shutdown()
        await asyncio.sleep(0)
