"""Helpers for front-door workflow tests: a resident's request started straight on Temporal, bureau staff,
waiting on a workflow's query."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from infra.config import TASK_QUEUE
from schemas.frontdoor import (
    Channel,
    FrontDoorRequest,
    IntakeNames,
    IntakeStart,
    IntakeState,
    RequestKind,
    intake_workflow_id,
)
from schemas.staff import Actor, Bureau, Role
from tests.factories import resident_id


def bureau_staff(bureau: Bureau) -> Actor:
    return Actor(
        username=f"{bureau.value}_staff",
        full_name=f"{bureau.label} 工作人员",
        role=Role.BUREAU_STAFF,
        place_code="341503",
        bureau=bureau,
    )


async def submit(env: WorkflowEnvironment, no: str, kind: RequestKind, needs: list[str], **extra) -> WorkflowHandle:
    request = FrontDoorRequest(
        kind=kind,
        needs=needs,
        name="周九",
        id_number=resident_id(date(1958, 1, 9)),
        phone="13905641111",
        township_code="341503106",
        village_code="341503106202",
        address="示范村二 周家庄",
        description="老伴重病，孙子上学困难，家里收入很少",
        **extra,
    )
    return await env.client.start_workflow(
        IntakeNames.WORKFLOW,
        IntakeStart(request_no=no, request=request, channel=Channel.PORTAL),
        id=intake_workflow_id(no),
        task_queue=TASK_QUEUE,
        result_type=IntakeState,
        execution_timeout=timedelta(days=200),
    )


async def eventually(h: WorkflowHandle, name: str, result_type, predicate):
    """Query `h` until `predicate` holds; a child workflow not started yet is waited for, any other error fails."""
    last = None
    for _ in range(600):  # 30 s: child workflows start late on a busy machine
        try:
            last = await h.query(name, result_type=result_type)
        except RPCError as e:
            if e.status is not RPCStatusCode.NOT_FOUND:
                raise
            last = e
        else:
            if predicate(last):
                return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition never held for {h.id}; last seen: {last!r}")
