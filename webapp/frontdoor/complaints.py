"""Complaints: registered by staff (or filed by the intake), handled by the township concerned or the district,
never shown to (or handled by) the person complained about."""

from __future__ import annotations

import asyncio

import asyncpg
import structlog
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from db import frontdoor_repo
from rules.access import DISTRICT_CODE, within
from rules.actions import ActorView
from rules.frontdoor_actions import COMPLAINT_ACTIONS, ComplaintAction, ComplaintView, available_complaint_actions
from schemas.frontdoor import COMPLAINT_PAYLOADS, ComplaintNames, ComplaintStart, ComplaintState, complaint_workflow_id
from schemas.identity import mask_phone
from schemas.staff import Actor
from webapp import authz
from webapp.errors import forbidden
from webapp.frontdoor.models import ComplaintCreated, ComplaintDetail, ComplaintIn, ComplaintList, ComplaintSummary
from webapp.frontdoor.rows import (
    case_complained_of,
    check_places,
    complaint_row,
    complaint_summary,
    district_reason,
    new_complaint_no,
    reader,
    sees_complainant,
)
from webapp.frontdoor.subjects import Subject, history
from webapp.workflow_calls import connected, start_fresh

log = structlog.get_logger("webapp")

COMPLAINTS = Subject("complaint", "complaint_no", complaint_row, ComplaintState, COMPLAINT_ACTIONS, COMPLAINT_PAYLOADS)


async def register_complaint(
    db: asyncpg.Pool, temporal: Client | None, body: ComplaintIn, actor: Actor
) -> ComplaintCreated:
    """Assigned to the township concerned, or to the district (to_district, e.g. about the township's leaders, or
    naming a person whom no user matches: webapp.frontdoor.rows.district_reason); the workflow makes sure the
    person complained about never handles it."""
    authz.require(actor, "complaint.register")
    if not within(actor.place_code, body.township_code):
        raise forbidden("只能登记本乡镇（街道）的投诉", "out_of_jurisdiction")
    await check_places(db, body.township_code, None)
    case_id = await case_complained_of(db, body.about_case_id, body.township_code)
    reason = await district_reason(db, body.about_person, body.to_district)
    unit = DISTRICT_CODE if reason else body.township_code
    complaint_no = await start_fresh(
        connected(temporal),
        ComplaintNames.WORKFLOW,
        new_complaint_no,
        lambda no: ComplaintStart(
            complaint_no=no,
            request_no=None,
            complainant=body.complainant,
            phone=body.phone,
            township_code=body.township_code,
            about_case_id=case_id,
            about_person=body.about_person or None,
            content=body.content,
            unit_code=unit,
            registered_by=actor,
            district_reason=reason,
        ),
        complaint_workflow_id,
    )
    with bound_contextvars(complaint_no=complaint_no):
        log.info("complaint registered", by=actor.username)
    for _ in range(50):
        row = await frontdoor_repo.complaint(db, complaint_no)
        if row is not None and row.accept_due is not None:
            return ComplaintCreated(
                complaint_no=row.complaint_no,
                unit_code=row.unit_code,
                accept_due=row.accept_due,
                conclude_due=row.conclude_due,
            )
        await asyncio.sleep(0.1)
    # Registered (its workflow started) but not yet recorded: the number stands. Answered 202, an answer the
    # Idempotency-Key keeps, so a retry gets this number again instead of registering the complaint twice.
    log.warning("complaint registered, not yet recorded", complaint_no=complaint_no)
    return ComplaintCreated(complaint_no=complaint_no, unit_code=unit, accept_due=None, conclude_due=None)


async def list_complaints(
    db: asyncpg.Pool, actor: Actor, status: str | None = "open", unit: str | None = None, limit: int = 200
) -> ComplaintList:
    """Complaints the caller's unit handles, never those about the caller (left out in SQL, so neither listed nor
    counted); the nearest deadline first."""
    authz.require(actor, "complaint.read")
    selected = frontdoor_repo.ComplaintFilter(actor.place_code, status, unit, reader(actor))
    items = [complaint_summary(r, actor) for r in await frontdoor_repo.complaints(db, selected)]
    return ComplaintList(items=items[:limit], total=len(items))


async def complaint_detail(
    db: asyncpg.Pool, temporal: Client | None, complaint_no: str, actor: Actor
) -> ComplaintDetail:
    """The complaint (404 for those it is about); its complainant's phone whole for its handlers only."""
    row = await complaint_row(db, complaint_no, actor)
    return ComplaintDetail(
        complaint=complaint_summary(row, actor),
        phone=row.phone if sees_complainant(actor, row) else mask_phone(row.phone),
        content=row.content,
        reply=row.reply,
        **await history(db, temporal, COMPLAINTS, row),
    )


def actions_for(complaint: ComplaintSummary, actor: Actor) -> list[ComplaintAction]:
    """The actions `actor` may take on the complaint now, by the rules its workflow's validators apply."""
    view = ComplaintView(complaint.status, complaint.unit_code, complaint.about_person)
    return available_complaint_actions(view, ActorView.of(actor))
