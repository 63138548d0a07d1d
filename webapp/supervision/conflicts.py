"""Conflicts of interest (`/supervision/conflicts`, district roles): every case with a relatives match,
who was barred, whether the district made its own home visit, and every refused attempt by a related
person to act (the `refused_actions` table; a refused update leaves nothing in the workflow history).

A case closed without the district's home visit is flagged: the rule says the district must visit.

Withdrawn entries of the relatives register are listed too, with the cases of that person accepted after
the withdrawal: an entry withdrawn just before a relative applies escapes the relatives check, so that is
what the audit has to see.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rules.stages import ACTION_LABELS, STAGE_LABELS
from webapp.deps import Db, PageActor
from webapp.supervision.common import page, refused

router = APIRouter(include_in_schema=False)

# Actions refused outside the case workflow (supervision pages), next to the case actions' own labels.
ACTION_NAMES = {a.value: label for a, label in ACTION_LABELS.items()} | {
    "ongoing_review": "动态管理复核",
    "recheck": "抽查复核",
}
REFUSED_LIMIT = 500

_MATCHED = """
select c.case_id, c.applicant_name, t.name as township_name, c.stage, c.status, c.accepted_at,
       m.barred, m.occurred_at as matched_at,
       v.occurred_at as visit_at, coalesce(vu.full_name, v.actor) as visit_by,
       (select count(*) from refused_actions a where a.case_id = c.case_id) as refused
from cases c
join places t on t.code = c.township_code
left join lateral (  -- every staff member barred: by the check at acceptance, or a namesake confirmed later
    select jsonb_agg(b order by e.occurred_at, e.id) as barred, min(e.occurred_at) as occurred_at
    from case_events e cross join jsonb_array_elements(e.payload->'barred') b
    where e.case_id = c.case_id and e.kind = 'relatives_matched'
) m on true
left join lateral (
    select occurred_at, actor from case_events
    where case_id = c.case_id and kind = 'home_visit' and (payload->>'by_district')::boolean
    order by occurred_at, id limit 1
) v on true
left join users vu on vu.username = v.actor
where c.relatives_match and starts_with(c.township_code, $1)
order by (v.occurred_at is null and c.status <> 'open') desc, c.accepted_at desc
"""
_REFUSED = f"""
select a.case_id, a.username, coalesce(u.full_name, a.username) as full_name, a.action, a.code, a.message, a.at,
       c.applicant_name, t.name as township_name
from refused_actions a
join cases c on c.case_id = a.case_id
join places t on t.code = c.township_code
left join users u on u.username = a.username
where starts_with(c.township_code, $1)
order by a.at desc limit {REFUSED_LIMIT}
"""
_WITHDRAWN = f"""
select u.full_name, u.username, p.name as place_name, r.relative_name, r.relative_id_number, r.relation,
       r.created_at, r.removed_at, coalesce(rb.full_name, r.removed_by) as removed_by,
       array(select c.case_id from household_members m join cases c on c.household_id = m.household_id
             where m.id_number = r.relative_id_number and c.accepted_at > r.removed_at
               and starts_with(c.township_code, $1)
             order by c.accepted_at) as later_cases
from staff_relatives r
join users u on u.id = r.user_id
join places p on p.code = u.place_code
left join users rb on rb.username = r.removed_by
where r.removed_at is not null and starts_with(u.place_code, $1)
order by r.removed_at desc limit {REFUSED_LIMIT}
"""


@router.get("/supervision/conflicts")
async def conflicts(request: Request, actor: PageActor, db: Db) -> Response:
    if denied := refused(request, actor, "conflicts"):
        return denied
    context = {
        "section": "conflicts",
        "cases": await db.fetch(_MATCHED, actor.place_code),
        "attempts": await db.fetch(_REFUSED, actor.place_code),
        "withdrawn": await db.fetch(_WITHDRAWN, actor.place_code),
        "limit": REFUSED_LIMIT,
        "action_names": ACTION_NAMES,
        "stage_labels": STAGE_LABELS,
    }
    return page(request, "supervision/conflicts.html", context, actor)
