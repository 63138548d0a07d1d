"""The worker process: one asyncpg pool, one Temporal client, every workflow and activity of Jiuzhu."""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.common import CommonActivities
from activities.discovery import DiscoveryActivities
from activities.emergency import EmergencyActivities
from activities.frontdoor import FrontDoorActivities
from activities.payments import LedgerRail
from activities.payroll import PayrollActivities
from activities.review import ReviewActivities
from activities.supervision import SupervisionActivities
from activities.system import SystemActivities
from activities.verification import choose_centre
from db import demo_users_repo
from db.pool import create_pool
from infra.config import TASK_QUEUE, Settings
from infra.logging import setup_logging
from infra.metrics import install_worker_metrics
from infra.temporal import connect
from infra.tracing import enabled as tracing_enabled
from infra.tracing import shutdown_tracing, traced_if_enabled
from workflows.complaint import ComplaintWorkflow
from workflows.daily import DailySupervisionWorkflow
from workflows.declaration import MonthlyDeclarationWorkflow
from workflows.discovery import DiscoveryWorkflow
from workflows.emergency import EmergencyWorkflow
from workflows.intake import IntakeWorkflow
from workflows.ongoing import OngoingReviewWorkflow
from workflows.payroll import PayrollMonthWorkflow, PayrollWorkflow
from workflows.referral import ReferralWorkflow
from workflows.review import ReviewWorkflow
from workflows.sampling import MonthlySamplingWorkflow, RecheckWorkflow
from workflows.system_check import SystemCheckWorkflow

log = structlog.get_logger(__name__)

WORKFLOWS = [
    ReviewWorkflow,
    EmergencyWorkflow,
    IntakeWorkflow,
    ReferralWorkflow,
    ComplaintWorkflow,
    MonthlySamplingWorkflow,
    RecheckWorkflow,
    OngoingReviewWorkflow,
    DailySupervisionWorkflow,
    MonthlyDeclarationWorkflow,
    PayrollMonthWorkflow,
    PayrollWorkflow,
    SystemCheckWorkflow,
    DiscoveryWorkflow,
]


# The workflows' helper modules (no workflow class of their own): imported once by the worker, not again by the
# sandbox for each new workflow run, which is most of a short case's sandbox cost. They keep no module state, and
# tests/test_workflow_determinism.py keeps calls to the clock, randomness and the system out of workflows/ (a
# passed-through module's calls are not intercepted by the sandbox).
WORKFLOW_HELPERS = (
    "workflows.common",
    "workflows.documents",
    "workflows.eligibility",
    "workflows.emergency_clock",
    "workflows.emergency_person",
    "workflows.emergency_relatives",
    "workflows.frontdoor",
    "workflows.journal",
    "workflows.relatives_journal",
    "workflows.review_actions",
    "workflows.review_clock",
    "workflows.review_closure",
    "workflows.review_decision",
    "workflows.review_news",
    "workflows.review_patches",
    "workflows.review_relatives",
)
RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules(*WORKFLOW_HELPERS))


def activities_for(pool: asyncpg.Pool, client: Client, settings: Settings | None = None) -> list:
    """Every activity, configured from `settings` (default: the environment's)."""
    settings = settings or Settings()
    token = settings.verification_token.get_secret_value() if settings.verification_token else None
    review = ReviewActivities(pool, choose_centre(pool, settings.verification_url, token))
    emergency = EmergencyActivities(pool, LedgerRail(pool), failpoint=settings.failpoint)
    frontdoor = FrontDoorActivities(pool, allow_plain_http=settings.webhook_allow_http)
    supervision = SupervisionActivities(pool, client)
    return [
        SystemActivities(pool).check_database,
        *CommonActivities(pool).all(),
        *review.all(),
        *emergency.all(),
        *frontdoor.all(),
        *supervision.all(),
        *PayrollActivities(pool, client).all(),
        *DiscoveryActivities(pool).all(),
    ]


def build_worker(
    client: Client, pool: asyncpg.Pool, task_queue: str = TASK_QUEUE, settings: Settings | None = None
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=RUNNER,
        activities=activities_for(pool, client, settings),
        graceful_shutdown_timeout=timedelta(seconds=10),  # let running activities finish on SIGTERM
    )


async def with_backoff(what: str, connect_once, limit: float = 30.0):
    """Wait for a server that is still starting or restarting, rather than exit and be restarted in a loop."""
    delay = 0.5
    while True:
        try:
            return await connect_once()
        except (OSError, RuntimeError, asyncpg.PostgresError) as exc:
            log.warning("waiting for server", server=what, error=type(exc).__name__, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, limit)


async def run_worker(settings: Settings) -> None:
    if not settings.database_url:
        raise SystemExit("DATABASE_URL is not set (jiuzhu up sets it for the worker it starts)")
    metrics = install_worker_metrics()  # JIUZHU_WORKER_METRICS; before the client, whose runtime carries it
    pool = await with_backoff("database", lambda: create_pool(settings.database_url))
    if settings.production:  # never with the published demo password (`jiuzhu up --demo`)
        await demo_users_repo.refuse_demo_passwords(pool)
    client = traced_if_enabled(await with_backoff("temporal", lambda: connect(settings)), "jiuzhu-worker")
    worker = build_worker(client, pool, settings=settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker started",
        task_queue=TASK_QUEUE,
        temporal=settings.temporal_target,
        metrics=f"http://{metrics}/metrics" if metrics else None,
        tracing=tracing_enabled(),
    )
    async with worker:
        await stop.wait()
        log.info("worker stopping")
    await pool.close()
    shutdown_tracing()


def main() -> None:
    setup_logging()
    asyncio.run(run_worker(Settings()))


if __name__ == "__main__":
    main()
