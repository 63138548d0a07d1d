"""District supervision's records: monthly samples and their re-checks (written by the sampling and re-check
workflows, read by the sampling page), daily digests. The corrections an irregular re-check opens are in
`corrections_repo`, fund declarations in `declarations_repo`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from db import cases_repo, corrections_repo, recipients_repo, relatives_repo
from db.pool import Db
from db.typed import every, insert_once, one
from rules.sampling import CONFLICT_KINDS, involved
from rules.stages import Action
from schemas.review import CaseEvent
from schemas.supervision import RecheckFinding, SampledCase, SampleDrawn


def json_row(r: asyncpg.Record) -> dict[str, Any]:
    """A row as JSON values: dates as ISO strings, counts and sums as integers."""
    return {
        k: (v.isoformat() if isinstance(v, date) else int(v) if isinstance(v, Decimal) else v)
        for k, v in dict(r).items()
    }


# ---- monthly sample and re-checks -------------------------------------------------------------------


@dataclass(frozen=True)
class SamplingCandidate:
    case_id: str
    township_code: str
    always_reason: str | None  # why it must be re-checked whatever the draw, if it must
    excluded: tuple[str, ...] = ()  # who may not re-check it (`rules.sampling.involved`)


async def sampling_candidates(db: Db, first: date, after: date) -> list[SamplingCandidate]:
    """Decisions taken from `first` to before `after` (Beijing days), each with who may not re-check it."""
    rows = await db.fetch(
        """
        select c.case_id, c.township_code,
               case when c.relatives_match then 'relatives_match'
                    when exists (select 1 from complaints k where k.about_case_id = c.case_id) then 'complaint'
                    when exists (select 1 from case_events e where e.case_id = c.case_id and e.kind = $3
                                 and ((e.payload->>'monthly_amount' is not null
                                       and e.payload->>'monthly_amount' <> e.payload->>'proposed_amount')
                                      or e.payload->>'means_test_override' = 'true'))
                         then 'override'
               end as always_reason
        from cases c
        where c.decided_at >= ($1::date::timestamp at time zone 'Asia/Shanghai')
          and c.decided_at < ($2::date::timestamp at time zone 'Asia/Shanghai')
          and c.channel <> 'imported'  -- decided in the national system: no decision here to re-check
        order by c.case_id
        """,
        first,
        after,
        Action.DECISION.value,
    )
    staff = await involved_staff(db, [r["case_id"] for r in rows])
    return [
        SamplingCandidate(
            r["case_id"], r["township_code"], r["always_reason"], tuple(sorted(staff.get(r["case_id"], ())))
        )
        for r in rows
    ]


async def involved_staff(db: Db, case_ids: list[str]) -> dict[str, set[str]]:
    """Per case, the staff who approved, took over or investigated it or are related to the household: from its
    event log (`rules.sampling.involved`), and those whose own relatives register names a member now."""
    rows = await db.fetch(
        "select case_id, kind, actor, payload from case_events where case_id = any($1::text[]) "
        "and kind = any($2::text[])",
        case_ids,
        list(CONFLICT_KINDS),
    )
    out: dict[str, set[str]] = {}
    for r in rows:
        out.setdefault(r["case_id"], set()).update(involved(r["kind"], r["actor"], r["payload"]))
    for case_id in case_ids:
        if registered := await registered_relatives(db, case_id):
            out.setdefault(case_id, set()).update(registered)
    return out


async def registered_relatives(db: Db, case_id: str) -> set[str]:
    """The staff whose relatives register names a member of the case's household now (the register match of the
    review's relatives check, `relatives_repo.registered_matches`), by user name."""
    ids = await relatives_repo.member_id_numbers(db, case_id)
    return set(await relatives_repo.registered_matches(db, ids)) if ids else set()


async def keep_sample(conn: asyncpg.Connection, drawn: SampleDrawn) -> SampleDrawn:
    """Keep the first draw of a month, with a re-check row per sampled case; returns the draw kept."""
    async with conn.transaction():
        cases = [c.model_dump() for c in drawn.cases]
        await insert_once(
            conn, "sampling_draws", "month", drawn, "seed, share, population", drawn=cases, drawn_at=datetime.now(UTC)
        )
        row = await conn.fetchrow(
            "select seed, share, population, drawn from sampling_draws where month = $1", drawn.month
        )
        stored = SampleDrawn(
            month=drawn.month,
            seed=row["seed"],
            share=row["share"],
            population=row["population"],
            cases=[SampledCase(**c) for c in row["drawn"]],
        )
        await conn.executemany(
            "insert into rechecks (recheck_id, workflow_id, month, case_id, township_code, reason, assigned_to) "
            "values ($1, $2, $3, $4, $5, $6, $7) on conflict (recheck_id) do nothing",
            [
                (
                    c.recheck_id,
                    f"recheck-{c.month}-{c.case_id}",
                    c.month,
                    c.case_id,
                    c.township_code,
                    c.reason,
                    c.assigned_to,
                )
                for c in stored.cases
            ],
        )
    return stored


class RecheckClosed(ValueError):
    """The re-check already holds another finding."""


async def record_recheck(conn: asyncpg.Connection, recheck_id: str, finding: RecheckFinding) -> None:
    """The finding on the re-check row, while it is open, and in the case's event log; an irregular finding opens a
    correction in the original case and tells the township's approvers and the case's handlers. The same finding
    again (a retry whose answer was lost) changes nothing; another one raises `RecheckClosed`."""
    async with conn.transaction():
        case_id = await conn.fetchval(
            "update rechecks set status = $2, findings = $3, home_visit = $4, checked_by = $5, "
            "checked_at = now() where recheck_id = $1 and status = 'open' returning case_id",
            recheck_id,
            finding.result,
            finding.findings,
            finding.home_visit,
            finding.actor.username,
        )
        if case_id is None:
            if await finding_recorded(conn, recheck_id, finding.result, finding.actor.username, finding.findings):
                return
            raise RecheckClosed(f"re-check {recheck_id} already has a finding")
        upheld = finding.result == "upheld"
        summary = "区级抽查复核：维持乡镇决定" if upheld else f"区级抽查复核发现问题，开启纠错：{finding.findings}"
        await cases_repo.append_events(
            conn,
            [
                CaseEvent(
                    case_id=case_id,
                    event_key=f"recheck-{recheck_id}",
                    kind="recheck_upheld" if upheld else "correction_opened",
                    actor=finding.actor.username,
                    actor_role=finding.actor.role.value,
                    payload={"findings": finding.findings, "home_visit": finding.home_visit, "summary": summary},
                )
            ],
        )
        if not upheld:
            await corrections_repo.open_correction(conn, case_id, recheck_id, finding)


# ---- the sampling page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draw:
    month: str
    seed: str
    share: Decimal
    population: int  # decisions of the month
    drawn: int  # cases drawn
    drawn_at: datetime


async def draws(db: Db) -> list[Draw]:
    """Every month drawn, the latest first."""
    return await every(
        db,
        Draw,
        "select month, seed, share, population, jsonb_array_length(drawn) as drawn, drawn_at "
        "from sampling_draws order by month desc",
    )


async def is_drawn(db: Db, month: str) -> bool:
    return await db.fetchval("select exists(select 1 from sampling_draws where month = $1)", month)


@dataclass(frozen=True)
class Recheck:
    """A re-check with its case and the officer who recorded the finding (by name where known)."""

    recheck_id: str
    workflow_id: str
    month: str
    case_id: str
    township_code: str
    township_name: str
    reason: str
    status: str  # open, upheld, irregular
    findings: str | None
    home_visit: bool | None
    checked_at: datetime | None
    checked_by: str | None
    assigned_to: str | None  # by name where known
    applicant_name: str
    assistance_type: str
    decided_at: datetime | None
    monthly_amount_fen: int | None
    category: str | None
    stage: str


_RECHECKS = """
select r.recheck_id, r.workflow_id, r.month, r.case_id, r.township_code, t.name as township_name, r.reason,
       r.status, r.findings, r.home_visit, r.checked_at, coalesce(u.full_name, r.checked_by) as checked_by,
       coalesce(a.full_name, r.assigned_to) as assigned_to, c.applicant_name, c.assistance_type, c.decided_at,
       c.monthly_amount_fen, c.category, c.stage
from rechecks r
join places t on t.code = r.township_code
join cases c on c.case_id = r.case_id
left join users u on u.username = r.checked_by
left join users a on a.username = r.assigned_to
"""


async def rechecks_of_month(db: Db, month: str, within: str) -> list[Recheck]:
    """The month's re-checks of cases of the townships within `within`, by township and case."""
    return await every(
        db,
        Recheck,
        _RECHECKS + "where r.month = $1 and starts_with(r.township_code, $2) order by r.township_code, r.case_id",
        month,
        within,
    )


async def recheck(db: Db, recheck_id: str, within: str) -> Recheck | None:
    """The re-check, if its township lies within `within`."""
    return await one(
        db, Recheck, _RECHECKS + "where r.recheck_id = $1 and starts_with(r.township_code, $2)", recheck_id, within
    )


async def finding_recorded(db: Db, recheck_id: str, result: str, by: str, findings: str) -> bool:
    """Whether this finding is the one recorded on the re-check (an update whose answer was lost applied)."""
    return await db.fetchval(
        "select exists(select 1 from rechecks where recheck_id = $1 and status = $2 and checked_by = $3 "
        "and findings = $4)",
        recheck_id,
        result,
        by,
        findings,
    )


@dataclass(frozen=True)
class RecheckRun:
    workflow_id: str
    month: str


async def rechecks_of_case(db: Db, case_id: str) -> list[RecheckRun]:
    """The case's re-checks (each a workflow), by month."""
    return await every(
        db, RecheckRun, "select workflow_id, month from rechecks where case_id = $1 order by month", case_id
    )


@dataclass(frozen=True)
class TownshipFindings:
    township_code: str
    township_name: str
    drawn: int  # this month
    open: int
    upheld: int
    irregular: int
    irregular_all: int  # irregular findings of every month so far


async def findings_by_township(db: Db, within: str, month: str | None) -> list[TownshipFindings]:
    """Per township within `within`: the month's draw and findings, and irregular findings so far."""
    return await every(
        db,
        TownshipFindings,
        """
        select r.township_code, t.name as township_name,
               count(*) filter (where r.month = $2) as drawn,
               count(*) filter (where r.month = $2 and r.status = 'open') as open,
               count(*) filter (where r.month = $2 and r.status = 'upheld') as upheld,
               count(*) filter (where r.month = $2 and r.status = 'irregular') as irregular,
               count(*) filter (where r.status = 'irregular') as irregular_all
        from rechecks r join places t on t.code = r.township_code
        where starts_with(r.township_code, $1)
        group by 1, 2 order by 1
        """,
        within,
        month,
    )


# ---- daily digest -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItems:
    overdue: list[dict[str, Any]]
    due_soon: list[dict[str, Any]]
    referrals: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    reviews: list[dict[str, Any]]  # ongoing reviews overdue with no proposal
    proposals: list[dict[str, Any]]  # ongoing-review proposals not decided

    def __bool__(self) -> bool:
        return any(asdict(self).values())


async def digest_items(db: Db, place: str, near: date, reviews_due_by: date) -> DigestItems:
    """Within `place`: open cases overdue or due by `near`, referrals escalated or due by then, complaints
    not concluded; ongoing reviews overdue and proposals undecided (`recipients_repo.reviews_waiting`)."""
    overdue = await db.fetch(
        "select case_id, applicant_name, deadline from cases where status = 'open' and overdue "
        "and starts_with(township_code, $1) order by deadline",
        place,
    )
    due_soon = await db.fetch(
        "select case_id, applicant_name, deadline from cases where status = 'open' and not overdue "
        "and deadline <= $2 and starts_with(township_code, $1) order by deadline",
        place,
        near,
    )
    referrals = await db.fetch(
        "select referral_id, bureau, status, result_due from referrals where status <> 'answered' "
        "and starts_with(township_code, $1) and (escalated or result_due <= $2) order by result_due",
        place,
        near,
    )
    complaints = await db.fetch(
        "select complaint_no, status, conclude_due from complaints where status <> 'concluded' "
        "and starts_with(unit_code, $1) order by conclude_due",
        place,
    )
    reviews = await recipients_repo.reviews_waiting(db, place, near, reviews_due_by)
    return DigestItems(*([json_row(r) for r in rows] for rows in (overdue, due_soon, referrals, complaints)), *reviews)


async def save_digest(db: Db, key: str, day: date, place: str, body: dict[str, Any]) -> None:
    await db.execute(
        "insert into digests (digest_key, day, place_code, body) values ($1,$2,$3,$4) "
        "on conflict (digest_key) do nothing",
        key,
        day,
        place,
        body,
    )


@dataclass(frozen=True)
class Digest:
    day: date
    body: dict[str, Any]  # the lists of `DigestItems`
    created_at: datetime
    place_name: str


async def latest_digest(db: Db, place: str, day: date | None = None) -> Digest | None:
    """The newest digest kept for `place` (on or before `day`, if given)."""
    return await one(
        db,
        Digest,
        "select d.day, d.body, d.created_at, p.name as place_name "
        "from digests d join places p on p.code = d.place_code "
        "where d.place_code = $1 and ($2::date is null or d.day <= $2) order by d.day desc limit 1",
        place,
        day,
    )


async def digest_days(db: Db, place: str, since: date) -> list[date]:
    """The days since `since` with a digest for `place`, the latest first."""
    rows = await db.fetch("select day from digests where place_code = $1 and day >= $2 order by day desc", place, since)
    return [r["day"] for r in rows]
