"""The task inbox: 待办, the open cases in the user's jurisdiction that wait on the user's role now, and 等待他人,
the others, each with whom it waits on, since when and by when.

Which steps are still open comes from the `cases` table, whose progress columns are kept with the case
event log (`db.case_lists_repo.open_cases_for`), so the inbox needs no Temporal round trip and no log read
per case. Whose turn it is is one rule, `rules.stages.tasks` (the `waits_on` column of the review's action
table), which `rules.waiting` also names whom a case waits on by: in short, the district officer enters the
verification result and makes the district's own home visit after a relatives match; caseworkers and village
cadres make the home visit and the neighbour interview until each is recorded; the caseworker holds the
hearing and records the applicant's materials while the clock is paused; the approver (or the district where
it approves or took the case over) decides; caseworkers and cadres record objections during the notice; the
district officer may take an overdue case over, and then does the township's steps too.

Cases a user must stay out of (relatives match) are left out of that user's inbox.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from db import case_lists_repo, policy_repo
from infra.clock import today
from rules.calendar import working_days_left
from rules.stages import ACTION_LABELS, STAGE_LABELS, Action, ActorView, CaseView, home_visit_by, tasks
from rules.waiting import seat
from schemas.staff import Role
from webapp.deps import Db, PageActor
from webapp.render import refused, render
from webapp.review.common import NEAR_DUE_WORKING_DAYS, load_calendar
from webapp.review.digests import counts, latest_digest
from webapp.review.waiting import case_lines, open_case_view

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# Task codes that are not action names, and the case page form each one leads to.
TASK_ANCHORS = {"waiting_for_applicant": "materials_supplied", "district_home_visit": "home_visit"}


def tasks_for(role: Role, case: dict[str, Any]) -> list[str]:
    """What `role` can do on `case` now (task codes, labelled by the template); empty: not my turn. The open steps
    that wait on the role (`rules.stages.tasks`, the rule `rules.waiting` names whom a case waits on by), asked
    for a person of the role where it sits: the inbox's query has already kept the user's jurisdiction and left
    out the cases the user is barred from."""
    return list(_tasks(open_case_view(case), role.value))


@lru_cache(maxsize=8192)
def _tasks(view: CaseView, role: str) -> tuple[str, ...]:
    """`tasks_for` of a case as the rules see it: a district's inbox holds thousands of cases, but few different
    views (stage, place and progress), so each is worked out once."""
    me = ActorView("", role, seat(role, view.place))
    out = []
    for action in tasks(view, me):
        if action is Action.MATERIALS_SUPPLIED:
            out.append("waiting_for_applicant")
        elif action is Action.HOME_VISIT and home_visit_by(view, me) == "district":
            out.append("district_home_visit")
        else:
            out.append(action.value)
    return tuple(out)


def row_class(item: dict[str, Any]) -> str:
    """Paused cases are the applicant's turn, so their (frozen) deadline gets no colour."""
    if item["paused"]:
        return "paused"
    left = item["days_left"]
    if item["overdue"] or (left is not None and left < 0):
        return "overdue"
    if left is not None and left <= NEAR_DUE_WORKING_DAYS:
        return "near"
    return ""


def _deadline_key(item: dict[str, Any]) -> tuple[date, Any, str]:
    return (item["deadline"] or date.max, item["accepted_at"], item["case_id"])


@router.get("/inbox")
async def inbox(
    request: Request, actor: PageActor, db: Db, page: int = Query(1, ge=1), view: str = Query("todo")
) -> Response:
    """All open cases of the jurisdiction are read and filtered here: a county has a few thousand at most. 待办
    (`view=todo`) are those that wait on the user's role; 等待他人 (`view=waiting`) the others, with whom they
    wait on (rules/waiting.py)."""
    if denied := refused(request, actor, "case.inbox"):
        return denied
    rows = await case_lists_repo.open_cases_for(db, actor.place_code, actor.username)
    policies = await policy_repo.of_versions(db, {r.policy_version for r in rows})
    cal = await load_calendar(db)
    now = today()
    waiting_view = view == "waiting"
    todo, others = [], []
    for row in rows:
        case = asdict(row)
        # only a decision needs to know where it is taken
        level = (
            policies[row.policy_version].review.approval_level(row.township_code) if row.stage == "decision" else None
        )
        case["approval_level"] = level
        case["view"] = seen = open_case_view(case)
        if todo_here := _tasks(seen, actor.role.value):
            case["tasks"] = list(todo_here)
            todo.append(case)
        else:
            others.append(case)
    items = others if waiting_view else todo
    items.sort(key=_deadline_key)
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(page, pages)
    shown = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    details = await case_lists_repo.case_headings(db, [i["case_id"] for i in shown])
    for item in shown:  # names and working days for the rows on the page only
        item.update(asdict(details[item["case_id"]]))
        item["days_left"] = working_days_left(cal, now, item["deadline"]) if item["deadline"] else None
        item["row_class"] = row_class(item)
    if waiting_view:
        views = [
            (i["case_id"], i["view"], i["accepted_at"], i["deadline"], policies[i["policy_version"]]) for i in shown
        ]
        lines = await case_lines(db, cal, views, now)
        for item in shown:
            item["waiting"] = lines[item["case_id"]]
    digest = await latest_digest(db, actor)
    context = {
        "digest": digest,
        "digest_counts": counts(digest),
        "items": shown,
        "total": len(items),
        "todo_total": len(todo),
        "waiting_total": len(others),
        "view": "waiting" if waiting_view else "todo",
        "page": page,
        "pages": pages,
        "today": now,
        "near_days": NEAR_DUE_WORKING_DAYS,
        "stage_labels": STAGE_LABELS,
        "action_labels": ACTION_LABELS,
        "task_anchor": TASK_ANCHORS,
    }
    return render(request, "caseworker/inbox.html", context, actor=actor)
