"""Side effects of district supervision: sampling records, re-check findings and corrections, ongoing
reviews applied to the recipients register, daily digests, monthly fund declarations. Idempotent."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.common import start_each
from db import (
    calendar_repo,
    cases_repo,
    declarations_repo,
    events_repo,
    places_repo,
    policy_repo,
    recipients_repo,
    relatives_repo,
    supervision_repo,
    users_repo,
)
from rules.ongoing_actions import overdue_due_by
from rules.roster import amount_cap
from schemas.contracts import SupervisionContract
from schemas.policy import Policy
from schemas.relatives import RelativesMatch
from schemas.review import CaseEvent, NotificationIn
from schemas.supervision import (
    DeclarationResult,
    OngoingApplied,
    OngoingFacts,
    OngoingStep,
    RecheckFinding,
    RecipientToReview,
    SampleDrawn,
    SupervisionNames,
    recheck_workflow_id,
)

log = structlog.get_logger(__name__)


def household_cap(policy: Policy, household: recipients_repo.ReviewedHousehold) -> Decimal:
    """The most the policy allows the household a month: the cap the review's override and the roster import
    apply (`rules.roster.amount_cap`), at the standard of its registration (not on record: the higher of the
    urban and the rural one)."""
    kind = household.assistance_type
    hukous = [household.hukou_type] if household.hukou_type else ["urban", "rural"]
    return max(
        amount_cap(
            kind,
            getattr(policy.standards, f"{kind}_{hukou}"),
            household.people,
            care_max=policy.tekun.care_none,
            override_ratio=policy.assets.override_max_ratio,
        )
        for hukou in hukous
    )


async def barred_from(conn: asyncpg.Connection, case_id: str) -> list[RelativesMatch]:
    """The staff barred from a recipient household: those the review's relatives check barred, and those whose own
    register names a member now (the same register match as the review's), by user name. A register match not yet
    in the case's log is recorded there as the review's check records one (`relatives_matched`, once per staff
    member), so the district's conflicts page lists the household (an imported one too) and its visit is due."""
    barred = {b["username"]: RelativesMatch(**b) for b in await events_repo.barred_on_case(conn, case_id)}
    ids = await relatives_repo.member_id_numbers(conn, case_id)
    found = await relatives_repo.registered_matches(conn, ids)
    new = [found[u] for u in sorted(found) if u not in barred]
    if new:
        await cases_repo.append_events(conn, [_register_match(case_id, m) for m in new])
    barred |= {m.username: m for m in new}
    return sorted(barred.values(), key=lambda m: m.username)


def _register_match(case_id: str, m: RelativesMatch) -> CaseEvent:
    return CaseEvent(
        case_id=case_id,
        event_key=f"ongoing-relatives_matched-{m.username}",
        kind=events_repo.RELATIVES_MATCHED,
        payload={
            "barred": [m.model_dump()],
            "summary": f"动态管理复核时近亲属备案比对命中：{m.full_name}（{m.reason}）；相关人员回避，"
            "须由区民政局入户调查",
        },
    )


def _month(month: str) -> tuple[date, date]:
    first = date.fromisoformat(month + "-01")
    return first, (first + timedelta(days=32)).replace(day=1)


class SupervisionActivities(SupervisionContract):
    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.client = client

    @activity.defn
    async def start_rechecks(self, drawn: SampleDrawn) -> int:
        """Each sampled case's re-check as a workflow of its own (not a child: it outlives the monthly draw
        on every server), started once whatever the retries."""
        starts = [(case, recheck_workflow_id(case.month, case.case_id)) for case in drawn.cases]
        return await start_each(self.client, SupervisionNames.RECHECK, starts)

    @activity.defn
    async def sampling_candidates(self, month: str) -> dict:
        """Decisions taken in `month` (Beijing time), each with why it must be re-checked, if it must, and who
        may not re-check it; and the district's officers, who re-check them."""
        first, after = _month(month)
        async with self.pool.acquire() as conn:
            found = await supervision_repo.sampling_candidates(conn, first, after)
            share = (await policy_repo.in_force(conn, first)).ongoing_review.sample_share
            district = await places_repo.district_code(conn)
            officers = await users_repo.staff_for_place(conn, district, ["district_officer"])
        return {
            "share": str(share),
            "candidates": [asdict(c) for c in found],
            "officers": [o.username for o in officers],
        }

    @activity.defn
    async def record_sample(self, drawn: SampleDrawn) -> SampleDrawn:
        """Keep the first draw of a month: a re-run returns what was recorded, so the sample never changes."""
        async with self.pool.acquire() as conn:
            return await supervision_repo.keep_sample(conn, drawn)

    @activity.defn
    async def record_recheck(self, recheck_id: str, finding: RecheckFinding) -> None:
        """An irregular finding opens a correction in the original case and counts against its township; a
        re-check that already holds another finding refuses this one (`closed`)."""
        async with self.pool.acquire() as conn:
            try:
                await supervision_repo.record_recheck(conn, recheck_id, finding)
            except supervision_repo.RecheckClosed as e:
                raise ApplicationError(str(e), type="closed", non_retryable=True) from None

    @activity.defn
    async def recipients_to_review(self, today: date) -> list[RecipientToReview]:
        """The reviews to start, marked started before they are (daily runs before patch
        `daily-mark-reviews-after-start`)."""
        async with self.pool.acquire() as conn:
            return await recipients_repo.assign_review_cycles(conn, today)

    @activity.defn
    async def reviews_to_start(self, today: date) -> list[RecipientToReview]:
        """The reviews whose workflows to start this morning; the same again until they are marked started."""
        async with self.pool.acquire() as conn:
            return await recipients_repo.reviews_to_start(conn, today)

    @activity.defn
    async def mark_reviews_started(self, reviews: list[RecipientToReview]) -> None:
        async with self.pool.acquire() as conn:
            await recipients_repo.mark_reviews_started(conn, reviews)

    @activity.defn
    async def apply_review(self, a: OngoingApplied) -> None:
        async with self.pool.acquire() as conn:
            await recipients_repo.apply_review(conn, a)

    @activity.defn
    async def ongoing_facts(self, case_id: str, on: date) -> OngoingFacts:
        """The household's kind of assistance, who decides its review under the policy in force on `on` and
        within which bounds, and the staff barred from it: those the review's relatives check barred, and those
        whose own register names a member now (the same register match as the review's)."""
        async with self.pool.acquire() as conn:
            household = await recipients_repo.reviewed_household(conn, case_id)
            policy = await policy_repo.in_force(conn, on)
            barred = await barred_from(conn, case_id)
        return OngoingFacts(
            assistance_type=household.assistance_type,
            approval_level=policy.review.approval_level(household.township_code).value,
            max_change=policy.ongoing_review.township_max_change,
            max_change_ratio=policy.ongoing_review.township_max_change_ratio,
            barred=barred,
            max_amount=household_cap(policy, household),
            overdue_working_days=policy.ongoing_review.overdue_working_days,
        )

    @activity.defn
    async def ongoing_barred(self, case_id: str) -> list[RelativesMatch]:
        """The staff barred from the household's review now (as `ongoing_facts`): read again at each proposal and
        decision, so a register entry made since the review fell due bars its author."""
        async with self.pool.acquire() as conn:
            return await barred_from(conn, case_id)

    @activity.defn
    async def record_ongoing_step(self, step: OngoingStep) -> None:
        """A step of an ongoing review in the case's event log, once."""
        event = CaseEvent(
            case_id=step.case_id,
            event_key=step.event_key,
            kind=step.kind,
            actor=step.actor.username if step.actor else None,
            actor_role=step.actor.role.value if step.actor else None,
            payload=step.payload | {"summary": step.summary},
        )
        async with self.pool.acquire() as conn:
            await cases_repo.append_events(conn, [event])

    @activity.defn
    async def build_digests(self, day: date) -> int:
        """Per township and for the district: cases near or past their deadline, referrals unanswered,
        complaints open, ongoing reviews overdue (past the policy's working days after their due day, as the
        workflow escalates them) and their proposals undecided; kept for the home pages and sent through the
        outbox."""
        near = day + timedelta(days=7)
        towns = await places_repo.places_at_level(self.pool, "township")
        district = await places_repo.district_code(self.pool)
        made = 0
        async with self.pool.acquire() as conn, conn.transaction():
            days = (await policy_repo.in_force(conn, day)).ongoing_review.overdue_working_days
            reviews_due_by = overdue_due_by(await calendar_repo.load_calendar(conn), day, days)
            for place, name, audience in [(t["code"], t["name"], "township_approver") for t in towns] + [
                (district, "全区", "district_officer")
            ]:
                items = await supervision_repo.digest_items(conn, place, near, reviews_due_by)
                if not items:
                    continue
                key = f"{day}-{place}"
                await supervision_repo.save_digest(conn, key, day, place, asdict(items))
                text = (
                    f"{name} {day}：超期 {len(items.overdue)} 件，7 日内到期 {len(items.due_soon)} 件，"
                    f"待反馈转介 {len(items.referrals)} 件，未办结投诉 {len(items.complaints)} 件，"
                    f"动态管理复核超期 {len(items.reviews)} 户，复核意见待审批 {len(items.proposals)} 件"
                )
                await cases_repo.queue_notification(
                    conn,
                    NotificationIn(
                        idempotency_key=f"digest-{key}",
                        case_id=None,
                        audience=f"role:{audience}@{place}",
                        kind="digest",
                        subject="每日超期与待办提醒",
                        body=text,
                    ),
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
            rows = await declarations_repo.declaration_rows(conn, first, after)
            totals = {
                "households": sum(r["households"] for r in rows),
                "people": sum(r["people"] for r in rows),
                "amount_fen": sum(r["amount_fen"] for r in rows),
            }
            version = await declarations_repo.save_declaration(conn, month, rows, totals, by)
        return DeclarationResult(month=month, version=version, status="draft", rows=len(rows))
