"""Who must stay out of a workflow's records (回避): the staff the relatives check keeps away from a review case
(declared near relatives, and users named by a namesake warning until it is settled: `cases.barred_users`, kept by
`rules.progress`) or from an emergency event (its log's `relatives_matched` entries; while it is open, its
workflow's state, which may be ahead of the log). The workflows refuse their actions; the web app refuses them the
whole records a page would mask: the case's documents (webapp/documents) and its decoded Temporal payloads
(webapp/codec)."""

from __future__ import annotations

import asyncpg
from temporalio.client import Client

from db import workflows_repo
from db.workflows_repo import WorkflowPlace
from schemas.emergency import EmergencyNames, EmergencyState
from webapp.errors import ApiError
from webapp.workflow_calls import connected, fresh, query

RECUSED = "您与申请人家庭存在近亲属关系，依规应当回避，不能查看该案的完整资料"
# An open emergency event's barred staff are its workflow's state: when it cannot be asked (no worker, a timeout)
# no one is taken for not barred (fail closed). A closed event's log is complete: no workflow is asked (it may be
# gone past retention).
RECUSAL_UNKNOWN = ApiError(503, "recusal_unknown", "暂时无法核实回避关系，请稍后再试")


async def barred_at(where: WorkflowPlace, temporal: Client | None, workflow_id: str, username: str) -> bool:
    """Whether `username` is kept away from the row `where` of workflow `workflow_id`; 503 `recusal_unknown` when
    that cannot be known now (an emergency event whose workflow does not answer)."""
    if username in where.barred:
        return True
    if where.live:  # an open emergency event: its workflow's state has the last word
        state = await query(connected(temporal), workflow_id, EmergencyState, name=EmergencyNames.STATE)
        if state is None:
            raise fresh(RECUSAL_UNKNOWN)
        return username in state.barred_staff
    return False


async def kept_away(db: asyncpg.Pool, temporal: Client | None, workflow_id: str, username: str) -> bool:
    """Whether `username` is kept away from the records of workflow `workflow_id` (False for one of no row)."""
    where = await workflows_repo.workflow_place(db, workflow_id)
    return where is not None and await barred_at(where, temporal, workflow_id, username)
