"""Discovery fixtures in bulk (set-based inserts, fast): households, their members and recipients, and the
bureau lists that name them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import asyncpg
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from db import discovery_repo
from infra.config import TASK_QUEUE
from schemas.discovery import (
    DiscoveryNames,
    DiscoveryStart,
    DiscoveryState,
    ListResult,
    SignalIn,
    SignalKind,
    discovery_workflow_id,
)
from schemas.policy import DiscoveryPolicy
from tests.support.clock import beijing
from tests.support.factories import resident_id
from tests.support.workflows import query_until

FIRST_BORN = date(1940, 1, 1)


def person(i: int) -> str:
    """The i-th person's ID number, a valid one (GB 11643, as lists must carry them): born `FIRST_BORN` plus
    i // 1000 days, sequence i % 1000, so each i has its own."""
    return resident_id(FIRST_BORN + timedelta(days=i // 1000), seq=i % 1000)


async def seed_households(
    pool: asyncpg.Pool, first: int, count: int, township: str, *, recipients: bool, decided: datetime
) -> None:
    """`count` one-person households of persons first..first+count-1 in `township`; each an active dibao
    recipient (case `DC-<i>`) if `recipients`."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """
            with p as (
                select $2::int + o::int - 1 as i, id_number from unnest($3::text[]) with ordinality as t(id_number, o)
            ), h as (
                insert into households (township_code, address, hukou_type)
                select $1, 'DISC-' || i, 'rural' from p
                returning id, substr(address, 6)::int as i
            )
            insert into household_members (household_id, name, id_number, relation, is_applicant)
            select h.id, '测试' || h.i, p.id_number, '本人', true from h join p using (i)
            """,
            township,
            first,
            [person(i) for i in range(first, first + count)],
        )
        if not recipients:
            await conn.execute("analyze households, household_members")
            return
        await conn.execute(
            """
            insert into cases (case_id, workflow_id, assistance_type, household_id, township_code, applicant_name,
                               applicant_id_masked, channel, policy_version, stage, status, accepted_at, decided_at)
            select 'DC-' || substr(h.address, 6), 'review-DC-' || substr(h.address, 6), 'dibao', h.id, h.township_code,
                   '测试', '341503********000X', 'window', 1, 'enrolled', 'enrolled', $3, $3
            from households h where h.address like 'DISC-%' and substr(h.address, 6)::int between $1 and $1 + $2 - 1;
            """,
            first,
            count,
            decided,
        )
        await conn.execute(
            """
            insert into recipients (case_id, household_id, assistance_type, township_code, monthly_amount_fen, people,
                                    first_payment_month, decided_at)
            select c.case_id, c.household_id, 'dibao', c.township_code, 50000, 1, date_trunc('month', $1::date), $2
            from cases c
            where c.case_id like 'DC-%' and not exists (select 1 from recipients r where r.case_id = c.case_id)
            """,
            decided.date(),
            decided,
        )
        await conn.execute("analyze households, household_members, cases, recipients")


def signals(first: int, count: int, kind: SignalKind, on: date, township: str | None = None) -> list[SignalIn]:
    return [
        SignalIn(id_number=person(i), name=f"测试{i}", kind=kind, signal_on=on, township_code=township)
        for i in range(first, first + count)
    ]


async def receive(pool: asyncpg.Pool, rows: list[SignalIn], on: date, at: datetime) -> ListResult:
    """A list received on `on` (at `at`) from the medical-insurance bureau and matched under the default policy."""
    policy = DiscoveryPolicy()
    async with pool.acquire() as conn, conn.transaction():
        list_id = await discovery_repo.create_list(
            conn,
            bureau="medical",
            source="upload",
            filename="list.csv",
            by="yiliao_bu",
            at=at,
            on=on,
            keep_until=on + timedelta(days=policy.retention_days),
            signals=rows,
        )
        return await discovery_repo.match_list(conn, list_id, on, policy)


async def task_for(
    env: WorkflowEnvironment, pool: asyncpg.Pool, i: int, township: str, on: date
) -> tuple[str, WorkflowHandle, DiscoveryState]:
    """Person `i`, of a household of `township` receiving nothing, on a medical-insurance list matched on `on` (at
    10:00 Beijing): the discovery task's id, its workflow started (10 working days to visit) and its state once open."""
    at = beijing(on.year, on.month, on.day, 10)
    await seed_households(pool, i, 1, township, recipients=False, decided=at)
    [task_id] = (await receive(pool, signals(i, 1, SignalKind.LARGE_MEDICAL, on), on, at)).task_ids
    start = DiscoveryStart(
        task_id=task_id, township_code=township, kind=SignalKind.LARGE_MEDICAL, created_on=on, visit_working_days=10
    )
    h = await env.client.start_workflow(
        DiscoveryNames.WORKFLOW, start, id=discovery_workflow_id(task_id), task_queue=TASK_QUEUE
    )
    return task_id, h, await query_until(h, DiscoveryNames.STATE, DiscoveryState, lambda s: s.status == "open")
