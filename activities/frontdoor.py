"""Side effects of the 12349 front door: request, referral and complaint rows, their event log, the
policy in force, and delivering a referral to its bureau (inbox or signed webhook). All idempotent."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import asyncpg
import httpx
import structlog
from temporalio import activity

from db import policy_repo
from schemas.frontdoor import ComplaintStart, DeliveryIn, FrontDoorLogIn, IntakeStart, ReferralResult
from schemas.identity import mask_id
from schemas.money import to_fen
from schemas.policy import FrontDoorPolicy

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Jiuzhu-Signature"


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body, the scheme both directions of the webhook use."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


class FrontDoorActivities:
    def __init__(self, pool: asyncpg.Pool, timeout: float = 10.0) -> None:
        self.pool = pool
        self.timeout = timeout

    @activity.defn
    async def front_door_policy(self, on: date) -> FrontDoorPolicy:
        async with self.pool.acquire() as conn:
            return (await policy_repo.in_force(conn, on)).front_door

    @activity.defn
    async def record_request(self, start: IntakeStart) -> None:
        r = start.request
        await self.pool.execute(
            "insert into frontdoor_requests (request_no, workflow_id, kind, channel, name, id_number, id_masked, "
            "phone, township_code, village_code, address, description, needs, received_by, created_at) "
            "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) on conflict (request_no) do nothing",
            start.request_no,
            activity.info().workflow_id,
            r.kind.value,
            start.channel.value,
            r.name,
            r.id_number,
            mask_id(r.id_number),
            r.phone,
            r.township_code,
            r.village_code,
            r.address,
            r.description,
            r.needs,
            start.received_by.username if start.received_by else None,
            activity.info().scheduled_time,
        )

    @activity.defn
    async def open_referral(self, d: DeliveryIn) -> None:
        r = d.referral
        await self.pool.execute(
            "insert into referrals (referral_id, workflow_id, request_no, need, help_kind, bureau, township_code, "
            "name, id_masked, delivered_at) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) "
            "on conflict (referral_id) do nothing",
            r.referral_id,
            d.workflow_id,
            r.request_no,
            r.need,
            r.help_kind,
            r.bureau.value,
            r.township_code,
            r.name,
            r.id_masked,
            activity.info().scheduled_time,
        )

    @activity.defn
    async def deliver_referral(self, d: DeliveryIn) -> str:
        """The bureau's webhook if it has one (signed JSON; the bureau dedupes on the referral id), else
        its inbox in Jiuzhu, which is the referrals row itself."""
        r = d.referral
        endpoint = await self.pool.fetchrow(
            "select url, secret from bureau_endpoints where bureau = $1 and active", r.bureau.value
        )
        adapter = "inbox"
        if endpoint:
            body = r.model_dump_json().encode()
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(
                    endpoint["url"],
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        SIGNATURE_HEADER: sign(endpoint["secret"], body),
                        "X-Jiuzhu-Referral": r.referral_id,
                    },
                )
                response.raise_for_status()  # retried by Temporal until the bureau takes it
            adapter = "webhook"
        await self.pool.execute("update referrals set adapter = $2 where referral_id = $1", r.referral_id, adapter)
        log.info("referral delivered", referral_id=r.referral_id, bureau=r.bureau.value, adapter=adapter)
        return adapter

    @activity.defn
    async def record_referral_result(self, referral_id: str, result: ReferralResult) -> None:
        await self.pool.execute(
            "update referrals set outcome = $2, help_given = $3, amount_fen = $4 where referral_id = $1",
            referral_id,
            result.outcome,
            result.help_given,
            to_fen(result.amount) if result.amount else None,
        )

    @activity.defn
    async def open_complaint(self, c: ComplaintStart) -> None:
        await self.pool.execute(
            "insert into complaints (complaint_no, workflow_id, request_no, complainant, phone, township_code, "
            "about_case_id, about_person, content, unit_code, created_at) "
            "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) on conflict (complaint_no) do nothing",
            c.complaint_no,
            activity.info().workflow_id,
            c.request_no,
            c.complainant,
            c.phone,
            c.township_code,
            c.about_case_id,
            c.about_person,
            c.content,
            c.unit_code,
            activity.info().scheduled_time,
        )

    @activity.defn
    async def log_frontdoor(self, e: FrontDoorLogIn) -> None:
        """Append to the front door's log and bring the subject's row up to date, in one transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "insert into frontdoor_log (subject_type, subject_id, log_key, kind, actor, payload, occurred_at) "
                "values ($1,$2,$3,$4,$5,$6,$7) on conflict (subject_type, subject_id, log_key) do nothing",
                e.subject_type,
                e.subject_id,
                e.log_key,
                e.kind,
                e.actor,
                e.payload,
                e.occurred_at,
            )
            if e.subject_type == "request":
                await conn.execute(
                    "update frontdoor_requests set status = $2, answer_due = coalesce($3, answer_due), "
                    "answer = coalesce($4, answer), closed_at = case when $2 = 'closed' then $5::timestamptz end, "
                    "updated_at = now() where request_no = $1",
                    e.subject_id,
                    e.status,
                    e.due,
                    e.payload.get("answer"),
                    e.occurred_at,
                )
            elif e.subject_type == "referral":
                await conn.execute(
                    "update referrals set status = $2, escalated = escalated or $3, "
                    "accept_due = coalesce($4::date, accept_due), result_due = coalesce($5::date, result_due), "
                    "answered_at = case when $2 = 'answered' then $6::timestamptz else answered_at end, "
                    "updated_at = now() where referral_id = $1",
                    e.subject_id,
                    e.status,
                    e.kind.startswith("escalated"),
                    _day(e.payload.get("accept_due")),
                    _day(e.payload.get("result_due")),
                    e.occurred_at,
                )
            else:
                await conn.execute(
                    "update complaints set status = $2, escalated = escalated or $3, "
                    "accept_due = coalesce($4::date, accept_due), conclude_due = coalesce($5::date, conclude_due), "
                    "finding = coalesce($6, finding), reply = coalesce($7, reply), "
                    "concluded_at = case when $2 = 'concluded' then $8::timestamptz else concluded_at end, "
                    "updated_at = now() where complaint_no = $1",
                    e.subject_id,
                    e.status,
                    e.kind.startswith("escalated"),
                    _day(e.payload.get("accept_due")),
                    _day(e.payload.get("conclude_due")),
                    e.payload.get("finding"),
                    e.payload.get("reply"),
                    e.occurred_at,
                )

    def all(self) -> list:
        return [
            self.front_door_policy,
            self.record_request,
            self.open_referral,
            self.deliver_referral,
            self.record_referral_result,
            self.open_complaint,
            self.log_frontdoor,
        ]
