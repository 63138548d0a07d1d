"""The front door's rows as the web app shows them (db.frontdoor_repo: requests, referrals, complaints and their
log, kept by the workflows): their summaries, and loading one row for a caller, who is refused first (404 / 403)
if it does not exist or is not theirs to see. The household view reads the same rows."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import asdict
from typing import Any

import asyncpg

from db import cases_repo, frontdoor_repo, places_repo, users_repo
from db.frontdoor_filters import Reader
from db.frontdoor_repo import COMPLAINT_SQL, REFERRAL_SQL, REQUEST_SQL  # noqa: F401 (the household view's, for now)
from infra.clock import today
from rules.access import DISTRICT_CODE
from rules.actions import ActorView
from rules.frontdoor_actions import ComplaintView, handles_complaint
from rules.needs import BY_CODE
from rules.recusal import CHOSEN_DISTRICT, names_no_staff, unmatched_person_reason
from schemas.identity import mask_name, mask_phone
from schemas.money import from_fen
from schemas.review import APPLICATION_ID
from schemas.staff import Actor, Role
from webapp import authz
from webapp.errors import ApiError, forbidden, not_found, refuse_personal_number
from webapp.field_labels import field_label
from webapp.frontdoor.models import ComplaintSummary, LogEntry, ReferralSummary, RequestSummary

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


# A typed row, or (until the household view reads through the repository) a Record of the same columns.
Row = frontdoor_repo.RequestRow | frontdoor_repo.ReferralRow | frontdoor_repo.ComplaintRow | asyncpg.Record


def _fields(row: Row) -> dict[str, Any]:
    return dict(row) if isinstance(row, asyncpg.Record) else row.model_dump()


# ---- complaints are confidential: invisible to those they are about, the complainant known to the handlers only


def complaint_view(complaint: Row) -> ComplaintView | None:
    """A complaint (or a 12349 request that is one) as the rules see it; None for other requests. A request's
    complaint not filed yet has no unit: the district's (its officers handle complaints anywhere)."""
    row = _fields(complaint)
    if "complainant" not in row and row["kind"] != "complaint":
        return None
    unit = row["unit_code"] if "complainant" in row else row["complaint_unit"] or DISTRICT_CODE
    status = row["status"] if "complainant" in row else "registered"
    return ComplaintView(status, unit, row["about_person"], frozenset(row["case_handlers"] or ()))


def about(actor: Actor, complaint: Row) -> bool:
    """Whether the row is a complaint about `actor` (named, or a handler of its case: rules.recusal), which they
    may neither see nor count."""
    view = complaint_view(complaint)
    return view is not None and view.about(ActorView.of(actor))


def sees_complainant(actor: Actor, complaint: Row) -> bool:
    """Whether `actor` sees who complained (name, phone, ID number, address): the complaint's handlers only."""
    view = complaint_view(complaint)
    return view is None or handles_complaint(view, ActorView.of(actor))


def reader(actor: Actor) -> Reader:
    """The caller as the lists' SQL leaves out complaints about them."""
    return Reader(actor.username, actor.full_name)


def request_summary(request: Row, actor: Actor) -> RequestSummary:
    row = _fields(request)
    due = row["answer_due"]
    # who complained is for the complaint's handlers: others get the name masked and no ID number at all
    masked = {} if sees_complainant(actor, request) else {"name": mask_name(row["name"]), "id_masked": ""}
    return RequestSummary(
        **{k: row[k] for k in RequestSummary.model_fields if k != "overdue"} | masked,
        overdue=row["status"] != "closed" and due is not None and due < today(),
    )


def referral_summary(referral: Row) -> ReferralSummary:
    """Overdue by the dates or by the workflow's own escalation (its clock may run ahead of the wall)."""
    now = today()
    row = _fields(referral)

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


def complaint_summary(complaint: Row, actor: Actor) -> ComplaintSummary:
    """The complaint as a list shows it; the complainant's name masked for all but its handlers."""
    now = today()
    row = _fields(complaint)
    due = row["accept_due"] if row["status"] == "registered" else row["conclude_due"]
    open_ = row["status"] != "concluded"
    masked = {} if sees_complainant(actor, complaint) else {"complainant": mask_name(row["complainant"])}
    return ComplaintSummary(
        **{k: row[k] for k in ComplaintSummary.model_fields if k in row} | masked,
        phone_masked=mask_phone(row["phone"]),
        overdue=open_ and (row["escalated"] or (due is not None and due < now)),
    )


async def log_of(db: asyncpg.Pool, subject_type: str, subject_id: str) -> list[LogEntry]:
    return [LogEntry(**asdict(r)) for r in await frontdoor_repo.log_of(db, subject_type, subject_id)]


async def request_row(db: asyncpg.Pool, request_no: str, actor: Actor) -> frontdoor_repo.RequestRow:
    """The request, if the caller may see it: a complaint about them does not exist for them (404)."""
    authz.require(actor, "request.read")
    row = await frontdoor_repo.request(db, request_no)
    if row is None or about(actor, row):
        raise not_found("受理编号不存在")
    if not authz.in_scope(actor, "request.read", row.village_code or row.township_code):
        raise forbidden("该求助不在您的辖区内", "out_of_jurisdiction")
    return row


async def referral_row(db: asyncpg.Pool, referral_id: str, actor: Actor) -> frontdoor_repo.ReferralRow:
    authz.require(actor, "referral.read")
    row = await frontdoor_repo.referral(db, referral_id)
    if row is None:
        raise not_found("转介不存在")
    if not authz.in_scope(actor, "referral.read", row.township_code, bureau=row.bureau):
        raise forbidden(
            "该转介不属于您的部门或辖区", "wrong_bureau" if actor.role is Role.BUREAU_STAFF else "out_of_jurisdiction"
        )
    return row


async def complaint_row(db: asyncpg.Pool, complaint_no: str, actor: Actor) -> frontdoor_repo.ComplaintRow:
    """The complaint, if the caller may see it: one about them does not exist for them (404), before the check
    of the unit (a 403 would tell them it exists)."""
    authz.require(actor, "complaint.read")
    row = await frontdoor_repo.complaint(db, complaint_no)
    if row is None or about(actor, row):
        raise not_found("投诉不存在")
    if not authz.in_scope(actor, "complaint.read", row.unit_code):
        raise forbidden("该投诉不由您承办", "out_of_jurisdiction")
    return row


async def check_places(db: asyncpg.Pool, township_code: str, village_code: str | None) -> None:
    township = await places_repo.get_place(db, township_code)
    if township is None or township.level != "township":
        raise ApiError(422, "invalid", "请选择所在乡镇（街道）")
    village = await places_repo.get_place(db, village_code) if village_code else None
    if village_code and (village is None or village.parent_code != township_code):
        raise ApiError(422, "invalid", "村（社区）不属于所选乡镇（街道）")


CASE_NOT_FOUND = "未在所选乡镇（街道）找到该案件编号"


async def case_complained_of(db: asyncpg.Pool, case_number: str | None, township_code: str) -> str | None:
    """The review case a complaint names, as recorded (full-width characters typed in made half-width, spaces
    removed, letter case as recorded); None if it names none. The complaint workflow tells that case (which
    sends it back to investigation and requires the district's visit), so every way of filing a complaint (the
    desk's and the API's registration, and a 12349 request, from the portal or the desk, before its intake
    starts) refuses a number that is not a case of the complaint's own township: 422 `case_not_found`, one
    answer whether the case does not exist or lies elsewhere, so that nobody learns of other townships' cases;
    a number that is, or holds, an ID or mobile number (typed in the wrong box) 422 `personal_number` first."""
    number = re.sub(r"\s+", "", unicodedata.normalize("NFKC", case_number or ""))
    if not number:
        return None
    refuse_personal_number(number, "about_case_id")
    found = None
    if re.fullmatch(APPLICATION_ID, number):
        found = await cases_repo.case_in_township(db, number, township_code)
    if found is None:
        message = f"{field_label(('about_case_id',))}：{CASE_NOT_FOUND}"
        raise ApiError(422, "case_not_found", message, field="about_case_id")
    return found


async def district_reason(db: asyncpg.Pool, about_person: str | None, to_district: bool) -> str | None:
    """Why a complaint goes to the district rather than to the township concerned, or None if it does not: it
    was asked for (to_district), or it names a person whom no user matches (rules.recusal.names_no_staff), who
    could be the township's own leader. A complaint naming no one, or a user (who is then kept from it), stays
    with the township. Every way of filing a complaint asks this before its workflow starts."""
    if to_district:
        return CHOSEN_DISTRICT
    if names_no_staff(about_person, (await users_repo.full_names(db)).items()):
        return unmatched_person_reason(about_person or "")
    return None


def check_needs(codes: list[str]) -> None:
    unknown = [c for c in codes if c not in BY_CODE]
    if unknown:
        raise ApiError(422, "invalid", f"未知的求助事项：{'、'.join(unknown)}")
