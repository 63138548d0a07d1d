"""The front door's rows as the web app reads them (frontdoor_requests, referrals, complaints, frontdoor_log,
kept by the workflows): the SELECTs, their summaries, and loading one row for a caller, who is refused first
(404 / 403) if it does not exist or is not theirs to see. The household view reads the same rows."""

from __future__ import annotations

import secrets

import asyncpg

from infra.clock import today
from rules.needs import BY_CODE
from rules.recusal import names_person
from schemas.identity import mask_phone
from schemas.money import from_fen
from schemas.staff import Actor, Role
from webapp import authz
from webapp.errors import ApiError, forbidden, not_found
from webapp.frontdoor.models import ComplaintSummary, LogEntry, ReferralSummary, RequestSummary

DISTRICT_CODE = "341503"  # the district civil affairs bureau, the front door's top level
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: read out over the phone, they look like 1 and 0


def _new_no(prefix: str) -> str:
    """Random rather than sequential: a number found on a scrap of paper says nothing about the next one."""
    day = today().strftime("%Y%m%d")
    return f"{prefix}-{day}-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def new_request_no() -> str:
    return _new_no("12349")


def new_complaint_no() -> str:
    """The intake names the complaints it files TS-<its request number's date and suffix>; same shape here."""
    return _new_no("TS")


REQUEST_SQL = """
select r.request_no, r.kind, r.channel, r.name, r.id_masked, r.township_code, t.name as township_name,
       r.village_code, v.name as village_name, r.needs, r.status, r.answer_due, r.created_at, r.closed_at,
       r.id_number, r.phone, r.address, r.description, r.received_by, r.answer, r.workflow_id
from frontdoor_requests r join places t on t.code = r.township_code left join places v on v.code = r.village_code
"""

REFERRAL_SQL = """
select f.referral_id, f.request_no, f.need, f.help_kind, f.bureau, f.township_code, t.name as township_name,
       f.name, f.id_masked, f.status, f.adapter, f.accept_due, f.result_due, f.escalated, f.outcome,
       f.help_given, f.amount_fen, f.delivered_at, f.answered_at, f.workflow_id,
       array(select l.kind from frontdoor_log l where l.subject_type = 'referral' and l.subject_id = f.referral_id
             and l.kind like 'escalated%') as escalations
from referrals f join places t on t.code = f.township_code
"""

COMPLAINT_SQL = """
select c.complaint_no, c.request_no, c.complainant, c.phone, c.township_code, c.unit_code, u.name as unit_name,
       c.about_case_id, c.about_person, c.status, c.accept_due, c.conclude_due, c.escalated, c.finding,
       c.created_at, c.concluded_at, c.content, c.reply, c.workflow_id
from complaints c join places u on u.code = c.unit_code
"""


def request_summary(row: asyncpg.Record) -> RequestSummary:
    due = row["answer_due"]
    return RequestSummary(
        **{k: row[k] for k in RequestSummary.model_fields if k != "overdue"},
        overdue=row["status"] != "closed" and due is not None and due < today(),
    )


def referral_summary(row: asyncpg.Record) -> ReferralSummary:
    """Overdue by the dates or by the workflow's own escalation (its clock may run ahead of the wall)."""
    now = today()

    def late(what: str) -> bool:
        due = row[f"{what}_due"]
        return (due is not None and due < now) or f"escalated_{what}" in row["escalations"]

    fen = row["amount_fen"]
    return ReferralSummary(
        **{k: row[k] for k in ReferralSummary.model_fields if k in row and k != "amount"},
        amount=None if fen is None else from_fen(fen),
        accept_overdue=row["status"] == "delivered" and late("accept"),
        result_overdue=row["status"] != "answered" and late("result"),
    )


def complaint_summary(row: asyncpg.Record) -> ComplaintSummary:
    now = today()
    due = row["accept_due"] if row["status"] == "registered" else row["conclude_due"]
    open_ = row["status"] != "concluded"
    return ComplaintSummary(
        **{k: row[k] for k in ComplaintSummary.model_fields if k in row},
        phone_masked=mask_phone(row["phone"]),
        overdue=open_ and (row["escalated"] or (due is not None and due < now)),
    )


async def log_of(db: asyncpg.Pool, subject_type: str, subject_id: str) -> list[LogEntry]:
    rows = await db.fetch(
        "select log_key, kind, actor, payload, occurred_at from frontdoor_log "
        "where subject_type = $1 and subject_id = $2 order by occurred_at, id",
        subject_type,
        subject_id,
    )
    return [LogEntry(**dict(r)) for r in rows]


async def _fetch(db: asyncpg.Pool, sql: str, subject_id: str, missing: str) -> asyncpg.Record:
    """The row `sql` selects by its number, or 404 with `missing`."""
    row = await db.fetchrow(sql, subject_id)
    if row is None:
        raise not_found(missing)
    return row


async def request_row(db: asyncpg.Pool, request_no: str, actor: Actor) -> asyncpg.Record:
    authz.require(actor, "request.read")
    row = await _fetch(db, REQUEST_SQL + "where r.request_no = $1", request_no, "受理编号不存在")
    if not authz.in_scope(actor, "request.read", row["village_code"] or row["township_code"]):
        raise forbidden("该求助不在您的辖区内", "out_of_jurisdiction")
    return row


async def referral_row(db: asyncpg.Pool, referral_id: str, actor: Actor) -> asyncpg.Record:
    authz.require(actor, "referral.read")
    row = await _fetch(db, REFERRAL_SQL + "where f.referral_id = $1", referral_id, "转介不存在")
    if not authz.in_scope(actor, "referral.read", row["township_code"], bureau=row["bureau"]):
        raise forbidden(
            "该转介不属于您的部门或辖区", "wrong_bureau" if actor.role is Role.BUREAU_STAFF else "out_of_jurisdiction"
        )
    return row


def is_subject(actor: Actor, about_person: str | None) -> bool:
    """The staff member a complaint is about, by the same rule the complaint workflow recuses them with."""
    return names_person(about_person, actor.username, actor.full_name)


async def complaint_row(db: asyncpg.Pool, complaint_no: str, actor: Actor) -> asyncpg.Record:
    authz.require(actor, "complaint.read")
    row = await _fetch(db, COMPLAINT_SQL + "where c.complaint_no = $1", complaint_no, "投诉不存在")
    if not authz.in_scope(actor, "complaint.read", row["unit_code"], about_person=row["about_person"]):
        raise forbidden("该投诉不由您承办", "out_of_jurisdiction")
    return row


async def check_places(db: asyncpg.Pool, township_code: str, village_code: str | None) -> None:
    rows = {
        r["code"]: r
        for r in await db.fetch(
            "select code, level, parent_code from places where code = any($1::text[])",
            [c for c in (township_code, village_code) if c],
        )
    }
    if rows.get(township_code) is None or rows[township_code]["level"] != "township":
        raise ApiError(422, "invalid", "请选择所在乡镇（街道）")
    if village_code and (rows.get(village_code) is None or rows[village_code]["parent_code"] != township_code):
        raise ApiError(422, "invalid", "村（社区）不属于所选乡镇（街道）")


def check_needs(codes: list[str]) -> None:
    unknown = [c for c in codes if c not in BY_CODE]
    if unknown:
        raise ApiError(422, "invalid", f"未知的求助事项：{'、'.join(unknown)}")
