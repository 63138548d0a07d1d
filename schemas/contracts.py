"""Every activity of Jiuzhu, declared: the contracts between the workflows, which call them by these method
references (`workflow.execute_activity_method`), and the classes of `activities/` that implement them.

A workflow imports this module, never `activities/` (whose I/O has no place in workflow code). The
names are the activity type names in every recorded history: rename one only with `workflow.patched`.
`tests/test_contracts.py` checks that the worker registers an implementation of each, with the same name
and signature.
"""

from __future__ import annotations

from datetime import date

from temporalio import activity

from schemas.discovery import DiscoveryStart, OutcomeRecorded, TaskEscalated
from schemas.emergency import (
    EmergencyLogIn,
    EmergencyOpened,
    OpenEmergencyIn,
    OpenEventFound,
    OpenEventQuery,
    PaymentIn,
    PaymentOut,
)
from schemas.frontdoor import ComplaintStart, DeliveryIn, FrontDoorLogIn, IntakeStart, ReferralResult
from schemas.payroll import PayrollDrafted, PayrollStart, PayrollStep, ReturnApplied
from schemas.policy import FrontDoorPolicy
from schemas.relatives import DeclaredRelativesIn, RelativesCheck, RelativesCheckIn, RelativesMatch
from schemas.review import (
    CaseEventIn,
    CaseOpened,
    DeadlineInfo,
    DeadlineRequest,
    Enrolment,
    EscalationIn,
    NotificationIn,
    OpenCaseIn,
    TakeOverIn,
    VerificationAnsweredIn,
    VerificationRequestIn,
)
from schemas.supervision import (
    DeclarationResult,
    OngoingApplied,
    OngoingFacts,
    OngoingStep,
    RecheckFinding,
    RecipientToReview,
    SampleDrawn,
)
from schemas.system import SystemCheck


class CommonContract:
    """What every workflow uses: the statutory calendar and the notification outbox."""

    @activity.defn
    async def compute_deadline(self, req: DeadlineRequest) -> DeadlineInfo: ...

    @activity.defn
    async def notify(self, n: NotificationIn) -> None: ...


class ReviewContract:
    """The review case's records: case row, event log, relatives check, verification, escalations, register."""

    @activity.defn
    async def open_case(self, req: OpenCaseIn) -> CaseOpened: ...

    @activity.defn
    async def check_relatives(self, req: RelativesCheckIn) -> list[RelativesMatch]: ...

    @activity.defn
    async def check_declared_relatives(self, req: DeclaredRelativesIn) -> RelativesCheck: ...

    @activity.defn
    async def request_verification(self, req: VerificationRequestIn) -> str: ...

    @activity.defn
    async def verification_answered(self, req: VerificationAnsweredIn) -> None: ...

    @activity.defn
    async def record_event(self, ev: CaseEventIn) -> None: ...

    @activity.defn
    async def escalate(self, req: EscalationIn) -> None: ...

    @activity.defn
    async def record_take_over(self, req: TakeOverIn) -> None: ...

    @activity.defn
    async def enrol(self, e: Enrolment) -> None: ...


class EmergencyContract:
    """An emergency event's row, its payments against the funds' ledgers, its log."""

    @activity.defn
    async def open_emergency(self, req: OpenEmergencyIn) -> EmergencyOpened: ...

    @activity.defn
    async def pay(self, p: PaymentIn) -> PaymentOut: ...

    @activity.defn
    async def log_emergency(self, e: EmergencyLogIn) -> None: ...


class FrontDoorContract:
    """The 12349 front door: request, referral and complaint rows, their log, delivery to a bureau."""

    @activity.defn
    async def front_door_policy(self, on: date) -> FrontDoorPolicy: ...

    @activity.defn
    async def record_request(self, start: IntakeStart) -> None: ...

    @activity.defn
    async def open_referral(self, d: DeliveryIn) -> None: ...

    @activity.defn
    async def deliver_referral(self, d: DeliveryIn) -> str: ...

    @activity.defn
    async def record_referral_result(self, referral_id: str, result: ReferralResult) -> None: ...

    @activity.defn
    async def open_complaint(self, c: ComplaintStart) -> None: ...

    @activity.defn
    async def log_frontdoor(self, e: FrontDoorLogIn) -> None: ...

    @activity.defn
    async def open_emergency_of(self, id_number: str) -> str | None:
        """The person's open emergency event, if any (one open event per person). Superseded by
        `open_emergency_in`, kept for histories that called it."""
        ...

    @activity.defn
    async def open_emergency_in(self, q: OpenEventQuery) -> OpenEventFound:
        """The person's open emergency event, named only if it is in the asking township."""
        ...

    @activity.defn
    async def case_handlers_of(self, case_id: str) -> list[str]:
        """The user names recorded on a review case: a complaint about the case is about each of them."""
        ...


class SupervisionContract:
    """District supervision: samples and re-checks, ongoing reviews, digests, fund declarations."""

    @activity.defn
    async def sampling_candidates(self, month: str) -> dict: ...

    @activity.defn
    async def record_sample(self, drawn: SampleDrawn) -> SampleDrawn: ...

    @activity.defn
    async def start_rechecks(self, drawn: SampleDrawn) -> int: ...

    @activity.defn
    async def record_recheck(self, recheck_id: str, finding: RecheckFinding) -> None: ...

    @activity.defn
    async def recipients_to_review(self, today: date) -> list[RecipientToReview]: ...

    @activity.defn
    async def apply_review(self, a: OngoingApplied) -> None: ...

    @activity.defn
    async def ongoing_facts(self, case_id: str, on: date) -> OngoingFacts: ...

    @activity.defn
    async def record_ongoing_step(self, step: OngoingStep) -> None: ...

    @activity.defn
    async def build_digests(self, day: date) -> int: ...

    @activity.defn
    async def declare_funds(self, month: str, by: str) -> DeclarationResult: ...


class PayrollContract:
    """The monthly payroll: which townships pay, each township's payroll drafted in one statement over the
    register, its check and confirmation, the bank's answer (db/payroll_repo.py)."""

    @activity.defn
    async def payroll_townships(self, month: str) -> list[str]: ...

    @activity.defn
    async def start_payrolls(self, month: str, townships: list[str]) -> int: ...

    @activity.defn
    async def draft_payroll(self, start: PayrollStart) -> PayrollDrafted: ...

    @activity.defn
    async def record_payroll_step(self, step: PayrollStep) -> None: ...

    @activity.defn
    async def apply_bank_return(self, payroll_id: int, return_id: int) -> ReturnApplied: ...


class DiscoveryContract:
    """Discovery tasks (主动发现): their deadline, escalation and outcome; the daily purge of bureau lists."""

    @activity.defn
    async def open_discovery_task(self, task_id: str, visit_due: date) -> None: ...

    @activity.defn
    async def escalate_discovery_task(self, e: TaskEscalated) -> None: ...

    @activity.defn
    async def record_discovery_outcome(self, r: OutcomeRecorded) -> None: ...

    @activity.defn
    async def purge_discovery_lists(self, on: date) -> int: ...

    @activity.defn
    async def discovery_tasks_unstarted(self, on: date) -> list[DiscoveryStart]:
        """Tasks the web app could not start a workflow for (Temporal down at the upload), an hour or more old."""
        ...


class SystemContract:
    @activity.defn
    async def check_database(self, requested_by: str) -> SystemCheck: ...


CONTRACTS = (
    CommonContract,
    ReviewContract,
    EmergencyContract,
    FrontDoorContract,
    SupervisionContract,
    PayrollContract,
    DiscoveryContract,
    SystemContract,
)
