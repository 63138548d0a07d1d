"""Side effects of emergency aid: the event row, payments against a fund's ledger, the event log.

A payment is recorded against its fund (refused if it would overdraw it) in one transaction keyed by
the workflow's payment key, then transferred through the rail with the same key: a retry after a
crash at any point finds the record and repeats only the idempotent transfer.
"""

from __future__ import annotations

import os

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.payments import PaymentRail
from db import emergency_repo, policy_repo
from rules.caps import period_start
from schemas.contracts import EmergencyContract
from schemas.emergency import EmergencyLogIn, EmergencyOpened, OpenEmergencyIn, PaymentIn, PaymentOut
from schemas.identity import mask_id
from schemas.money import to_fen

log = structlog.get_logger(__name__)


class EmergencyActivities(EmergencyContract):
    """`failpoint` is for tests only (the worker's `JIUZHU_FAILPOINT`): `after_transfer` makes the first
    attempt of a payment kill the worker between its transfer and the transfer's record."""

    def __init__(self, pool: asyncpg.Pool, rail: PaymentRail, failpoint: str | None = None) -> None:
        self.pool = pool
        self.rail = rail
        self.failpoint = failpoint

    @activity.defn
    async def open_emergency(self, req: OpenEmergencyIn) -> EmergencyOpened:
        """Write the event's row once, under a lock on every person of the household: a household one of whose
        people (applicant or member) belongs to another open event gets no second one (`duplicate_of` names it).
        What the household received in the policy's period before is read with it."""
        hh = req.start.household
        async with self.pool.acquire() as conn, conn.transaction():
            version = await emergency_repo.policy_version(conn, req.start.event_id)
            if version is None:
                policy = await policy_repo.in_force(conn, req.registered_on)
                await emergency_repo.lock_people(conn, hh.id_numbers)
                other = await emergency_repo.open_event_of(conn, *hh.id_numbers, besides=req.start.event_id)
                if other is not None:
                    log.info("emergency not registered: the household has an open event", event_id=req.start.event_id)
                    return EmergencyOpened(policy=policy.emergency, policy_version=policy.version, duplicate_of=other)
                version = policy.version
                await emergency_repo.insert_event(conn, req, activity.info().workflow_id, version)
            else:
                policy = await policy_repo.get(conn, version)
            since = period_start(req.registered_on, policy.emergency.period_months)
            prior = await emergency_repo.prior_aid(conn, hh.id_numbers, since, besides=req.start.event_id)
        return EmergencyOpened(policy=policy.emergency, policy_version=version, prior=prior)

    @activity.defn
    async def pay(self, p: PaymentIn) -> PaymentOut:
        try:
            async with self.pool.acquire() as conn:
                booked = await emergency_repo.book_payment(conn, p)
        except emergency_repo.NoFund as e:
            raise ApplicationError(str(e), type="no_fund", non_retryable=True) from None
        except emergency_repo.FundInsufficient as e:
            raise ApplicationError(str(e), type="fund_insufficient", non_retryable=True) from None
        ref = await self.rail.transfer(p.payment_key, to_fen(p.amount), p.payee_name, mask_id(p.payee_id_number))
        if self.failpoint == "after_transfer" and activity.info().attempt == 1:
            log.warning("failpoint: worker dies between transfer and its record", payment_key=p.payment_key)
            os._exit(1)
        paid_at = await emergency_repo.mark_paid(self.pool, p.payment_key, ref)
        log.info("emergency payment made", event_id=p.event_id, payment_key=p.payment_key, amount=str(p.amount))
        return PaymentOut(payment_key=p.payment_key, fund_code=booked.fund_code, transfer_ref=ref, paid_at=paid_at)

    @activity.defn
    async def log_emergency(self, e: EmergencyLogIn) -> None:
        async with self.pool.acquire() as conn:
            await emergency_repo.write_log(conn, e)
