"""One household view (一户一档): everything the system knows for one ID number (review cases with their
household members, the recipients register, emergencies, front-door requests, referrals and complaints), so
that help is neither missed nor paid twice. Township staff see what lies in their township and a count of
the rest; the ID number is shown whole only to those who open cases for people (authz `ids.full`)."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
from pydantic import BaseModel, Field

from rules.access import within
from rules.stages import STAGE_LABELS
from schemas.identity import mask_id, validate_resident_id
from schemas.money import Money, from_fen
from schemas.staff import Actor
from webapp import authz
from webapp.errors import ApiError
from webapp.frontdoor.models import ComplaintSummary, ReferralSummary, RequestSummary
from webapp.frontdoor.rows import (
    COMPLAINT_SQL,
    REFERRAL_SQL,
    REQUEST_SQL,
    complaint_summary,
    is_subject,
    referral_summary,
    request_summary,
)


class HouseholdMember(BaseModel):
    name: str
    relation: str
    id_masked: str
    is_applicant: bool


class HouseholdCase(BaseModel):
    case_id: str
    assistance_type: str
    township_code: str
    township_name: str
    village_name: str | None
    applicant_name: str
    relation: str = Field(description="此人在该案件家庭中的关系")
    stage: str
    stage_label: str
    status: str
    accepted_at: datetime
    deadline: date | None
    overdue: bool
    category: str | None
    monthly_amount: Money | None
    members: list[HouseholdMember]


class HouseholdRecipient(BaseModel):
    case_id: str
    assistance_type: str
    township_code: str
    category: str | None
    monthly_amount: Money
    people: int
    first_payment_month: date
    status: str
    decided_at: datetime


class HouseholdEmergency(BaseModel):
    event_id: str
    kind: str
    applicant_name: str
    township_code: str
    township_name: str
    village_name: str
    tier: str
    status: str
    total: Money
    registered_at: datetime


class HouseholdView(BaseModel):
    """Everything known for one ID number, so help is neither missed nor paid twice."""

    id_number: str | None = Field(description="完整号码（仅乡镇经办人、审批人和区民政局工作人员可见）")
    id_masked: str
    names: list[str]
    cases: list[HouseholdCase]
    recipients: list[HouseholdRecipient]
    emergencies: list[HouseholdEmergency] = Field(
        description="12349 转来的急难事件，以及姓名和脱敏证件号都相符的急难事件（该表不存完整证件号）"
    )
    requests: list[RequestSummary]
    referrals: list[ReferralSummary]
    complaints: list[ComplaintSummary]
    elsewhere: int = Field(description="辖区外另有的记录数（不显示内容，需要时请联系区民政局）")


async def household_view(db: asyncpg.Pool, id_number: str, actor: Actor) -> HouseholdView:
    """Everything known for the person, shown within the caller's jurisdiction, with a count of the rest."""
    authz.require(actor, "household.view")
    try:
        person = validate_resident_id(id_number)
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    hidden = 0

    def mine(place: str) -> bool:
        nonlocal hidden
        if within(actor.place_code, place):
            return True
        hidden += 1
        return False

    case_rows = await db.fetch(
        "select c.case_id, c.assistance_type, c.township_code, t.name as township_name, v.name as village_name, "
        "c.village_code, c.applicant_name, m.relation, c.stage, c.status, c.accepted_at, c.deadline, c.overdue, "
        "c.category, c.monthly_amount_fen, c.household_id, m.name as member_name from household_members m "
        "join cases c on c.household_id = m.household_id join places t on t.code = c.township_code "
        "left join places v on v.code = c.village_code where m.id_number = $1 order by c.accepted_at desc",
        person,
    )
    all_requests = await db.fetch(REQUEST_SQL + "where r.id_number = $1 order by r.created_at desc", person)
    # Related records are looked up from everything known, then shown only within the caller's jurisdiction.
    request_nos = [r["request_no"] for r in all_requests]
    all_case_ids = [c["case_id"] for c in case_rows]
    known_names = sorted({c["member_name"] for c in case_rows} | {r["name"] for r in all_requests})
    case_rows = [c for c in case_rows if mine(c["village_code"] or c["township_code"])]
    members = await db.fetch(
        "select household_id, name, relation, id_number, is_applicant from household_members "
        "where household_id = any($1::bigint[]) order by household_id, is_applicant desc, id",
        [c["household_id"] for c in case_rows],
    )
    cases = [
        HouseholdCase(
            **{k: c[k] for k in HouseholdCase.model_fields if k in c},
            stage_label=STAGE_LABELS.get(c["stage"], c["stage"]),
            monthly_amount=None if c["monthly_amount_fen"] is None else from_fen(c["monthly_amount_fen"]),
            members=[
                HouseholdMember(
                    name=m["name"],
                    relation=m["relation"],
                    id_masked=mask_id(m["id_number"]),
                    is_applicant=m["is_applicant"],
                )
                for m in members
                if m["household_id"] == c["household_id"]
            ],
        )
        for c in case_rows
    ]
    case_ids = [c.case_id for c in cases]
    recipients = [
        HouseholdRecipient(
            **{k: r[k] for k in HouseholdRecipient.model_fields if k in r},
            monthly_amount=from_fen(r["monthly_amount_fen"]),
        )
        for r in await db.fetch(
            "select case_id, assistance_type, township_code, category, monthly_amount_fen, people, "
            "first_payment_month, status, decided_at from recipients where case_id = any($1::text[]) "
            "order by decided_at desc",
            case_ids,
        )
    ]
    requests = [r for r in all_requests if mine(r["village_code"] or r["township_code"])]
    referrals = [
        r
        for r in await db.fetch(
            REFERRAL_SQL + "where f.request_no = any($1::text[]) order by f.delivered_at desc", request_nos
        )
        if mine(r["township_code"])
    ]
    complaints = [
        c
        for c in await db.fetch(
            COMPLAINT_SQL + "where c.request_no = any($1::text[]) or c.about_case_id = any($2::text[]) "
            "order by c.created_at desc",
            request_nos,
            all_case_ids,
        )
        if mine(c["unit_code"]) and not is_subject(actor, c["about_person"])
    ]
    emergencies = [
        e
        for e in await db.fetch(
            "select e.event_id, e.kind, e.applicant_name, e.township_code, t.name as township_name, "
            "e.village_code, v.name as village_name, e.tier, e.status, "
            "e.village_fen + e.township_fen + e.district_fen as total_fen, e.registered_at from emergencies e "
            "join places t on t.code = e.township_code join places v on v.code = e.village_code "
            "where e.applicant_id_number = $4 "
            "or (e.applicant_id_number is null and e.applicant_id_masked = $1 and e.applicant_name = any($2::text[])) "
            "or e.event_id in "
            "(select l.payload->>'target' from frontdoor_log l where l.subject_type = 'request' "
            "and l.subject_id = any($3::text[]) and l.kind = 'need_answered') order by e.registered_at desc",
            mask_id(person),
            known_names,
            request_nos,
            person,
        )
        if mine(e["village_code"])
    ]
    return HouseholdView(
        id_number=person if authz.may(actor, "ids.full") else None,
        id_masked=mask_id(person),
        names=sorted(
            {c["member_name"] for c in case_rows}
            | {r["name"] for r in requests}
            | {e["applicant_name"] for e in emergencies}
        ),
        cases=cases,
        recipients=recipients,
        emergencies=[
            HouseholdEmergency(
                **{k: e[k] for k in HouseholdEmergency.model_fields if k in e}, total=from_fen(e["total_fen"])
            )
            for e in emergencies
        ],
        requests=[request_summary(r) for r in requests],
        referrals=[referral_summary(r) for r in referrals],
        complaints=[complaint_summary(c) for c in complaints],
        elsewhere=hidden,
    )
