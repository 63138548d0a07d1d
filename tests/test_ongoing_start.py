"""The district's morning starts every recipient's ongoing review even when the answer of its selection is lost
(audit M3). The selection (`reviews_to_start`) changes nothing, so asked again it answers the same; the rows are
marked started (`mark_reviews_started`) only once the children are (patch `daily-mark-reviews-after-start`).

The lost answer is real: the worker's selection activity runs the product's own and its first attempt then
fails, as a worker that dies (or times out) after the database committed would."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import asyncpg
import pytest
from temporalio import activity
from temporalio.worker import Worker

from activities.supervision import SupervisionActivities
from infra.config import TASK_QUEUE
from schemas.supervision import OngoingState, RecipientToReview, SupervisionNames, ongoing_workflow_id
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.supervision import seed_case
from tests.support.workflows import query_until
from workers.main import RUNNER, WORKFLOWS, activities_for

SHIPO = "341503106"
SELECTIONS = ("recipients_to_review", "reviews_to_start")  # before and since the patch


async def seed(pool: asyncpg.Pool) -> None:
    """A new recipient (decided 2026-10-15, category B: paid from November, reviewed every six months, first on
    2027-05-01) and an imported one whose scheduled review (2026-12-20) comes within 45 days."""
    await seed_case(pool, "NEW-1", SHIPO, beijing(2026, 10, 15, 11, 0), category="B", amount_fen=50000)
    await seed_case(pool, "IMP-1", SHIPO, beijing(2026, 3, 2, 10, 0), category="A", amount_fen=70000)
    await pool.execute(
        "update recipients set review_cadence_months = 12, next_review_on = '2026-12-20', review_pending = true "
        "where case_id = 'IMP-1'"
    )


def review(case_id: str, cadence: int, due: date, amount: str) -> RecipientToReview:
    return RecipientToReview(
        case_id=case_id,
        township_code=SHIPO,
        applicant_name="测试户",
        cadence_months=cadence,
        due_on=due,
        monthly_amount=Decimal(amount),
    )


EXPECTED = [review("NEW-1", 6, date(2027, 5, 1), "500"), review("IMP-1", 12, date(2026, 12, 20), "700")]


async def marks(pool: asyncpg.Pool) -> list[tuple]:
    rows = await pool.fetch(
        "select case_id, review_cadence_months, next_review_on, review_pending from recipients order by case_id"
    )
    return [tuple(r) for r in rows]


@pytest.mark.start_at(beijing(2026, 11, 24, 6, 0))
async def test_the_selection_answers_the_same_until_the_reviews_are_marked_started(
    ts_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed(pool)
    morning = SupervisionActivities(pool, ts_env.client)
    first = await morning.reviews_to_start(date(2026, 11, 24))
    assert first == EXPECTED
    assert await morning.reviews_to_start(date(2026, 11, 24)) == first  # the first answer lost: asked again
    assert await marks(pool) == [("IMP-1", 12, date(2026, 12, 20), True), ("NEW-1", None, None, False)]
    await morning.mark_reviews_started(first)
    await morning.mark_reviews_started(first)  # a retried mark changes nothing
    assert await marks(pool) == [("IMP-1", 12, date(2026, 12, 20), False), ("NEW-1", 6, date(2027, 5, 1), False)]
    assert await morning.reviews_to_start(date(2026, 11, 24)) == []


def lossy(real, name: str):
    """The product's activity `name`, whose first attempt loses its answer after it has done its work."""

    @activity.defn(name=name)
    async def lost_once(today: date) -> list[RecipientToReview]:
        found = await real(today)
        if activity.info().attempt == 1:
            raise RuntimeError("the worker died after the commit")
        return found

    return lost_once


@pytest.mark.start_at(beijing(2026, 11, 24, 6, 0))
async def test_the_morning_starts_the_reviews_whose_selection_lost_its_first_answer(
    ts_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await seed(pool)
    real = activities_for(pool, ts_env.client)
    activities = [lossy(a, a.__name__) if getattr(a, "__name__", "") in SELECTIONS else a for a in real]
    worker = Worker(
        ts_env.client, task_queue=TASK_QUEUE, workflows=WORKFLOWS, workflow_runner=RUNNER, activities=activities
    )
    async with worker:
        # The clock stays on the morning while the children are read (they would otherwise run on to their due days).
        with ts_env.auto_time_skipping_disabled():
            result = await ts_env.client.execute_workflow(
                SupervisionNames.DAILY, id=f"daily-{uuid.uuid4()}", task_queue=TASK_QUEUE
            )
            assert (result["day"], result["reviews_started"]) == ("2026-11-24", 2)
            for r in EXPECTED:
                handle = ts_env.client.get_workflow_handle(ongoing_workflow_id(r.case_id))
                s = await query_until(handle, SupervisionNames.STATE, OngoingState, lambda s: True)
                assert (s.case_id, s.cycle, s.due_on, s.status, s.monthly_amount) == (
                    r.case_id,
                    1,
                    r.due_on,
                    "waiting",
                    r.monthly_amount,
                )
                await handle.terminate("test over")
    assert await marks(pool) == [("IMP-1", 12, date(2026, 12, 20), False), ("NEW-1", 6, date(2027, 5, 1), False)]
