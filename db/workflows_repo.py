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
    # the staff its relatives check keeps away: a case's `cases.barred_users`; an emergency event's, as its log's
    # `relatives_matched` entries name them
    barred: tuple[str, ...] = ()
    live: bool = False  # an open emergency event: its workflow's state may bar more than its log says yet


_PLACE_SQL = """
select coalesce(village_code, township_code) as place, null::text as about_person, 'case' as kind, barred_users,
       false as live
  from cases where workflow_id = $1
union all select village_code, null, 'emergency', array(
    select distinct m->>'username' from emergency_log l cross join lateral jsonb_array_elements(l.payload->'barred') m
     where l.event_id = e.event_id and l.kind = 'relatives_matched'), status = 'open'
  from emergencies e where workflow_id = $1
union all select coalesce(village_code, township_code), null, 'request', null, false
  from frontdoor_requests where workflow_id = $1
union all select township_code, null, 'referral', null, false from referrals where workflow_id = $1
union all select unit_code, about_person, 'complaint', null, false from complaints where workflow_id = $1
union all select township_code, null, 'recheck', null, false from rechecks where workflow_id = $1
union all select township_code, null, 'payroll', null, false from payrolls where workflow_id = $1
union all select coalesce(village_code, township_code), null, 'case', barred_users, false from cases where case_id = $2
limit 1
"""


async def workflow_place(db: Db, workflow_id: str) -> WorkflowPlace | None:
    """Where the row of workflow `workflow_id` lies; None for a workflow of no one place."""
    case_id = workflow_id.removeprefix(ONGOING_PREFIX) if workflow_id.startswith(ONGOING_PREFIX) else None
    row = await db.fetchrow(_PLACE_SQL, workflow_id, case_id)
    if row is None:
        return None
    return WorkflowPlace(row["place"], row["about_person"], row["kind"], tuple(row["barred_users"] or ()), row["live"])
