"""The household economic check (家庭经济状况核对) centre, behind an interface.

The default adapter files the request in `verification_requests`, where a district officer sees it and
records the centre's answer; an adapter for a real centre's HTTP API implements the same protocol and
delivers the answer through the same workflow update.
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

from schemas.review import VerificationRequestIn


class VerificationCentre(Protocol):
    name: str

    async def request(self, req: VerificationRequestIn) -> None:
        """File the request; must be idempotent (retries and replays call it again)."""


class DatabaseVerificationCentre:
    name = "database"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def request(self, req: VerificationRequestIn) -> None:
        await self.pool.execute(
            "insert into verification_requests (case_id, township_code, requested_at, adapter) "
            "values ($1, $2, $3, $4) on conflict (case_id) do nothing",
            req.case_id,
            req.township_code,
            req.requested_at,
            self.name,
        )
