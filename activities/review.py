"""Side effects of the review workflow. Every one is idempotent: retried or replayed, it writes once."""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity

from activities.verification import VerificationCentre
from db import cases_repo, policy_repo, recipients_repo, relatives_repo, users_repo
from schemas.contracts import ReviewContract
from schemas.relatives import DeclaredRelativesIn, RelativesCheck, RelativesCheckIn, RelativesMatch
from schemas.review_records import (
    CaseEventIn,
    CaseOpened,
    Enrolled,
    Enrolment,
    EscalationIn,
    OpenCaseIn,
    TakeOverIn,
    VerificationAnsweredIn,
    VerificationRequestIn,
)

log = structlog.get_logger(__name__)


class ReviewActivities(ReviewContract):
    def __init__(self, pool: asyncpg.Pool, verification: VerificationCentre) -> None:
        self.pool = pool
        self.verification = verification

    @activity.defn
    async def open_case(self, req: OpenCaseIn) -> CaseOpened:
        """Write household, members and case row once; resolve the policy in force on acceptance."""
        case_id = req.start.application.application_id
        async with self.pool.acquire() as conn, conn.transaction():
            version = await cases_repo.policy_version(conn, case_id)
            if version is not None:
                return CaseOpened(policy=await policy_repo.get(conn, version), accepted_on=req.accepted_on)
            policy = await policy_repo.in_force(conn, req.accepted_on)
            await cases_repo.insert_case(conn, req, policy.version)
        log.info("case opened", case_id=case_id, policy_version=policy.version)
        return CaseOpened(policy=policy, accepted_on=req.accepted_on)

    @activity.defn
    async def check_relatives(self, req: RelativesCheckIn) -> list[RelativesMatch]:
        """Match members against the staff near-relatives register and the applicant's declaration, by name
        (cases started before the patch "relatives-by-id-number" of the review workflow)."""
        matches = await relatives_repo.registered_matches(self.pool, req.id_numbers)
        if req.declared_staff_names:
            for username, full_name in await users_repo.front_line_staff_named(self.pool, req.declared_staff_names):
                matches.setdefault(
                    username, RelativesMatch(username=username, full_name=full_name, reason="申请人申报的近亲属")
                )
        return sorted(matches.values(), key=lambda m: m.username)

    @activity.defn
    async def check_declared_relatives(self, req: DeclaredRelativesIn) -> RelativesCheck:
        """The relatives check since declared relatives carry ID numbers (`relatives_repo.check_declared`); the
        emergency workflow calls it too."""
        return await relatives_repo.check_declared(self.pool, req)

    @activity.defn
    async def request_verification(self, req: VerificationRequestIn) -> str:
        await self.verification.request(req)
        return self.verification.name

    @activity.defn
    async def verification_answered(self, req: VerificationAnsweredIn) -> None:
        await cases_repo.record_verification_answer(self.pool, req)

    @activity.defn
    async def record_event(self, ev: CaseEventIn) -> None:
        """Append to the case event log (unique per case and key) and refresh the case row."""
        async with self.pool.acquire() as conn:
            await cases_repo.record_event(conn, ev)

    @activity.defn
    async def escalate(self, req: EscalationIn) -> None:
        async with self.pool.acquire() as conn:
            await cases_repo.add_escalation(conn, req)

    @activity.defn
    async def record_take_over(self, req: TakeOverIn) -> None:
        await cases_repo.record_take_over(self.pool, req)

    @activity.defn
    async def enrol(self, e: Enrolment) -> Enrolled:
        """Enter the household in the recipients register, once; held if a member is a recipient already."""
        async with self.pool.acquire() as conn:
            return Enrolled(held_reason=await recipients_repo.enrol(conn, e))
