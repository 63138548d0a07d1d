"""Side effects of the review workflow. Every one is idempotent: retried or replayed, it writes once."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import structlog
from temporalio import activity

from activities.verification import VerificationCentre
from db import calendar_repo, policy_repo
from schemas.identity import mask_id
from schemas.money import to_fen
from schemas.review import (
    CaseEventIn,
    CaseOpened,
    DeadlineInfo,
    DeadlineRequest,
    Enrolment,
    EscalationIn,
    NotificationIn,
    OpenCaseIn,
    RelativesCheckIn,
    RelativesMatch,
    TakeOverIn,
    VerificationAnsweredIn,
    VerificationRequestIn,
)

log = structlog.get_logger(__name__)
_ONE_DAY = timedelta(days=1)


class ReviewActivities:
    def __init__(self, pool: asyncpg.Pool, verification: VerificationCentre) -> None:
        self.pool = pool
        self.verification = verification

    @activity.defn
    async def open_case(self, req: OpenCaseIn) -> CaseOpened:
        """Write household, members and case row once; resolve the policy in force on acceptance."""
        app = req.start.application
        hh = app.household
        async with self.pool.acquire() as conn, conn.transaction():
            existing = await conn.fetchrow("select policy_version from cases where case_id = $1", app.application_id)
            if existing:
                return CaseOpened(
                    policy=await policy_repo.get(conn, existing["policy_version"]), accepted_on=req.accepted_on
                )
            policy = await policy_repo.in_force(conn, req.accepted_on)
            household_id = await conn.fetchval(
                "insert into households (township_code, village_code, address, hukou_type, phone) "
                "values ($1,$2,$3,$4,$5) returning id",
                hh.township_code,
                hh.village_code,
                hh.address,
                hh.hukou_type.value,
                hh.phone,
            )
            await conn.executemany(
                "insert into household_members (household_id, name, id_number, relation, is_applicant) "
                "values ($1,$2,$3,$4,$5)",
                [(household_id, m.name, m.id_number, m.relation.value, m is hh.applicant) for m in hh.members],
            )
            await conn.execute(
                "insert into cases (case_id, workflow_id, assistance_type, household_id, township_code, village_code, "
                "applicant_name, applicant_id_masked, channel, policy_version, stage, accepted_at) "
                "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'accepted',$11)",
                app.application_id,
                req.workflow_id,
                app.assistance_type.value,
                household_id,
                hh.township_code,
                hh.village_code,
                hh.applicant.name,
                mask_id(hh.applicant.id_number),
                app.channel.value,
                policy.version,
                req.accepted_at,
            )
        log.info("case opened", case_id=app.application_id, policy_version=policy.version)
        return CaseOpened(policy=policy, accepted_on=req.accepted_on)

    @activity.defn
    async def check_relatives(self, req: RelativesCheckIn) -> list[RelativesMatch]:
        """Match members against the staff near-relatives register and the applicant's declaration."""
        rows = await self.pool.fetch(
            "select u.username, u.full_name, r.relation, r.relative_name from staff_relatives r "
            "join users u on u.id = r.user_id where r.relative_id_number = any($1::text[]) and r.removed_at is null",
            req.id_numbers,
        )
        matches = {
            r["username"]: RelativesMatch(
                username=r["username"],
                full_name=r["full_name"],
                reason=f"近亲属备案：{r['relative_name']}（{r['relation']}）",
            )
            for r in rows
        }
        if req.declared_staff_names:
            declared = await self.pool.fetch(
                "select username, full_name from users where role in ('township_caseworker', 'township_approver', "
                "'village_cadre') and exists (select 1 from unnest($1::text[]) n "
                "where full_name = n or full_name like '% ' || n)",
                req.declared_staff_names,
            )
            for r in declared:
                matches.setdefault(
                    r["username"],
                    RelativesMatch(username=r["username"], full_name=r["full_name"], reason="申请人申报的近亲属"),
                )
        return sorted(matches.values(), key=lambda m: m.username)

    @activity.defn
    async def request_verification(self, req: VerificationRequestIn) -> str:
        await self.verification.request(req)
        return self.verification.name

    @activity.defn
    async def verification_answered(self, req: VerificationAnsweredIn) -> None:
        await self.pool.execute(
            "update verification_requests set status = 'answered', result = $2, answered_by = $3, answered_at = $4 "
            "where case_id = $1",
            req.case_id,
            req.result.model_dump(mode="json", exclude={"actor"}),
            req.result.actor.username,
            req.answered_at,
        )

    @activity.defn
    async def compute_deadline(self, req: DeadlineRequest) -> DeadlineInfo:
        """Deadline and reminder days from the statutory calendar (builtin data plus imported notices)."""
        async with self.pool.acquire() as conn:
            cal = await calendar_repo.load_calendar(conn)
        deadline = cal.add_working_days(req.accepted_on, req.working_days, req.paused)
        paused_days = sum(cal.working_days_between(a - _ONE_DAY, b) for a, b in req.paused)
        return DeadlineInfo(
            deadline=deadline.date,
            provisional=deadline.provisional,
            reminder_days={n: cal.working_day_before(deadline.date, n) for n in req.reminders},
            paused_working_days=paused_days,
        )

    @activity.defn
    async def record_event(self, ev: CaseEventIn) -> None:
        """Append to the case event log (unique per case and key) and refresh the case row."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "insert into case_events (case_id, event_key, kind, stage, actor, actor_role, payload, occurred_at) "
                "values ($1,$2,$3,$4,$5,$6,$7,$8) on conflict (case_id, event_key) do nothing",
                ev.case_id,
                ev.event_key,
                ev.kind,
                ev.stage,
                ev.actor,
                ev.actor_role,
                ev.payload,
                ev.occurred_at,
            )
            await conn.execute(
                "update cases set stage = $2, deadline = $3, deadline_provisional = $4, paused_days = $5, "
                "overdue = overdue or $6, "
                "status = $7, handled_by = $8, relatives_match = relatives_match or $9, "
                "decided_at = case when $2 in ('public_notice', 'refused') then coalesce(decided_at, $10) "
                "else decided_at end, "
                "closed_at = case when $7 <> 'open' then $10 else null end, updated_at = now() "
                "where case_id = $1",
                ev.case_id,
                ev.stage,
                ev.deadline,
                ev.deadline_provisional,
                ev.paused_days,
                ev.overdue,
                ev.status,
                ev.handled_by,
                ev.kind == "relatives_matched",
                ev.occurred_at,
            )

    @activity.defn
    async def escalate(self, req: EscalationIn) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "insert into escalations (case_id, escalation_key, kind, deadline, created_at) values ($1,$2,$3,$4,$5) "
                "on conflict (escalation_key) do nothing",
                req.case_id,
                req.escalation_key,
                req.kind,
                req.deadline,
                req.at,
            )
            if req.kind == "overdue":
                await conn.execute("update cases set overdue = true where case_id = $1", req.case_id)

    @activity.defn
    async def record_take_over(self, req: TakeOverIn) -> None:
        await self.pool.execute(
            "update escalations set taken_over_by = $2, taken_over_at = $3 "
            "where case_id = $1 and taken_over_by is null",
            req.case_id,
            req.username,
            req.at,
        )

    @activity.defn
    async def notify(self, n: NotificationIn) -> None:
        """Queue a message in the outbox; the idempotency key makes a retry a no-op."""
        await self.pool.execute(
            "insert into notifications (idempotency_key, case_id, audience, kind, subject, body, deliver_by) "
            "values ($1,$2,$3,$4,$5,$6,$7) on conflict (idempotency_key) do nothing",
            n.idempotency_key,
            n.case_id,
            n.audience,
            n.kind,
            n.subject,
            n.body,
            n.deliver_by,
        )

    @activity.defn
    async def enrol(self, e: Enrolment) -> None:
        """Enter the household in the recipients register, once."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "insert into recipients (case_id, household_id, assistance_type, township_code, category, "
                "monthly_amount_fen, people, first_payment_month, decided_at) "
                "select case_id, household_id, $2, $3, $4, $5, $6, $7, $8 from cases where case_id = $1 "
                "on conflict (case_id) do nothing",
                e.case_id,
                e.assistance_type.value,
                e.township_code,
                e.category,
                to_fen(e.monthly_amount),
                e.people,
                e.first_payment_month,
                e.decided_at,
            )
            await conn.execute(
                "update cases set category = $2, monthly_amount_fen = $3 where case_id = $1",
                e.case_id,
                e.category,
                to_fen(e.monthly_amount),
            )

    def all(self) -> list:
        return [
            self.open_case,
            self.check_relatives,
            self.request_verification,
            self.verification_answered,
            self.compute_deadline,
            self.record_event,
            self.escalate,
            self.record_take_over,
            self.notify,
            self.enrol,
        ]
