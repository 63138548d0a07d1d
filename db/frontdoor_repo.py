"""The 12349 front door's rows as its workflows write them: requests, referrals (and the bureaus'
webhooks), complaints, and their shared log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from db.pool import Db
from schemas.frontdoor import ComplaintStart, DeliveryIn, FrontDoorLogIn, IntakeStart, ReferralResult
from schemas.identity import mask_id
from schemas.money import to_fen


@dataclass(frozen=True)
class BureauEndpoint:
    url: str
    secret: str


async def insert_request(db: Db, start: IntakeStart, workflow_id: str, created_at: datetime) -> None:
    r = start.request
    await db.execute(
        "insert into frontdoor_requests (request_no, workflow_id, kind, channel, name, id_number, id_masked, "
        "phone, township_code, village_code, address, description, needs, received_by, created_at) "
        "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) on conflict (request_no) do nothing",
        start.request_no,
        workflow_id,
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
        created_at,
    )


async def insert_referral(db: Db, d: DeliveryIn, delivered_at: datetime) -> None:
    r = d.referral
    await db.execute(
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
        delivered_at,
    )


async def bureau_endpoint(db: Db, bureau: str) -> BureauEndpoint | None:
    """The bureau's active webhook, if it has one (else its inbox in Jiuzhu takes referrals)."""
    row = await db.fetchrow("select url, secret from bureau_endpoints where bureau = $1 and active", bureau)
    return BureauEndpoint(row["url"], row["secret"]) if row else None


async def set_referral_adapter(db: Db, referral_id: str, adapter: str) -> None:
    await db.execute("update referrals set adapter = $2 where referral_id = $1", referral_id, adapter)


async def record_referral_result(db: Db, referral_id: str, result: ReferralResult) -> None:
    await db.execute(
        "update referrals set outcome = $2, help_given = $3, amount_fen = $4 where referral_id = $1",
        referral_id,
        result.outcome,
        result.help_given,
        to_fen(result.amount) if result.amount else None,
    )


async def insert_complaint(db: Db, c: ComplaintStart, workflow_id: str, created_at: datetime) -> None:
    await db.execute(
        "insert into complaints (complaint_no, workflow_id, request_no, complainant, phone, township_code, "
        "about_case_id, about_person, content, unit_code, created_at) "
        "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) on conflict (complaint_no) do nothing",
        c.complaint_no,
        workflow_id,
        c.request_no,
        c.complainant,
        c.phone,
        c.township_code,
        c.about_case_id,
        c.about_person,
        c.content,
        c.unit_code,
        created_at,
    )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


async def write_log(conn: asyncpg.Connection, e: FrontDoorLogIn) -> None:
    """Append to the front door's log (once per key) and bring the subject's row up to date, in one
    transaction."""
    async with conn.transaction():
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
