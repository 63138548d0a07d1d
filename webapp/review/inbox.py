"""The task inbox (我的待办): open cases in the user's jurisdiction that wait on the user's role now.

Which steps are still open comes from the `cases` table, whose progress columns are kept with the case
event log (`db.case_lists_repo.open_cases_for`), so the inbox needs no Temporal round trip and no log read
per case.
Rules, per stage:

- paused for missing materials: only the township caseworker's (waiting on the applicant, then
  record resumption); nothing else can be done meanwhile except the verification result;
- investigation: the district officer enters the verification result while the request is open and
  does the district's own home visit after a relatives match; caseworkers and village cadres do the
  home visit and the neighbour interview until each is recorded (again after a "reinvestigate" objection);
- hearing: the township caseworker;
- decision: the township approver, or the district officer where policy keeps approval at the
  district or the district took the case over;
- public notice: caseworkers and village cadres, who record objections;
- overdue and not taken over: the district officer, who may take it over. After a take-over the
  district officer also gets the township's steps.

Cases a user must stay out of (relatives match) are left out of that user's inbox.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from db import case_lists_repo, policy_repo
from infra.clock import today
from rules.stages import STAGE_LABELS
from schemas.staff import Role
from webapp.deps import Db, PageActor
from webapp.render import refused, render
from webapp.review.common import NEAR_DUE_WORKING_DAYS, load_calendar, working_days_left
from webapp.review.digests import counts, latest_digest
from webapp.review.waiting import case_lines, open_case_view

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
# Task codes that are not action names, and the case page form each one leads to.
TASK_ANCHORS = {"waiting_for_applicant": "materials_supplied", "district_home_visit": "home_visit"}


def tasks_for(role: Role, case: dict[str, Any]) -> list[str]:
    """What `role` can do on `case` now (task codes, labelled by the template); empty: not my turn."""
    district_handles = case["handled_by"] == "district"
    officer = role is Role.DISTRICT_OFFICER
    township_work = role is Role.TOWNSHIP_CASEWORKER or (officer and district_handles)
    field_work = township_work or role is Role.VILLAGE_CADRE
    verification = ["verification_result"] if officer and case["verification_open"] else []
    if case["paused"]:
        return (["waiting_for_applicant"] if township_work else []) + verification
    out: list[str] = []
    stage = case["stage"]
    if stage == "investigation":
        out += verification
        if field_work and not case["home_visit_done"]:
            out.append("home_visit")
        if field_work and not case["neighbour_done"]:
            out.append("neighbour_interview")
        if officer and case["relatives_match"] and not case["district_visit_done"] and "home_visit" not in out:
            out.append("district_home_visit")
    elif stage == "hearing" and township_work:
        out.append("hearing")
    elif stage == "decision":
        at_district = district_handles or case["approval_level"] == "district"
        if role is (Role.DISTRICT_OFFICER if at_district else Role.TOWNSHIP_APPROVER):
            out.append("decision")
    elif stage == "public_notice" and role in (Role.TOWNSHIP_CASEWORKER, Role.VILLAGE_CADRE):
        out.append("objection")
    if officer and case["overdue"] and not district_handles:
        out.append("take_over")
    return out


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
    todo, others = [], []
    for row in rows:
        case = asdict(row)
        # only a decision needs to know where it is taken
        level = (
            policies[row.policy_version].review.approval_level(row.township_code) if row.stage == "decision" else None
        )
        case["approval_level"] = level
        case["view"] = open_case_view(row, level)
        if tasks := tasks_for(actor.role, case):
            case["tasks"] = tasks
            todo.append(case)
        else:
            others.append(case)
    waiting_view = view == "waiting"
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
        "task_anchor": TASK_ANCHORS,
    }
    return render(request, "caseworker/inbox.html", context, actor=actor)
