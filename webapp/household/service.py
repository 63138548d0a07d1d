"""One household view (一户一档): everything the system knows for one ID number (review cases with their
household members, the recipients register, emergencies, front-door requests, referrals and complaints), so
that help is neither missed nor paid twice. Township staff see what lies in their township and a count of
the rest; the ID number is shown whole only to those who open cases for people (authz `ids.full`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

import asyncpg
from pydantic import BaseModel, Field

from db import frontdoor_repo, households_repo, recipients_repo
from rules.access import within
from rules.stages import STAGE_LABELS
from schemas.identity import mask_id, validate_resident_id
from schemas.money import Money, from_fen
from schemas.roster import IMPORTED
from schemas.staff import Actor
from webapp import authz
from webapp.errors import ApiError
from webapp.frontdoor.models import ComplaintSummary, ReferralSummary, RequestSummary
from webapp.frontdoor.rows import about, complaint_summary, referral_summary, request_summary, sees_complainant


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
    imported: bool = Field(False, description="从社会救助信息系统名册导入（无审核流程记录）")


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
    last_review_on: date | None = Field(None, description="上次动态管理复核（导入的名册所载）")
    next_review_on: date | None = Field(None, description="下次动态管理复核")
    imported: bool = Field(False, description="从社会救助信息系统名册导入")


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


class UnverifiedRequest(BaseModel):
    """A request filed online under the ID number that staff have not yet confirmed the person filed: not
    theirs until then, so only its number and date."""

    request_no: str
    created_at: datetime


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
    unverified_requests: list[UnverifiedRequest] = Field(
        description="以本人身份提交、尚未核实的诉求（核实前不算作本人的诉求，仅列编号）"
    )
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

    case_rows = await households_repo.cases_of_member(db, person)
    filed = await frontdoor_repo.requests_of_person(db, person)
    # Filed online in the person's name and not yet confirmed: not theirs (nor what hangs on them) until staff
    # verify it; those of the caller's jurisdiction are named apart, by number only.
    all_requests = [r for r in filed if r.identity_verified]
    unverified = [
        UnverifiedRequest(request_no=r.request_no, created_at=r.created_at)
        for r in filed
        if not r.identity_verified
        and not about(actor, r)
        and within(actor.place_code, r.village_code or r.township_code)
    ]
    # Related records are looked up from everything known, then shown only within the caller's jurisdiction.
    request_nos = [r.request_no for r in all_requests]
    all_case_ids = [c.case_id for c in case_rows]
    known_names = sorted({c.member_name for c in case_rows} | {r.name for r in all_requests})
    case_rows = [c for c in case_rows if mine(c.place)]
    members = await households_repo.members_of(db, [c.household_id for c in case_rows])
    cases = [
        HouseholdCase(
            **{k: v for k, v in asdict(c).items() if k in HouseholdCase.model_fields},
            stage_label=STAGE_LABELS.get(c.stage, c.stage),
            monthly_amount=None if c.monthly_amount_fen is None else from_fen(c.monthly_amount_fen),
            imported=c.channel == IMPORTED,
            members=[
                HouseholdMember(
                    name=m.name, relation=m.relation, id_masked=mask_id(m.id_number), is_applicant=m.is_applicant
                )
                for m in members.get(c.household_id, [])
            ],
        )
        for c in case_rows
    ]
    imported = {c.case_id for c in cases if c.imported}
    recipients = [
        HouseholdRecipient(
            **{k: v for k, v in asdict(r).items() if k in HouseholdRecipient.model_fields},
            monthly_amount=from_fen(r.monthly_amount_fen),
            imported=r.case_id in imported,
        )
        for r in await recipients_repo.recipients_of_cases(db, [c.case_id for c in cases])
    ]
    # A complaint about the caller is not there for them: neither shown nor counted among the records elsewhere.
    # Nor that the person complained, but to the complaint's handlers.
    requests = [
        r
        for r in all_requests
        if not about(actor, r) and mine(r.village_code or r.township_code) and sees_complainant(actor, r)
    ]
    referrals = [
        r
        for r in await frontdoor_repo.referrals_of_requests(db, request_nos, newest_first=True)
        if mine(r.township_code)
    ]
    complaints = [
        c
        for c in await frontdoor_repo.complaints_about(db, request_nos, all_case_ids, newest_first=True)
        if not about(actor, c) and mine(c.unit_code) and (c.request_no not in request_nos or sees_complainant(actor, c))
    ]
    emergencies = [
        e
        for e in await households_repo.emergencies_of_person(db, person, mask_id(person), known_names, request_nos)
        if mine(e.village_code)
    ]
    return HouseholdView(
        id_number=person if authz.may(actor, "ids.full") else None,
        id_masked=mask_id(person),
        names=sorted(
            {c.member_name for c in case_rows}
            | {r.name for r in requests if sees_complainant(actor, r)}
            | {e.applicant_name for e in emergencies}
        ),
        cases=cases,
        recipients=recipients,
        emergencies=[
            HouseholdEmergency(
                **{k: v for k, v in asdict(e).items() if k in HouseholdEmergency.model_fields},
                total=from_fen(e.total_fen),
            )
            for e in emergencies
        ],
        requests=[request_summary(r, actor) for r in requests],
        unverified_requests=unverified,
        referrals=[referral_summary(r) for r in referrals],
        complaints=[complaint_summary(c, actor) for c in complaints],
        elsewhere=hidden,
    )
