"""What goes on the approval form (审核确认表): the case, household and members rows, the event log's payloads
(verification, home visit, neighbour interview, hearing, decision, notice) and, for the declared incomes
that only the application carries, the workflow's start input read from its Temporal history (None when it
cannot be read: past retention, server down; the form says so)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
from temporalio.client import Client

from db import events_repo, households_repo, policy_repo, users_repo
from db.cases_repo import CaseRow
from db.events_repo import LoggedEvent
from db.households_repo import Household, Member
from schemas.review import Application, CaseState
from webapp.review.workflow import case_state, started_with


@dataclass
class FormData:
    case: CaseRow
    household: Household | None
    members: list[Member]  # the applicant first
    application: Application | None
    events: dict[str, dict[str, Any]]  # the latest event of each kind: after an objection, the redone steps
    objections: list[dict[str, Any]]
    names: dict[str, str]  # user name -> full name
    categories: dict[str, str]  # category code -> name, from the case's policy version


def _as_recorded(rows: list[LoggedEvent], state: CaseState | None) -> list[dict[str, Any]]:
    """Each logged event with its payload as the workflow recorded it, when the workflow can be asked.

    The event log stores `payload | {"summary": <timeline text>}`, which overwrites the hearing's own
    `summary` (the written record of the review); the workflow's timeline keeps both apart.
    """
    recorded = {e.event_key: e.payload for e in state.timeline} if state else {}
    return [asdict(r) | {"payload": recorded.get(r.event_key, r.payload)} for r in rows]


async def form_data(db: asyncpg.Pool, temporal: Client | None, case: CaseRow) -> FormData:
    """The case's rows, its event log as the workflow recorded it, and the application as accepted."""
    household = await households_repo.household_of_case(db, case.case_id)
    state = await case_state(temporal, case.workflow_id)
    logged = await events_repo.event_log(db, case.case_id)
    events = _as_recorded(logged, state)
    usernames = {e["actor"] for e in events if e["actor"]}
    for e in events:
        usernames |= set(e["payload"].get("investigators", [])) | set(e["payload"].get("assistants", []))
    names = await users_repo.full_names(db, usernames)
    async with db.acquire() as conn:
        policy = await policy_repo.get(conn, case.policy_version)
    return FormData(
        case=case,
        household=household,
        members=household.members if household else [],
        application=start.application if (start := await started_with(temporal, case.workflow_id)) else None,
        events={e["kind"]: e for e in events},
        objections=[e for e in events if e["kind"] == "objection"],
        names=names,
        categories={c.code: c.name for c in policy.categories},
    )
