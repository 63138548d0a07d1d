"""Whom an emergency event waits on (`rules.waiting.event_waits`), since when and by when: since its latest entry
in its log (its registration at first), due when the payment is due (by the hour the policy promises) or the
documents are owed; and, after a form, the page waits until the workflow can say so. The events' list says the
same for every row from the rows, their payments and their logs (`emergency_repo.waiting_facts`), in a few
queries and without asking any workflow."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from functools import partial

import asyncpg
from temporalio.client import Client

from db import calendar_repo, emergency_repo, places_repo, policy_repo
from infra.clock import BEIJING, today
from rules.caps import Caps, Tier
from rules.emergency_actions import EmergencyAction, EventView
from rules.waiting import Wait, event_waits
from schemas.emergency import EmergencyRecord
from schemas.staff import Actor
from webapp.emergency import service
from webapp.emergency.models import EmergencyDetail
from webapp.waiting import WaitLine, people, wait_lines

READY_SECONDS = 10.0


def _due(ev: EmergencyRecord, w: Wait) -> date | None:
    """When the step awaited is due: the payment by the hour promised, the documents by their day."""
    if EmergencyAction.APPROVE.value in w.steps and ev.payment_due:
        return ev.payment_due.astimezone(BEIJING).date()
    if EmergencyAction.DOCUMENTS.value in w.steps:
        return ev.documentation_due
    return None


async def event_lines(db: asyncpg.Pool, detail: EmergencyDetail, event: EventView) -> list[WaitLine]:
    ev = detail.event
    log = detail.state.log if detail.state else []
    last = max((datetime.fromisoformat(e["at"]) for e in log if e.get("at")), default=ev.registered_at)
    cal = await calendar_repo.load_calendar(db)
    return await wait_lines(db, cal, event_waits(event), today(), since=lambda w: last, due=partial(_due, ev))


def _row_view(ev: EmergencyRecord, facts: emergency_repo.WaitingFacts, caps: Caps | None) -> EventView:
    """The event as `rules.waiting.event_waits` needs it, from its row and `facts` (what it paid matters only to
    escalating, which no one is waited on for, and is left out)."""
    return EventView(
        status=ev.status,
        tier=Tier(ev.tier),
        place=ev.village_code,
        caps=caps,
        paid=facts.paid,
        documents_done=ev.documents_done,
        paying=facts.paying,
        path=ev.path,
        repeat_pending=facts.repeat_pending,
        namesakes_pending=facts.namesakes_pending,
    )


async def list_lines(db: asyncpg.Pool, events: list[EmergencyRecord]) -> dict[str, list[WaitLine]]:
    """Whom each open event of a list waits on, by event id (closed events: none)."""
    rows = [ev for ev in events if ev.status == "open"]
    facts = await emergency_repo.waiting_facts(db, [ev.event_id for ev in rows])
    policies = await policy_repo.of_versions(db, {f.policy_version for f in facts.values() if f.policy_version})
    caps = {v: Caps.of(p.emergency) for v, p in policies.items()}
    waits = {
        ev.event_id: event_waits(_row_view(ev, f, caps.get(f.policy_version or 0)))
        for ev in rows
        if (f := facts.get(ev.event_id))
    }
    cal = await calendar_repo.load_calendar(db)
    names = await places_repo.names(db)
    named = await people(db, [w for ws in waits.values() for w in ws])
    out: dict[str, list[WaitLine]] = {}
    for ev in rows:
        if ev.event_id not in waits:
            continue
        last = facts[ev.event_id].last_at or ev.registered_at
        out[ev.event_id] = await wait_lines(
            db,
            cal,
            waits[ev.event_id],
            today(),
            since=lambda w, last=last: last,
            due=partial(_due, ev),
            names=names,
            named=named,
        )
    return out


async def settled(db: asyncpg.Pool, temporal: Client | None, event_id: str, actor: Actor) -> None:
    """Wait (a few seconds at most) until the event's workflow has read its caps and no payment is in flight, so that
    the page after a form (the registration, a payment) shows the new state and offers the next step at once."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + READY_SECONDS
    while loop.time() < give_up:
        detail = await service.event_detail(db, temporal, event_id, actor)
        policy = await service.caps_policy(db, event_id) if detail.state is not None else None
        view = service.event_view(detail, policy)
        if view.caps is not None and not view.paying:
            return
        await asyncio.sleep(0.1)
