"""District supervision's records: monthly samples and their re-checks, daily digests, monthly fund
declarations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from db import cases_repo
from db.pool import Db
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


async def sampling_candidates(db: Db, first: date, after: date) -> list[SamplingCandidate]:
    """Decisions taken from `first` to before `after` (Beijing days)."""
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
        order by c.case_id
        """,
        first,
        after,
        Action.DECISION.value,
    )
    return [SamplingCandidate(r["case_id"], r["township_code"], r["always_reason"]) for r in rows]


async def keep_sample(conn: asyncpg.Connection, drawn: SampleDrawn) -> SampleDrawn:
    """Keep the first draw of a month, with a re-check row per sampled case; returns the draw kept."""
    async with conn.transaction():
        await conn.execute(
            "insert into sampling_draws (month, seed, share, population, drawn, drawn_at) "
            "values ($1, $2, $3, $4, $5, $6) on conflict (month) do nothing",
            drawn.month,
            drawn.seed,
            drawn.share,
            drawn.population,
            [c.model_dump() for c in drawn.cases],
            datetime.now(UTC),
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
            "insert into rechecks (recheck_id, workflow_id, month, case_id, township_code, reason) "
            "values ($1, $2, $3, $4, $5, $6) on conflict (recheck_id) do nothing",
            [
                (c.recheck_id, f"recheck-{c.month}-{c.case_id}", c.month, c.case_id, c.township_code, c.reason)
                for c in stored.cases
            ],
        )
    return stored


async def record_recheck(conn: asyncpg.Connection, recheck_id: str, finding: RecheckFinding) -> None:
    """The finding on the re-check row and in the case's event log; an irregular finding opens a
    correction in the original case."""
    async with conn.transaction():
        case_id = await conn.fetchval(
            "update rechecks set status = $2, findings = $3, home_visit = $4, checked_by = $5, "
            "checked_at = now() where recheck_id = $1 returning case_id",
            recheck_id,
            finding.result,
            finding.findings,
            finding.home_visit,
            finding.actor.username,
        )
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
            await conn.execute(
                "insert into case_corrections (case_id, recheck_id, findings, opened_at) values ($1,$2,$3,now()) "
                "on conflict (recheck_id) do nothing",
                case_id,
                recheck_id,
                finding.findings,
            )


# ---- daily digest -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItems:
    overdue: list[dict[str, Any]]
    due_soon: list[dict[str, Any]]
    referrals: list[dict[str, Any]]
    complaints: list[dict[str, Any]]

    def __bool__(self) -> bool:
        return bool(self.overdue or self.due_soon or self.referrals or self.complaints)


async def digest_items(db: Db, place: str, near: date) -> DigestItems:
    """Within `place`: open cases overdue or due by `near`, referrals escalated or due by then, complaints
    not concluded."""
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
    return DigestItems(*([json_row(r) for r in rows] for rows in (overdue, due_soon, referrals, complaints)))


async def save_digest(db: Db, key: str, day: date, place: str, body: dict[str, Any]) -> None:
    await db.execute(
        "insert into digests (digest_key, day, place_code, body) values ($1,$2,$3,$4) "
        "on conflict (digest_key) do nothing",
        key,
        day,
        place,
        body,
    )


# ---- monthly fund declaration ---------------------------------------------------------------------


async def declaration_rows(db: Db, first: date, after: date) -> list[dict[str, Any]]:
    """Per township and kind: the register's households, people and amounts paid for the month starting
    `first`, then the emergency payments approved in it."""
    register = await db.fetch(
        "select r.township_code, p.name as township_name, r.assistance_type as kind, count(*) as households, "
        "sum(r.people) as people, sum(r.monthly_amount_fen) as amount_fen from recipients r "
        "join places p on p.code = r.township_code where r.first_payment_month <= $1 "
        "and (r.status = 'active' or (r.status = 'stopped' and r.stopped_at >= $1::date)) "
        "group by 1, 2, 3 order by 1, 3",
        first,
    )
    emergency = await db.fetch(
        "select e.township_code, p.name as township_name, 'emergency_' || a.tier as kind, "
        "count(distinct e.event_id) as households, 0 as people, sum(a.amount_fen) as amount_fen "
        "from aid_payments a join emergencies e on e.event_id = a.event_id "
        "join places p on p.code = e.township_code "
        "where a.approved_at >= ($1::date::timestamp at time zone 'Asia/Shanghai') "
        "and a.approved_at < ($2::date::timestamp at time zone 'Asia/Shanghai') group by 1, 2, 3 order by 1, 3",
        first,
        after,
    )
    return [json_row(r) for r in [*register, *emergency]]


async def save_declaration(conn: asyncpg.Connection, month: str, rows: list, totals: dict, by: str) -> int:
    """Refresh the month's draft, or start a new version when the latest is confirmed (or there is none);
    returns the version written."""
    async with conn.transaction():
        latest = await conn.fetchrow(
            "select version, status from fund_declarations where month = $1 order by version desc limit 1",
            month,
        )
        if latest and latest["status"] == "draft":
            await conn.execute(
                "update fund_declarations set data = $3, totals = $4, created_by = $5, created_at = now() "
                "where month = $1 and version = $2",
                month,
                latest["version"],
                rows,
                totals,
                by,
            )
            return latest["version"]
        version = (latest["version"] + 1) if latest else 1
        await conn.execute(
            "insert into fund_declarations (month, version, data, totals, created_by) values ($1,$2,$3,$4,$5)",
            month,
            version,
            rows,
            totals,
            by,
        )
        return version
