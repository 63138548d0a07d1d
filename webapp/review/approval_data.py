"""What goes on the approval form (审核确认表): the case, household and members rows, the event log's payloads
(verification, home visit, neighbour interview, hearing, decision, notice) and, for the declared incomes
that only the application carries, the workflow's start input read from its Temporal history (None when it
cannot be read: past retention, server down; the form says so)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from temporalio.client import Client

from db import policy_repo
from schemas.review import Application, CaseState
from webapp.review.workflow import case_state, started_with


@dataclass
class FormData:
    case: asyncpg.Record
    household: asyncpg.Record | None
    members: list[asyncpg.Record]
    application: Application | None
    events: dict[str, dict[str, Any]]  # the latest event of each kind: after an objection, the redone steps
    objections: list[dict[str, Any]]
    names: dict[str, str]  # user name -> full name
    categories: dict[str, str]  # category code -> name, from the case's policy version


def _as_recorded(rows: list[asyncpg.Record], state: CaseState | None) -> list[dict[str, Any]]:
    """Each logged event with its payload as the workflow recorded it, when the workflow can be asked.

    The event log stores `payload | {"summary": <timeline text>}`, which overwrites the hearing's own
    `summary` (the written record of the review); the workflow's timeline keeps both apart.
    """
    recorded = {e.event_key: e.payload for e in state.timeline} if state else {}
    return [dict(r) | {"payload": recorded.get(r["event_key"], r["payload"])} for r in rows]


async def form_data(db: asyncpg.Pool, temporal: Client | None, case: asyncpg.Record) -> FormData:
    """The case's rows, its event log as the workflow recorded it, and the application as accepted."""
    household = await db.fetchrow(
        "select h.* from households h join cases c on c.household_id = h.id where c.case_id = $1", case["case_id"]
    )
    members = await db.fetch(
        "select m.name, m.id_number, m.relation from household_members m "
        "join cases c on c.household_id = m.household_id where c.case_id = $1 order by m.is_applicant desc, m.id",
        case["case_id"],
    )
    rows = await db.fetch(
        "select event_key, kind, actor, payload, occurred_at from case_events where case_id = $1 "
        "order by occurred_at, id",
        case["case_id"],
    )
    state = await case_state(temporal, case["workflow_id"])
    events = _as_recorded(rows, state)
    usernames = {e["actor"] for e in events if e["actor"]}
    for e in events:
        usernames |= set(e["payload"].get("investigators", [])) | set(e["payload"].get("assistants", []))
    names = {
        r["username"]: r["full_name"]
        for r in await db.fetch(
            "select username, full_name from users where username = any($1::text[])", list(usernames)
        )
    }
    async with db.acquire() as conn:
        policy = await policy_repo.get(conn, case["policy_version"])
    return FormData(
        case=case,
        household=household,
        members=list(members),
        application=start.application if (start := await started_with(temporal, case["workflow_id"])) else None,
        events={e["kind"]: e for e in events},
        objections=[e for e in events if e["kind"] == "objection"],
        names=names,
        categories={c.code: c.name for c in policy.categories},
    )
