"""The verification centre adapters: the database queue officers work from, and a real HTTP endpoint."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import ClassVar

import asyncpg
import httpx
import pytest

from activities.verification import DatabaseVerificationCentre, HttpVerificationCentre, centre_from_env
from schemas.review import VerificationRequestIn


async def test_database_centre_files_each_request_once(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "insert into cases (case_id, workflow_id, assistance_type, township_code, applicant_name, applicant_id_masked, "
        "channel, policy_version, stage, accepted_at) values "
        "('V1', 'review-V1', 'dibao', '341503106', '张三', 'x', 'counter', 1, 'investigation', now())"
    )
    centre = DatabaseVerificationCentre(pool)
    req = VerificationRequestIn(case_id="V1", township_code="341503106", requested_at=datetime.now(UTC))
    await centre.request(req)
    await centre.request(req)  # a retried activity
    assert await pool.fetchval("select count(*) from verification_requests where case_id = 'V1'") == 1
    assert isinstance(centre_from_env(pool), DatabaseVerificationCentre)


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
        req = VerificationRequestIn(case_id="V2", township_code="341503104", requested_at=datetime.now(UTC))
        await centre.request(req)
        headers, body = _Centre.received[-1]
        assert body["case_id"] == "V2" and body["township_code"] == "341503104"
        assert headers["Idempotency-Key"] == "verification-V2" and headers["Authorization"] == "Bearer secret"
        _Centre.status = 503
        with pytest.raises(httpx.HTTPStatusError):  # surfaces to Temporal, which retries the activity
            await centre.request(req)
    finally:
        server.shutdown()
        await asyncio.sleep(0)
