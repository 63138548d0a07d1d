"""Corrections (纠错) an irregular re-check opens in the original case: opened with the finding (and the township's
approvers and the case's handlers told), listed while open, closed by the township's approver or a district officer
with a written outcome that goes into the case's event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db import cases_repo, frontdoor_repo
from db.pool import Db
from db.typed import every, one
from schemas.review import CaseEvent, NotificationIn
from schemas.staff import Actor
from schemas.supervision import RecheckFinding


async def open_correction(conn: asyncpg.Connection, case_id: str, recheck_id: str, f: RecheckFinding) -> None:
    """The correction an irregular finding opens in the case (once), the township's task: its approvers and
    everyone who handled the case (but the officer who found it) are told."""
    await conn.execute(
        "insert into case_corrections (case_id, recheck_id, findings, opened_at) values ($1,$2,$3,now()) "
        "on conflict (recheck_id) do nothing",
        case_id,
        recheck_id,
        f.findings,
    )
    case = await conn.fetchrow("select applicant_name, township_code from cases where case_id = $1", case_id)
    handlers = [u for u in await frontdoor_repo.handlers_of_case(conn, case_id) if u != f.actor.username]
    audiences = [f"role:township_approver@{case['township_code']}", *(f"user:{u}" for u in handlers)]
    for audience in audiences:
        await cases_repo.queue_notification(
            conn,
            NotificationIn(
                idempotency_key=f"correction-{recheck_id}-{audience}",
                case_id=case_id,
                audience=audience,
                kind="correction-opened",
                subject="抽查复核发现问题，请纠错",
                body=f"{case['applicant_name']}家庭（{case_id}）经区级抽查复核发现问题：{f.findings}。"
                "请核查纠正，并在案件页面填写纠错处理结果。",
            ),
        )


@dataclass(frozen=True)
class CaseCorrection:
    """A correction a re-check opened in the original case, with its case's applicant and township, and what closed
    it: the written outcome, who (by name where known) and when."""

    recheck_id: str
    case_id: str
    township_code: str
    township_name: str
    applicant_name: str
    findings: str
    status: str  # open, done
    opened_at: datetime
    opened_by: str | None  # the officer whose finding opened it, by name where known
    outcome: str | None
    closed_by: str | None
    closed_at: datetime | None


_CORRECTIONS = """
select k.recheck_id, k.case_id, c.township_code, t.name as township_name, c.applicant_name, k.findings, k.status,
       k.opened_at, coalesce(o.full_name, r.checked_by) as opened_by, k.outcome,
       coalesce(u.full_name, k.closed_by) as closed_by, k.closed_at
from case_corrections k
join cases c on c.case_id = k.case_id
join places t on t.code = c.township_code
join rechecks r on r.recheck_id = k.recheck_id
left join users o on o.username = r.checked_by
left join users u on u.username = k.closed_by
"""


async def corrections_of_case(db: Db, case_id: str) -> list[CaseCorrection]:
    """The case's corrections, the oldest first."""
    return await every(db, CaseCorrection, _CORRECTIONS + "where k.case_id = $1 order by k.opened_at, k.id", case_id)


async def open_corrections(db: Db, within: str) -> list[CaseCorrection]:
    """Corrections still open in cases of the townships within `within`, the oldest first."""
    return await every(
        db,
        CaseCorrection,
        _CORRECTIONS + "where k.status = 'open' and starts_with(c.township_code, $1) order by k.opened_at, k.id",
        within,
    )


async def correction(db: Db, recheck_id: str) -> CaseCorrection | None:
    """The correction the re-check opened, if it opened one."""
    return await one(db, CaseCorrection, _CORRECTIONS + "where k.recheck_id = $1", recheck_id)


async def close_correction(db: asyncpg.Pool, recheck_id: str, by: Actor, outcome: str) -> bool:
    """Close the open correction with its written outcome, noted in the case's event log; False if it was not open
    (closed meanwhile)."""
    async with db.acquire() as conn, conn.transaction():
        case_id = await conn.fetchval(
            "update case_corrections set status = 'done', outcome = $2, closed_by = $3, closed_at = now() "
            "where recheck_id = $1 and status = 'open' returning case_id",
            recheck_id,
            outcome,
            by.username,
        )
        if case_id is None:
            return False
        await cases_repo.append_events(
            conn,
            [
                CaseEvent(
                    case_id=case_id,
                    event_key=f"correction-closed-{recheck_id}",
                    kind="correction_closed",
                    actor=by.username,
                    actor_role=by.role.value,
                    payload={"recheck_id": recheck_id, "outcome": outcome, "summary": f"抽查复核纠错办结：{outcome}"},
                )
            ],
        )
    return True
