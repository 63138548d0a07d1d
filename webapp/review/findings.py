"""What the case page shows of the case's story: every finding recorded (the data check, home visits, neighbour
interviews, 民主评议 or hearings, objections, the decision), with who recorded it, who investigated and assisted,
who signed and who took part, by their names, not their logins. The timeline's texts name the investigators as
they were recorded (their user names); they are shown with the users' full names instead."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db import users_repo
from db.events_repo import LoggedEvent
from db.pool import Db
from rules.stages import Action
from schemas.review import CaseState
from webapp.review.common import beijing

# The steps whose findings the page shows, in the order of the log.
KINDS = frozenset(
    {Action.VERIFICATION_RESULT, Action.HOME_VISIT, Action.NEIGHBOUR_INTERVIEW, Action.HEARING, Action.OBJECTION}
    | {Action.DECISION, Action.REFUSAL_DELIVERED, Action.MISSING_MATERIALS, Action.TAKE_OVER, Action.EXTEND_DEADLINE}
)
_STAFF_FIELDS = ("investigators", "assistants")


@dataclass(frozen=True)
class Finding:
    kind: str
    at: datetime  # Beijing time
    by: str  # who recorded it, by name
    payload: dict[str, Any]  # as the workflow recorded it
    staff: dict[str, list[str]]  # investigators, assistants: by name


def _recorded(events: list[LoggedEvent], state: CaseState | None) -> dict[str, dict[str, Any]]:
    """Each event's payload as the workflow recorded it where it can be asked (the log's copy otherwise)."""
    by_key = {e.event_key: e.payload for e in state.timeline} if state else {}
    return {e.event_key: by_key.get(e.event_key, e.payload) for e in events}


async def staff_names(db: Db, events: list[LoggedEvent]) -> dict[str, str]:
    """The full names of every user the log names: who acted, investigated or assisted."""
    usernames = {e.actor for e in events if e.actor}
    for e in events:
        for f in _STAFF_FIELDS:
            usernames |= set(e.payload.get(f) or [])
    return await users_repo.full_names(db, usernames)


def findings(events: list[LoggedEvent], state: CaseState | None, names: dict[str, str]) -> list[Finding]:
    recorded = _recorded(events, state)
    return [
        Finding(
            kind=e.kind,
            at=beijing(e.occurred_at),
            by=e.actor_name or names.get(e.actor or "", e.actor or ""),
            payload=recorded[e.event_key],
            staff={f: [names.get(u, u) for u in recorded[e.event_key].get(f) or []] for f in _STAFF_FIELDS},
        )
        for e in events
        if e.kind in KINDS
    ]


def with_names(text: str, event: LoggedEvent, names: dict[str, str]) -> str:
    """A timeline text with the users it names by login (a home visit's team) named by their full names."""
    logins = [u for f in _STAFF_FIELDS for u in event.payload.get(f) or [] if u in names]
    if not logins:
        return text
    pattern = re.compile("|".join(re.escape(u) for u in sorted(logins, key=len, reverse=True)))
    return pattern.sub(lambda m: names[m[0]], text)
