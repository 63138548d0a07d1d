"""What the web app reads of a case's history: its event log (`case_events`, written through
`cases_repo.append_events`), the staff its relatives check barred, and the attempts to act that were refused
(`refused_actions`: a refused update leaves nothing in the workflow's history, so the web app keeps them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db.pool import Db
from db.typed import every

RELATIVES_MATCHED = "relatives_matched"
RELATIVES_NAMESAKE = "relatives_namesake"
RELATIVES_DECLARED = "relatives_declared"
NAMESAKE_DISMISSED = "namesake_dismissed"


@dataclass(frozen=True)
class LoggedEvent:
    id: int
    event_key: str
    kind: str
    stage: str | None
    actor: str | None  # a user name
    actor_role: str | None
    actor_name: str | None  # the actor's full name, while they are a user
    payload: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime

    @property
    def summary(self) -> str | None:
        """The event in words, as the timeline shows it."""
        return self.payload.get("summary")

    @property
    def by_district(self) -> bool:
        """A home visit made by the district itself."""
        return bool(self.payload.get("by_district"))


async def event_log(db: Db, case_id: str) -> list[LoggedEvent]:
    """The case's events in the order they happened."""
    return await every(
        db,
        LoggedEvent,
        "select e.id, e.event_key, e.kind, e.stage, e.actor, e.actor_role, u.full_name as actor_name, e.payload, "
        "e.occurred_at, e.recorded_at from case_events e left join users u on u.username = e.actor "
        "where e.case_id = $1 order by e.occurred_at, e.id",
        case_id,
    )


def barred_staff(events: list[LoggedEvent]) -> list[dict[str, str]]:
    """The staff the relatives check barred from the case ({username, full_name, reason}), from its log."""
    return [b for e in events if e.kind == RELATIVES_MATCHED for b in e.payload.get("barred", [])]


def namesake_warnings(events: list[LoggedEvent]) -> list[dict[str, Any]]:
    """The namesake warnings of the relatives check (同名提示), each with how it was settled, from its log."""
    settled = {e.payload["namesake"]: "same_person" for e in events if e.payload.get("namesake")}
    settled |= {e.payload["username"]: "not_same_person" for e in events if e.kind == NAMESAKE_DISMISSED}
    return [
        n | {"resolution": settled.get(n["username"], "pending")}
        for e in events
        if e.kind == RELATIVES_NAMESAKE
        for n in e.payload.get("namesakes", [])
    ]


def filed_relatives(events: list[LoggedEvent]) -> list[dict[str, str]]:
    """Declared relatives without an account (近亲属备案), their ID numbers masked, from the case's log."""
    return [d for e in events if e.kind == RELATIVES_DECLARED for d in e.payload.get("declared", [])]


async def is_barred(db: Db, case_id: str, username: str) -> bool:
    """Whether the relatives check named `username` among the staff who must stay out of the case."""
    return await db.fetchval(
        "select exists(select 1 from case_events where case_id = $1 and kind = $3 "
        "and payload->'barred' @> jsonb_build_array(jsonb_build_object('username', $2::text)))",
        case_id,
        username,
        RELATIVES_MATCHED,
    )


async def barred_on_case(db: Db, case_id: str) -> list[dict[str, str]]:
    """The staff the case's relatives check barred ({username, full_name, reason}), from its log."""
    rows = await db.fetch(
        "select b from case_events e, jsonb_array_elements(e.payload->'barred') b "
        "where e.case_id = $1 and e.kind = $2 order by e.id",
        case_id,
        RELATIVES_MATCHED,
    )
    return [r["b"] for r in rows]


# ---- refused attempts -----------------------------------------------------------------------------------


async def log_refused(db: Db, case_id: str, username: str, action: str, code: str, message: str) -> None:
    """Keep an attempt to act on a case that was refused (recusal), with the refusal's code and words."""
    await db.execute(
        "insert into refused_actions (case_id, username, action, code, message) values ($1, $2, $3, $4, $5)",
        case_id,
        username,
        action,
        code,
        message,
    )


@dataclass(frozen=True)
class RefusedAttempt:
    case_id: str
    username: str
    full_name: str  # the user name where the user is gone
    action: str
    code: str
    message: str
    at: datetime
    applicant_name: str
    township_name: str


_REFUSED = """
select a.case_id, a.username, coalesce(u.full_name, a.username) as full_name, a.action, a.code, a.message, a.at,
       c.applicant_name, t.name as township_name
from refused_actions a
join cases c on c.case_id = a.case_id
join places t on t.code = c.township_code
left join users u on u.username = a.username
"""


async def refused_on(db: Db, case_id: str) -> list[RefusedAttempt]:
    """The refused attempts on a case, oldest first."""
    return [RefusedAttempt(**r) for r in await db.fetch(_REFUSED + "where a.case_id = $1 order by a.at", case_id)]


async def refused_within(db: Db, place: str, limit: int) -> list[RefusedAttempt]:
    """The latest `limit` refused attempts on cases of the townships within `place`, newest first."""
    return await every(
        db, RefusedAttempt, _REFUSED + f"where starts_with(c.township_code, $1) order by a.at desc limit {limit}", place
    )


# ---- conflicts of interest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchedCase:
    """A case whose relatives check barred staff, with the district's own home visit if made."""

    case_id: str
    applicant_name: str
    township_name: str
    stage: str
    status: str
    accepted_at: datetime
    barred: list[dict[str, str]] | None  # {username, full_name, reason}: everyone barred, in order
    matched_at: datetime | None
    visit_at: datetime | None
    visit_by: str | None  # by name where known
    refused: int  # refused attempts on the case


async def matched_cases(db: Db, place: str) -> list[MatchedCase]:
    """Cases of the townships within `place` with a relatives match: closed ones without the district's visit
    first, then the latest accepted."""
    return await every(
        db,
        MatchedCase,
        """
        select c.case_id, c.applicant_name, t.name as township_name, c.stage, c.status, c.accepted_at,
               m.barred, m.occurred_at as matched_at,
               v.occurred_at as visit_at, coalesce(vu.full_name, v.actor) as visit_by,
               (select count(*) from refused_actions a where a.case_id = c.case_id) as refused
        from cases c
        join places t on t.code = c.township_code
        left join lateral (  -- every staff member barred: by the check at acceptance, or a namesake confirmed later
            select jsonb_agg(b order by e.occurred_at, e.id) as barred, min(e.occurred_at) as occurred_at
            from case_events e cross join jsonb_array_elements(e.payload->'barred') b
            where e.case_id = c.case_id and e.kind = 'relatives_matched'
        ) m on true
        left join lateral (
            select occurred_at, actor from case_events
            where case_id = c.case_id and kind = 'home_visit' and (payload->>'by_district')::boolean
            order by occurred_at, id limit 1
        ) v on true
        left join users vu on vu.username = v.actor
        where c.relatives_match and starts_with(c.township_code, $1)
        order by (v.occurred_at is null and c.status <> 'open') desc, c.accepted_at desc
        """,
        place,
    )


@dataclass(frozen=True)
class WaitingSince:
    """Since when a case has been where it is: in its current stage (the first event of its latest run of events
    in that stage) and, while its clock is paused, since the pause."""

    stage_at: datetime | None
    paused_at: datetime | None


async def waiting_since(db: Db, case_ids: list[str]) -> dict[str, WaitingSince]:
    rows = await db.fetch(
        """
        select c.case_id,
               (select min(e.occurred_at) from case_events e
                 where e.case_id = c.case_id and e.stage = c.stage
                   and e.occurred_at > coalesce((select max(x.occurred_at) from case_events x
                        where x.case_id = c.case_id and x.stage is not null and x.stage <> c.stage), '-infinity'))
                   as stage_at,
               case when c.paused then c.paused_changed_at end as paused_at
        from cases c where c.case_id = any($1::text[])
        """,
        case_ids,
    )
    return {r["case_id"]: WaitingSince(r["stage_at"], r["paused_at"]) for r in rows}


async def shows(db: Db, case_id: str, stage: str, event_key: str | None = None) -> bool:
    """Whether the case row is in `stage` and, if given, the event `event_key` is in its log."""
    return await db.fetchval(
        "select exists(select from cases c where c.case_id = $1 and c.stage = $2 and ($3::text is null "
        "or exists(select from case_events e where e.case_id = c.case_id and e.event_key = $3)))",
        case_id,
        stage,
        event_key,
    )
