"""The household economic check (家庭经济状况核对) centre, behind an interface.

The default adapter files the request in `verification_requests`, where a district officer sees it and
records the centre's answer; an adapter for a real centre's HTTP API implements the same protocol and
delivers the answer through the same workflow update.
"""

from __future__ import annotations

from typing import Protocol

import asyncpg
import httpx

from db import cases_repo
from schemas.review_records import VerificationRequestIn


class VerificationCentre(Protocol):
    name: str

    async def request(self, req: VerificationRequestIn) -> None:
        """File the request; must be idempotent (retries and replays call it again)."""


class DatabaseVerificationCentre:
    name = "database"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def request(self, req: VerificationRequestIn) -> None:
        await cases_repo.file_verification_request(self.pool, req, self.name)


class HttpVerificationCentre:
    """A real verification centre reached over HTTP: the request is POSTed as JSON with an idempotency key.

    The centre answers later through the API (`verification_result`), as a district officer would.
    """

    name = "http"

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout

    async def request(self, req: VerificationRequestIn) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(
                self.url,
                json=req.model_dump(mode="json"),
                headers=self.headers | {"Idempotency-Key": f"verification-{req.case_id}"},
            )
            response.raise_for_status()  # an error is retried by Temporal's activity retry policy


def choose_centre(pool: asyncpg.Pool, url: str | None = None, token: str | None = None) -> VerificationCentre:
    """The HTTP centre at `url` (the worker's `JIUZHU_VERIFICATION_URL`, with `JIUZHU_VERIFICATION_TOKEN`) if
    there is one; otherwise officers record results in Jiuzhu."""
    if url:
        return HttpVerificationCentre(url, token)
    return DatabaseVerificationCentre(pool)
