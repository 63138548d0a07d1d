"""Households as the review keeps them (`households`, `household_members`, written with the case by
`cases_repo.insert_case`) and what the one household view (一户一档) finds for a person's ID number: the cases
whose household holds them, and the emergencies registered for them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from db.pool import Db
from db.typed import every


@dataclass(frozen=True)
class Member:
    name: str
    relation: str
    id_number: str
    is_applicant: bool


@dataclass(frozen=True)
class Household:
    id: int
    address: str
    hukou_type: str
    phone: str | None
    members: list[Member]  # the applicant first


async def members_of(db: Db, household_ids: list[int]) -> dict[int, list[Member]]:
    """Each household's members, the applicant first, then in the order they were entered."""
    rows = await db.fetch(
        "select household_id, name, relation, id_number, is_applicant from household_members "
        "where household_id = any($1::bigint[]) order by household_id, is_applicant desc, id",
        household_ids,
    )
    members: dict[int, list[Member]] = defaultdict(list)
    for r in rows:
        members[r["household_id"]].append(Member(r["name"], r["relation"], r["id_number"], r["is_applicant"]))
    return members


async def household_of_case(db: Db, case_id: str) -> Household | None:
    """The household as it was accepted with the case (no incomes or assets: those are in the application)."""
    row = await db.fetchrow(
        "select h.id, h.address, h.hukou_type, h.phone from households h join cases c on c.household_id = h.id "
        "where c.case_id = $1",
        case_id,
    )
    if row is None:
        return None
    return Household(**row, members=(await members_of(db, [row["id"]])).get(row["id"], []))


@dataclass(frozen=True)
class CaseOfMember:
    """A review case whose household holds the person looked for."""

    case_id: str
    assistance_type: str
    township_code: str
    township_name: str
    village_code: str | None
    village_name: str | None
    applicant_name: str
    relation: str  # the person's, in that household
    member_name: str  # the person's name there
    stage: str
    status: str
    accepted_at: datetime
    deadline: date | None
    overdue: bool
    category: str | None
    monthly_amount_fen: int | None
    household_id: int
    channel: str  # 'imported': taken in from the national system's roster, no workflow

    @property
    def place(self) -> str:
        return self.village_code or self.township_code


async def cases_of_member(db: Db, id_number: str) -> list[CaseOfMember]:
    """Every case whose household holds this ID number, the latest accepted first."""
    return await every(
        db,
        CaseOfMember,
        "select c.case_id, c.assistance_type, c.township_code, t.name as township_name, c.village_code, "
        "v.name as village_name, c.applicant_name, m.relation, m.name as member_name, c.stage, c.status, "
        "c.accepted_at, c.deadline, c.overdue, c.category, "
        "coalesce(r.monthly_amount_fen, c.monthly_amount_fen) as monthly_amount_fen, c.household_id, c.channel "
        "from household_members m join cases c on c.household_id = m.household_id "
        "left join recipients r on r.case_id = c.case_id "
        "join places t on t.code = c.township_code left join places v on v.code = c.village_code "
        "where m.id_number = $1 order by c.accepted_at desc",
        id_number,
    )


@dataclass(frozen=True)
class EmergencyOfPerson:
    event_id: str
    kind: str
    applicant_name: str
    township_code: str
    township_name: str
    village_code: str
    village_name: str
    tier: str
    status: str
    total_fen: int
    registered_at: datetime


async def emergencies_of_person(
    db: Db, id_number: str, id_masked: str, names: list[str], request_nos: list[str]
) -> list[EmergencyOfPerson]:
    """Emergencies registered with this ID number, as the applicant or as a member of the household; those
    registered before whole numbers were kept whose masked number and name (one of `names`) match; and those
    the front door opened for these requests. The latest first."""
    return await every(
        db,
        EmergencyOfPerson,
        "select e.event_id, e.kind, e.applicant_name, e.township_code, t.name as township_name, "
        "e.village_code, v.name as village_name, e.tier, e.status, "
        "e.village_fen + e.township_fen + e.district_fen as total_fen, e.registered_at from emergencies e "
        "join places t on t.code = e.township_code join places v on v.code = e.village_code "
        "where e.applicant_id_number = $4 "
        "or e.event_id in (select m.event_id from emergency_members m where m.id_number = $4) "
        "or (e.applicant_id_number is null and e.applicant_id_masked = $1 and e.applicant_name = any($2::text[])) "
        "or e.event_id in "
        "(select l.payload->>'target' from frontdoor_log l where l.subject_type = 'request' "
        "and l.subject_id = any($3::text[]) and l.kind = 'need_answered') order by e.registered_at desc",
        id_masked,
        names,
        request_nos,
        id_number,
    )
