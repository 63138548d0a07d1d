"""公示: the cases in their public notice, as the printed notice and the portal's public list show them.

What is published is the applicant's name and ID number masked (`schemas.identity`), the village, the kind of
assistance, the category and monthly amount the decision granted, the household's size and the notice
period; never an address, a phone number or a full ID number. The amount and category come from the
latest decision (the case row has them only from enrolment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from db.pool import Db
from db.typed import every, one


@dataclass(frozen=True)
class PublicNotice:
    case_id: str
    assistance_type: str
    township_code: str
    township_name: str
    village_name: str | None
    applicant_name: str  # the whole name: the reader masks it where it is published
    applicant_id_masked: str
    people: int
    category: str | None
    monthly_amount: Decimal | None
    notice_started_at: datetime
    notice_ends_at: datetime


_NOTICES = """
select c.case_id, c.assistance_type, c.township_code, t.name as township_name, v.name as village_name,
       c.applicant_name, c.applicant_id_masked,
       (select count(*) from household_members m where m.household_id = c.household_id)::int as people,
       d.payload->>'category' as category,
       coalesce(d.payload->>'monthly_amount', d.payload->>'proposed_amount')::numeric as monthly_amount,
       c.notice_started_at, c.notice_ends_at
from cases c
join places t on t.code = c.township_code
left join places v on v.code = c.village_code
left join lateral (select e.payload from case_events e where e.case_id = c.case_id and e.kind = 'decision'
                   order by e.id desc limit 1) d on true
where c.stage = 'public_notice' and c.notice_ends_at is not null
"""


async def notice_of_case(db: Db, case_id: str) -> PublicNotice | None:
    """The case's current notice; None if it is not in public notice."""
    return await one(db, PublicNotice, _NOTICES + "and c.case_id = $1", case_id)


async def notices_in_force(db: Db, township_code: str, at: datetime) -> list[PublicNotice]:
    """The township's notices running at `at` (started, not yet ended), by village and start."""
    return await every(
        db,
        PublicNotice,
        _NOTICES + "and c.township_code = $1 and c.notice_started_at <= $2 and c.notice_ends_at > $2 "
        "order by v.name nulls first, c.notice_started_at, c.case_id",
        township_code,
        at,
    )
