"""Side effects of district supervision: sampling records, re-check findings and corrections, ongoing
reviews applied to the recipients register, daily digests, monthly fund declarations. Idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from db import policy_repo, recipients_repo
from schemas.supervision import (
    DeclarationResult,
    OngoingApplied,
    RecheckFinding,
    RecipientToReview,
    SampledCase,
    SampleDrawn,
    SupervisionNames,
    recheck_workflow_id,
)

log = structlog.get_logger(__name__)


def _month(month: str) -> tuple[date, date]:
    first = date.fromisoformat(month + "-01")
    return first, (first + timedelta(days=32)).replace(day=1)


class SupervisionActivities:
    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.client = client

    @activity.defn
    async def start_rechecks(self, drawn: SampleDrawn) -> int:
        """Each sampled case's re-check as a workflow of its own (not a child: it outlives the monthly draw
        on every server), started once whatever the retries."""
        started = 0
        for case in drawn.cases:
            try:
                await self.client.start_workflow(
                    SupervisionNames.RECHECK,
                    case,
                    id=recheck_workflow_id(case.month, case.case_id),
                    task_queue=activity.info().task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
                started += 1
            except WorkflowAlreadyStartedError:
                pass
        return started

    @activity.defn
    async def sampling_candidates(self, month: str) -> dict:
        """Decisions taken in `month` (Beijing time), each with why it must be re-checked, if it must."""
        first, after = _month(month)
        rows = await self.pool.fetch(
            """
            select c.case_id, c.township_code,
                   case when c.relatives_match then 'relatives_match'
                        when exists (select 1 from complaints k where k.about_case_id = c.case_id) then 'complaint'
                        when exists (select 1 from case_events e where e.case_id = c.case_id and e.kind = 'decision'
                                     and e.payload->>'monthly_amount' is not null
                                     and e.payload->>'monthly_amount' <> e.payload->>'proposed_amount')
                             then 'override'
                   end as always_reason
            from cases c
            where c.decided_at >= ($1::date::timestamp at time zone 'Asia/Shanghai')
              and c.decided_at < ($2::date::timestamp at time zone 'Asia/Shanghai')
            order by c.case_id
            """,
            first,
            after,
        )
        async with self.pool.acquire() as conn:
            share = (await policy_repo.in_force(conn, first)).ongoing_review.sample_share
        return {"share": str(share), "candidates": [dict(r) for r in rows]}

    @activity.defn
    async def record_sample(self, drawn: SampleDrawn) -> SampleDrawn:
        """Keep the first draw of a month: a re-run returns what was recorded, so the sample never changes."""
        async with self.pool.acquire() as conn, conn.transaction():
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

    @activity.defn
    async def record_recheck(self, recheck_id: str, finding: RecheckFinding) -> None:
        """An irregular finding opens a correction in the original case and counts against its township."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "update rechecks set status = $2, findings = $3, home_visit = $4, checked_by = $5, "
                "checked_at = now() where recheck_id = $1 returning case_id",
                recheck_id,
                finding.result,
                finding.findings,
                finding.home_visit,
                finding.actor.username,
            )
            event = "recheck_upheld" if finding.result == "upheld" else "correction_opened"
            summary = (
                "区级抽查复核：维持乡镇决定"
                if finding.result == "upheld"
                else f"区级抽查复核发现问题，开启纠错：{finding.findings}"
            )
            await conn.execute(
                "insert into case_events (case_id, event_key, kind, stage, actor, actor_role, payload, occurred_at) "
                "select case_id, $2, $3, stage, $4, $5, $6, now() from cases where case_id = $1 "
                "on conflict (case_id, event_key) do nothing",
                row["case_id"],
                f"recheck-{recheck_id}",
                event,
                finding.actor.username,
                finding.actor.role.value,
                {"findings": finding.findings, "home_visit": finding.home_visit, "summary": summary},
            )
            if finding.result == "irregular":
                await conn.execute(
                    "insert into case_corrections (case_id, recheck_id, findings, opened_at) values ($1,$2,$3,now()) "
                    "on conflict (recheck_id) do nothing",
                    row["case_id"],
                    recheck_id,
                    finding.findings,
                )

    @activity.defn
    async def recipients_to_review(self, today: date) -> list[RecipientToReview]:
        async with self.pool.acquire() as conn:
            return await recipients_repo.assign_review_cycles(conn, today)

    @activity.defn
    async def apply_review(self, a: OngoingApplied) -> None:
        async with self.pool.acquire() as conn:
            await recipients_repo.apply_review(conn, a)

    @activity.defn
    async def build_digests(self, day: date) -> int:
        """Per township and for the district: cases near or past their deadline, referrals unanswered,
        complaints open; kept for the home pages and sent through the outbox."""
        near = day + timedelta(days=7)
        towns = await self.pool.fetch("select code, name, parent_code from places where level = 'township'")
        district = await self.pool.fetchval("select code from places where level = 'district'")
        made = 0
        async with self.pool.acquire() as conn, conn.transaction():
            for place, name, audience in [(t["code"], t["name"], "township_approver") for t in towns] + [
                (district, "全区", "district_officer")
            ]:
                overdue = await conn.fetch(
                    "select case_id, applicant_name, deadline from cases where status = 'open' and overdue "
                    "and starts_with(township_code, $1) order by deadline",
                    place,
                )
                due_soon = await conn.fetch(
                    "select case_id, applicant_name, deadline from cases where status = 'open' and not overdue "
                    "and deadline <= $2 and starts_with(township_code, $1) order by deadline",
                    place,
                    near,
                )
                referrals = await conn.fetch(
                    "select referral_id, bureau, status, result_due from referrals where status <> 'answered' "
                    "and starts_with(township_code, $1) and (escalated or result_due <= $2) order by result_due",
                    place,
                    near,
                )
                complaints = await conn.fetch(
                    "select complaint_no, status, conclude_due from complaints where status <> 'concluded' "
                    "and starts_with(unit_code, $1) order by conclude_due",
                    place,
                )
                if not (overdue or due_soon or referrals or complaints):
                    continue
                body = {
                    "overdue": [_row(r) for r in overdue],
                    "due_soon": [_row(r) for r in due_soon],
                    "referrals": [_row(r) for r in referrals],
                    "complaints": [_row(r) for r in complaints],
                }
                key = f"{day}-{place}"
                await conn.execute(
                    "insert into digests (digest_key, day, place_code, body) values ($1,$2,$3,$4) "
                    "on conflict (digest_key) do nothing",
                    key,
                    day,
                    place,
                    body,
                )
                text = (
                    f"{name} {day}：超期 {len(overdue)} 件，7 日内到期 {len(due_soon)} 件，"
                    f"待反馈转介 {len(referrals)} 件，未办结投诉 {len(complaints)} 件"
                )
                await conn.execute(
                    "insert into notifications (idempotency_key, audience, kind, subject, body) "
                    "values ($1, $2, 'digest', $3, $4) on conflict (idempotency_key) do nothing",
                    f"digest-{key}",
                    f"role:{audience}@{place}",
                    "每日超期与待办提醒",
                    text,
                )
                made += 1
        log.info("digests built", day=str(day), digests=made)
        return made

    @activity.defn
    async def declare_funds(self, month: str, by: str) -> DeclarationResult:
        """The month's declaration per township and kind of assistance, from the recipients register and
        the emergency payments; a new version when the latest is confirmed, else the draft is refreshed."""
        first, after = _month(month)
        async with self.pool.acquire() as conn, conn.transaction():
            register = await conn.fetch(
                "select r.township_code, p.name as township_name, r.assistance_type as kind, count(*) as households, "
                "sum(r.people) as people, sum(r.monthly_amount_fen) as amount_fen from recipients r "
                "join places p on p.code = r.township_code where r.first_payment_month <= $1 "
                "and (r.status = 'active' or (r.status = 'stopped' and r.stopped_at >= $1::date)) "
                "group by 1, 2, 3 order by 1, 3",
                first,
            )
            emergency = await conn.fetch(
                "select e.township_code, p.name as township_name, 'emergency_' || a.tier as kind, "
                "count(distinct e.event_id) as households, 0 as people, sum(a.amount_fen) as amount_fen "
                "from aid_payments a join emergencies e on e.event_id = a.event_id "
                "join places p on p.code = e.township_code "
                "where a.approved_at >= ($1::date::timestamp at time zone 'Asia/Shanghai') "
                "and a.approved_at < ($2::date::timestamp at time zone 'Asia/Shanghai') group by 1, 2, 3 order by 1, 3",
                first,
                after,
            )
            rows = [_row(r) for r in [*register, *emergency]]
            totals = {
                "households": sum(r["households"] for r in rows),
                "people": sum(r["people"] for r in rows),
                "amount_fen": sum(r["amount_fen"] for r in rows),
            }
            latest = await conn.fetchrow(
                "select version, status from fund_declarations where month = $1 order by version desc limit 1", month
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
                version = latest["version"]
            else:
                version = (latest["version"] + 1) if latest else 1
                await conn.execute(
                    "insert into fund_declarations (month, version, data, totals, created_by) values ($1,$2,$3,$4,$5)",
                    month,
                    version,
                    rows,
                    totals,
                    by,
                )
        return DeclarationResult(month=month, version=version, status="draft", rows=len(rows))

    def all(self) -> list:
        return [
            self.sampling_candidates,
            self.record_sample,
            self.start_rechecks,
            self.record_recheck,
            self.recipients_to_review,
            self.apply_review,
            self.build_digests,
            self.declare_funds,
        ]


def _row(r: asyncpg.Record) -> dict:
    return {
        k: (v.isoformat() if isinstance(v, date) else int(v) if isinstance(v, Decimal) else v)
        for k, v in dict(r).items()
    }
