"""Which row a Temporal workflow belongs to, by its id, where that row lies and who is kept away from it: the
jurisdiction and the recusal the web app's codec endpoint checks before it decrypts a workflow's payloads for the
Temporal Web UI (webapp/codec/api.py), and documents check before they are shown (webapp/recusal.py).

Every workflow that carries personal data keeps its id on its row (`workflow_id`, unique): the review case,
the emergency event, the front-door request, referral and complaint, the re-check, a township's payroll (which
carries no personal data, only its township's totals); a household's ongoing review
(`ongoing-<case id>`) lies where its case does. Workflows of no one place (the daily digest, the monthly sample
and fund declaration, a workflow whose row is not written yet) have none: only the district reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from db.pool import Db

ONGOING_PREFIX = "ongoing-"  # schemas.supervision.ongoing_workflow_id


@dataclass(frozen=True)
class WorkflowPlace:
    place: str  # the row's most precise place: village, else township; a complaint's handling unit
    about_person: str | None = None  # a complaint's subject, who must not read it
    kind: str = "case"  # whose row: case, emergency, request, referral, complaint, recheck, payroll
    barred: tuple[str, ...] = ()  # a case's: the staff its relatives check keeps away (`cases.barred_users`)


_PLACE_SQL = """
select coalesce(village_code, township_code) as place, null::text as about_person, 'case' as kind, barred_users
  from cases where workflow_id = $1
union all select village_code, null, 'emergency', null from emergencies where workflow_id = $1
union all select coalesce(village_code, township_code), null, 'request', null
  from frontdoor_requests where workflow_id = $1
union all select township_code, null, 'referral', null from referrals where workflow_id = $1
union all select unit_code, about_person, 'complaint', null from complaints where workflow_id = $1
union all select township_code, null, 'recheck', null from rechecks where workflow_id = $1
union all select township_code, null, 'payroll', null from payrolls where workflow_id = $1
union all select coalesce(village_code, township_code), null, 'case', barred_users from cases where case_id = $2
limit 1
"""


async def workflow_place(db: Db, workflow_id: str) -> WorkflowPlace | None:
    """Where the row of workflow `workflow_id` lies; None for a workflow of no one place."""
    case_id = workflow_id.removeprefix(ONGOING_PREFIX) if workflow_id.startswith(ONGOING_PREFIX) else None
    row = await db.fetchrow(_PLACE_SQL, workflow_id, case_id)
    if row is None:
        return None
    return WorkflowPlace(row["place"], row["about_person"], row["kind"], tuple(row["barred_users"] or ()))
