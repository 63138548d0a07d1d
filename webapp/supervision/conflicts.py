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

from db import events_repo, relatives_repo
from rules.stages import ACTION_LABELS, STAGE_LABELS
from webapp.deps import Db, PageActor
from webapp.supervision.common import page, refused

router = APIRouter(include_in_schema=False)

# Actions refused outside the case workflow (supervision pages), next to the case actions' own labels.
ACTION_NAMES = {a.value: label for a, label in ACTION_LABELS.items()} | {
    "ongoing_review": "动态管理复核",  # refused before propose/decide
    "ongoing_propose": "动态管理：提出复核意见",
    "ongoing_decide": "动态管理：审批复核意见",
    "recheck": "抽查复核",
    "correction_close": "抽查复核纠错办结",
}
REFUSED_LIMIT = 500


@router.get("/supervision/conflicts")
async def conflicts(request: Request, actor: PageActor, db: Db) -> Response:
    if denied := refused(request, actor, "conflicts"):
        return denied
    context = {
        "section": "conflicts",
        "cases": await events_repo.matched_cases(db, actor.place_code),
        "attempts": await events_repo.refused_within(db, actor.place_code, REFUSED_LIMIT),
        "withdrawn": await relatives_repo.withdrawn_within(db, actor.place_code, REFUSED_LIMIT),
        "limit": REFUSED_LIMIT,
        "action_names": ACTION_NAMES,
        "stage_labels": STAGE_LABELS,
    }
    return page(request, "supervision/conflicts.html", context, actor)
