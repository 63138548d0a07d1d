"""Whom an emergency event waits on (`rules.waiting.event_waits`), since when and by when: since its latest entry
in its log (its registration at first), due when the payment is due (by the hour the policy promises) or the
documents are owed; and, after a form, the page waits until the workflow can say so."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import asyncpg
from temporalio.client import Client

from db import calendar_repo
from infra.clock import BEIJING, today
from rules.emergency_actions import EmergencyAction, EventView
from rules.waiting import Wait, event_waits
from schemas.staff import Actor
from webapp.emergency import service
from webapp.emergency.models import EmergencyDetail
from webapp.waiting import WaitLine, wait_lines

READY_SECONDS = 10.0


async def event_lines(db: asyncpg.Pool, detail: EmergencyDetail, event: EventView) -> list[WaitLine]:
    ev = detail.event
    log = detail.state.log if detail.state else []
    last = max((datetime.fromisoformat(e["at"]) for e in log if e.get("at")), default=ev.registered_at)

    def due(w: Wait) -> date | None:
        if EmergencyAction.APPROVE.value in w.steps and ev.payment_due:
            return ev.payment_due.astimezone(BEIJING).date()
        if EmergencyAction.DOCUMENTS.value in w.steps:
            return ev.documentation_due
        return None

    cal = await calendar_repo.load_calendar(db)
    return await wait_lines(db, cal, event_waits(event), today(), since=lambda w: last, due=due)


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
