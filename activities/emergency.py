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
from db import policy_repo
from schemas.emergency import EmergencyLogIn, EmergencyOpened, OpenEmergencyIn, PaymentIn, PaymentOut
from schemas.identity import mask_id
from schemas.money import from_fen, to_fen

log = structlog.get_logger(__name__)


class EmergencyActivities:
    def __init__(self, pool: asyncpg.Pool, rail: PaymentRail) -> None:
        self.pool = pool
        self.rail = rail

    @activity.defn
    async def open_emergency(self, req: OpenEmergencyIn) -> EmergencyOpened:
        start, info = req.start, activity.info()
        hh = start.household
        async with self.pool.acquire() as conn, conn.transaction():
            version = await conn.fetchval("select policy_version from emergencies where event_id = $1", start.event_id)
            if version is None:
                policy = await policy_repo.in_force(conn, req.registered_on)
                version = policy.version
                await conn.execute(
                    "insert into emergencies (event_id, workflow_id, kind, description, applicant_name, "
                    "applicant_id_masked, township_code, village_code, channel, registered_by, registered_at, "
                    "policy_version, applicant_id_number) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                    start.event_id,
                    info.workflow_id,
                    start.kind.value,
                    start.description,
                    hh.name,
                    mask_id(hh.id_number),
                    hh.township_code,
                    hh.village_code,
                    start.channel,
                    start.registered_by.username,
                    req.registered_at,
                    version,
                    hh.id_number,
                )
            else:
                policy = await policy_repo.get(conn, version)
        return EmergencyOpened(policy=policy.emergency, policy_version=version)

    @activity.defn
    async def pay(self, p: PaymentIn) -> PaymentOut:
        fen = to_fen(p.amount)
        async with self.pool.acquire() as conn, conn.transaction():
            fund = await conn.fetchrow(
                "select id, place_code from aid_funds where place_code = $1 for update", p.fund_place
            )
            if fund is None:
                raise ApplicationError(f"{p.fund_place} 没有救助资金账户", type="no_fund", non_retryable=True)
            done = await conn.fetchrow("select transfer_ref from aid_payments where payment_key = $1", p.payment_key)
            if done is None:
                balance = await conn.fetchval(
                    "select coalesce(sum(case kind when 'income' then amount_fen else -amount_fen end), 0) "
                    "from fund_entries where fund_id = $1",
                    fund["id"],
                )
                if balance < fen:
                    raise ApplicationError(
                        f"资金余额不足：余额 {from_fen(balance)} 元，本次需 {p.amount} 元",
                        type="fund_insufficient",
                        non_retryable=True,
                    )
                await conn.execute(
                    "insert into aid_payments (payment_key, event_id, tier, fund_id, amount_fen, approved_by, "
                    "approved_at, note) values ($1,$2,$3,$4,$5,$6,$7,$8)",
                    p.payment_key,
                    p.event_id,
                    p.tier,
                    fund["id"],
                    fen,
                    p.approved_by,
                    p.approved_at,
                    p.note,
                )
                await conn.execute(
                    "insert into fund_entries (fund_id, kind, amount_fen, payment_key, recorded_by, note) "
                    "values ($1, 'payment', $2, $3, $4, $5)",
                    fund["id"],
                    fen,
                    p.payment_key,
                    p.approved_by,
                    f"救急难 {p.event_id}",
                )
        ref = await self.rail.transfer(p.payment_key, fen, p.payee_name, mask_id(p.payee_id_number))
        if os.environ.get("JIUZHU_FAILPOINT") == "after_transfer" and activity.info().attempt == 1:
            log.warning("failpoint: worker dies between transfer and its record", payment_key=p.payment_key)
            os._exit(1)
        paid_at = await self.pool.fetchval(
            "update aid_payments set transfer_ref = $2, paid_at = coalesce(paid_at, now()) where payment_key = $1 "
            "returning paid_at",
            p.payment_key,
            ref,
        )
        log.info("emergency payment made", event_id=p.event_id, payment_key=p.payment_key, amount=str(p.amount))
        return PaymentOut(payment_key=p.payment_key, fund_code=fund["place_code"], transfer_ref=ref, paid_at=paid_at)

    @activity.defn
    async def log_emergency(self, e: EmergencyLogIn) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "insert into emergency_log (event_id, log_key, kind, actor, payload, occurred_at) "
                "values ($1,$2,$3,$4,$5,$6) on conflict (event_id, log_key) do nothing",
                e.event_id,
                e.log_key,
                e.kind,
                e.actor,
                e.payload,
                e.occurred_at,
            )
            await conn.execute(
                "update emergencies set tier = $2, status = $3, village_fen = $4, township_fen = $5, "
                "district_fen = $6, documentation_due = $7, documents_done = $8, "
                "closed_at = case when $3 = 'closed' then $9::timestamptz else null end, updated_at = now() "
                "where event_id = $1",
                e.event_id,
                e.tier,
                e.status,
                to_fen(e.village_total),
                to_fen(e.township_total),
                to_fen(e.district_total),
                e.documentation_due,
                e.documents_done,
                e.occurred_at,
            )

    def all(self) -> list:
        return [self.open_emergency, self.pay, self.log_emergency]
