"""How money leaves: a payment rail behind an interface, idempotent by the workflow's payment key.

The default rail writes each transfer to `disbursements`, the list the finance office pays from; a
bank's API would implement the same protocol, passing the key as its idempotency key.
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

from db import emergency_repo


class PaymentRail(Protocol):
    async def transfer(self, key: str, amount_fen: int, payee_name: str, payee_id_masked: str) -> str:
        """Pay once per key, however often called; return the transfer reference."""


class LedgerRail:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def transfer(self, key: str, amount_fen: int, payee_name: str, payee_id_masked: str) -> str:
        await emergency_repo.add_disbursement(self.pool, key, amount_fen, payee_name, payee_id_masked)
        return key
