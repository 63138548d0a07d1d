"""Every activity of Jiuzhu, declared: the contracts between the workflows, which call them by these method
references (`workflow.execute_activity_method`), and the classes of `activities/` that implement them.

A workflow imports this module, never `activities/` (whose I/O has no place in workflow code). Each
coroutine a contract declares is an activity (`Contract`), named as the method: the names are the activity type
names in every recorded history: rename one only with `workflow.patched`.
`tests/test_contracts.py` checks that the worker registers an implementation of each, with the same name
and signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import date
from typing import Any

from temporalio import activity

from schemas import review_records
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
from schemas.review import DeadlineInfo, DeadlineRequest, NotificationIn
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


class Contract:
    """A contract: each coroutine its class declares is an activity of the method's name (`activity.defn`). The
    classes of `activities/` implement a contract each (as its subclass, again with `activity.defn`)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if Contract in cls.__bases__:  # a contract, not its implementation
            for fn in _declared(cls):
                activity.defn(fn)

    def all(self) -> list[Callable[..., Any]]:
        """The activities an implementation registers: each its contract declares, as implemented here."""
        contract = next(c for c in type(self).__mro__ if Contract in c.__bases__)
        return [getattr(self, fn.__name__) for fn in _declared(contract)]


def _declared(contract: type) -> list[Callable[..., Any]]:
    return [fn for fn in vars(contract).values() if inspect.iscoroutinefunction(fn)]


class CommonContract(Contract):
    """What every workflow uses: the statutory calendar and the notification outbox."""

    async def compute_deadline(self, req: DeadlineRequest) -> DeadlineInfo: ...

    async def notify(self, n: NotificationIn) -> None: ...


class ReviewContract(Contract):
    """The review case's records: case row, event log, relatives check, verification, escalations, register."""

    async def open_case(self, req: review_records.OpenCaseIn) -> review_records.CaseOpened: ...

    async def check_relatives(self, req: RelativesCheckIn) -> list[RelativesMatch]: ...

    async def check_declared_relatives(self, req: DeclaredRelativesIn) -> RelativesCheck: ...

    async def request_verification(self, req: review_records.VerificationRequestIn) -> str: ...

    async def verification_answered(self, req: review_records.VerificationAnsweredIn) -> None: ...

    async def record_event(self, ev: review_records.CaseEventIn) -> None: ...

    async def escalate(self, req: review_records.EscalationIn) -> None: ...

    async def record_take_over(self, req: review_records.TakeOverIn) -> None: ...

    async def enrol(self, e: review_records.Enrolment) -> review_records.Enrolled: ...


class EmergencyContract(Contract):
    """An emergency event's row, its payments against the funds' ledgers, its log."""

    async def open_emergency(self, req: OpenEmergencyIn) -> EmergencyOpened: ...

    async def pay(self, p: PaymentIn) -> PaymentOut: ...

    async def log_emergency(self, e: EmergencyLogIn) -> None: ...


class FrontDoorContract(Contract):
    """The 12349 front door: request, referral and complaint rows, their log, delivery to a bureau."""

    async def front_door_policy(self, on: date) -> FrontDoorPolicy: ...

    async def record_request(self, start: IntakeStart) -> None: ...

    async def open_referral(self, d: DeliveryIn) -> None: ...

    async def deliver_referral(self, d: DeliveryIn) -> str: ...

    async def record_referral_result(self, referral_id: str, result: ReferralResult) -> None: ...

    async def open_complaint(self, c: ComplaintStart) -> None: ...

    async def log_frontdoor(self, e: FrontDoorLogIn) -> None: ...

    async def open_emergency_of(self, id_number: str) -> str | None:
        """The person's open emergency event, if any (one open event per person). Superseded by
        `open_emergency_in`, kept for histories that called it."""
        ...

    async def open_emergency_in(self, q: OpenEventQuery) -> OpenEventFound:
        """The person's open emergency event, named only if it is in the asking township."""
        ...

    async def case_handlers_of(self, case_id: str) -> list[str]:
        """The user names recorded on a review case: a complaint about the case is about each of them."""
        ...


class SupervisionContract(Contract):
    """District supervision: samples and re-checks, ongoing reviews, digests, fund declarations."""

    async def sampling_candidates(self, month: str) -> dict: ...

    async def record_sample(self, drawn: SampleDrawn) -> SampleDrawn: ...

    async def start_rechecks(self, drawn: SampleDrawn) -> int: ...

    async def record_recheck(self, recheck_id: str, finding: RecheckFinding) -> None: ...

    async def recipients_to_review(self, today: date) -> list[RecipientToReview]: ...

    async def reviews_to_start(self, today: date) -> list[RecipientToReview]: ...

    async def mark_reviews_started(self, reviews: list[RecipientToReview]) -> None: ...

    async def apply_review(self, a: OngoingApplied) -> None: ...

    async def ongoing_facts(self, case_id: str, on: date) -> OngoingFacts: ...

    async def ongoing_barred(self, case_id: str) -> list[RelativesMatch]: ...

    async def record_ongoing_step(self, step: OngoingStep) -> None: ...

    async def build_digests(self, day: date) -> int: ...

    async def declare_funds(self, month: str, by: str) -> DeclarationResult: ...


class PayrollContract(Contract):
    """The monthly payroll: which townships pay, each township's payroll drafted in one statement over the
    register, its check and confirmation, the bank's answer (db/payroll_repo.py)."""

    async def payroll_townships(self, month: str) -> list[str]: ...

    async def start_payrolls(self, month: str, townships: list[str]) -> int: ...

    async def draft_payroll(self, start: PayrollStart) -> PayrollDrafted: ...

    async def record_payroll_step(self, step: PayrollStep) -> None: ...

    async def apply_bank_return(self, payroll_id: int, return_id: int) -> ReturnApplied: ...


class DiscoveryContract(Contract):
    """Discovery tasks (主动发现): their deadline, escalation and outcome; the daily purge of bureau lists."""

    # `provisional`: the deadline runs through a year without a holiday notice (暂定); absent in calls made before
    async def open_discovery_task(self, task_id: str, visit_due: date, provisional: bool = False) -> None: ...

    async def escalate_discovery_task(self, e: TaskEscalated) -> None: ...

    async def record_discovery_outcome(self, r: OutcomeRecorded) -> None: ...

    async def purge_discovery_lists(self, on: date) -> int: ...

    async def discovery_tasks_unstarted(self, on: date) -> list[DiscoveryStart]:
        """Tasks the web app could not start a workflow for (Temporal down at the upload), an hour or more old."""
        ...


class SystemContract(Contract):
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
