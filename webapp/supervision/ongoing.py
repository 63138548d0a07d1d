"""The ongoing review's actions (rules/ongoing_actions.py: a caseworker proposes, an approver decides), one
`perform` for the reviews page and the API, so they refuse alike: the household must be in the caller's
jurisdiction, and the household's review workflow has the last word (role, level, recusal, own proposal). A
refusal for recusal is kept for the district's conflicts page, as on a case."""

from __future__ import annotations

import asyncpg
import structlog
from pydantic import BaseModel
from temporalio.client import Client

from db import recipients_repo
from rules.actions import ActorView
from rules.ongoing_actions import ACTIONS, Level, OngoingAction, ReviewView, available_actions
from schemas.staff import Actor
from schemas.supervision import OngoingState, SupervisionNames, ongoing_workflow_id
from webapp.errors import ApiError, not_found
from webapp.review.actions import log_refused
from webapp.supervision.common import ENDED, SLOW
from webapp.workflow_calls import connected, query, update

log = structlog.get_logger("webapp")

NOT_HERE = "该保障对象不在您的辖区内"


def refused_action(action: OngoingAction) -> str:
    """The name a refused attempt is kept under (`refused_actions.action`)."""
    return f"ongoing_{action.value}"


async def state(client: Client | None, case_id: str) -> OngoingState | None:
    """The review's state; None when not started yet (the daily run starts it) or the server cannot answer now."""
    if client is None:
        return None
    return await query(client, ongoing_workflow_id(case_id), OngoingState, name=SupervisionNames.STATE)


def forms(s: OngoingState | None, township_code: str, actor: Actor) -> list[OngoingAction]:
    """The actions the reviews page offers `actor` on a review in state `s` (the workflow's own rules, less the
    relatives it alone knows)."""
    if s is None:
        return []
    view = ReviewView(
        status=s.status,
        place=township_code,
        due_on=str(s.due_on),
        level=Level(s.level),
        proposer=s.proposal.actor.username if s.proposal else None,
    )
    return available_actions(view, ActorView.of(actor))


async def perform(
    db: asyncpg.Pool, temporal: Client | None, case_id: str, actor: Actor, action: OngoingAction, payload: BaseModel
) -> OngoingState | None:
    """Take `action` on the household's current review; its state after it (None when the review closed at once
    and the server no longer had the answer: the outcome was applied, as the register shows)."""
    if not await recipients_repo.is_within(db, case_id, actor.place_code):
        raise not_found(NOT_HERE)
    spec = ACTIONS[action]
    try:
        return await update(
            connected(temporal),
            ongoing_workflow_id(case_id),
            spec.update,
            payload,
            result_type=OngoingState,
            closed=ENDED,
            slow=SLOW,
            applied=lambda: recipients_repo.review_decided(db, case_id, actor.username),
        )
    except ApiError as refused:
        if refused.code == "recused":
            await log_refused(db, case_id, actor.username, refused_action(action), refused)
        log.info("ongoing action refused", by=actor.username, code=refused.code, case_id=case_id, action=action)
        raise
