"""An activity that proves a worker reaches the database (used by `jiuzhu status` and the smoke test)."""

from __future__ import annotations

import os
import socket
from datetime import datetime

import asyncpg
from temporalio import activity

from db import places_repo, policy_repo, users_repo
from rules.clock import BEIJING
from schemas.contracts import SystemContract
from schemas.system import SystemCheck


class SystemActivities(SystemContract):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @activity.defn
    async def check_database(self, requested_by: str) -> SystemCheck:
        async with self.pool.acquire() as conn:
            policy = await policy_repo.in_force(conn, datetime.now(BEIJING).date())
            return SystemCheck(
                requested_by=requested_by,
                places=await places_repo.count(conn),
                users=await users_repo.count(conn),
                policy_version=policy.version,
                policy_effective_from=policy.effective_from,
                worker=f"{os.getpid()}@{socket.gethostname()}",
            )
