"""Helpers for emergency-aid tests: a household in 石婆店镇示范村一, funds with money, actions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from db import funds_repo
from infra.config import TASK_QUEUE
from rules.emergency_actions import EmergencyAction
from schemas.emergency import (
    DocumentationExemption,
    DocumentsRecorded,
    EmergencyAck,
    EmergencyHousehold,
    EmergencyKind,
    EmergencyNames,
    EmergencyStart,
    EmergencyState,
    FundSource,
    PaymentApproval,
    emergency_workflow_id,
)
from tests.support.actions import update_of
from tests.support.factories import actor, resident_id

VILLAGE, TOWNSHIP, DISTRICT = "341503106201", "341503106", "341503"


async def fund(pool: asyncpg.Pool, place: str, amount: str, source: FundSource = FundSource.GOVERNMENT) -> None:
    async with pool.acquire() as conn:
        await funds_repo.add_income(
            conn, place, Decimal(amount), source, "admin", donor="爱心企业" if source is FundSource.DONATION else None
        )


def emergency_start(
    event_id: str,
    *,
    id_number: str | None = None,
    by: str = "shipo_cun1",
    member_id_numbers: tuple[str, ...] = (),
    **start_fields: Any,
) -> EmergencyStart:
    """An event of 赵六 (a fresh ID number unless `id_number`; the household's other members `member_id_numbers`);
    `start_fields` (path, expense, declared_relatives, …) go into its `EmergencyStart`."""
    return EmergencyStart(
        event_id=event_id,
        kind=EmergencyKind.FIRE,
        description="夜间房屋失火，家中财物烧毁",
        household=EmergencyHousehold(
            name="赵六",
            id_number=id_number or resident_id(date(1975, 6, 1)),
            township_code=TOWNSHIP,
            village_code=VILLAGE,
            address="示范村一 赵家湾 3 号",
            members=4,
            member_id_numbers=list(member_id_numbers),
        ),
        registered_by=actor(by),
        **start_fields,
    )


async def start_emergency(env: WorkflowEnvironment, event_id: str | None = None, **start_fields: Any) -> WorkflowHandle:
    """Start an event (`emergency_start`, with `start_fields`) and wait until it is registered."""
    event_id = event_id or f"E{uuid.uuid4().hex[:10]}"
    start = emergency_start(event_id, **start_fields)
    h = await env.client.start_workflow(
        EmergencyNames.WORKFLOW,
        start,
        id=emergency_workflow_id(event_id),
        task_queue=TASK_QUEUE,
        result_type=EmergencyState,
        execution_timeout=timedelta(days=60),
    )
    for _ in range(100):  # the registration activity runs first
        s = await h.query(EmergencyNames.STATE, result_type=EmergencyState)
        if s.log or s.duplicate_of:
            return h
        await asyncio.sleep(0.05)
    raise AssertionError("emergency never registered")


async def pay(h: WorkflowHandle, who: str, tier: str, amount: str) -> EmergencyAck:
    return await h.execute_update(
        update_of(EmergencyAction.APPROVE),
        PaymentApproval(actor=actor(who), tier=tier, amount=Decimal(amount)),
        result_type=EmergencyAck,
    )


async def state(h: WorkflowHandle) -> EmergencyState:
    return await h.query(EmergencyNames.STATE, result_type=EmergencyState)


async def documents(h: WorkflowHandle, who: str, payment_key: str | None = None) -> EmergencyAck:
    """Documents supplied for the payment (every payment still owing them if none is named)."""
    body = DocumentsRecorded(actor=actor(who), items=["救助申请书", "病历"], payment_key=payment_key)
    return await h.execute_update(update_of(EmergencyAction.DOCUMENTS), body, result_type=EmergencyAck)


async def exempt(h: WorkflowHandle, who: str, payment_key: str | None = None) -> EmergencyAck:
    """A written exemption from the documents of the payment (of every payment still owing them if none)."""
    body = DocumentationExemption(
        actor=actor(who), decision_no="裕民救〔2026〕12号", reason="原始票据毁于火灾，无法补齐", payment_key=payment_key
    )
    return await h.execute_update(update_of(EmergencyAction.EXEMPT), body, result_type=EmergencyAck)


def logged(h: WorkflowHandle, kind: str, payment_key: str | None = None):
    """A check for `on_time`: the first log entry of `kind` (for that payment, if given), else None."""

    async def entry() -> dict | None:
        found = (e for e in (await state(h)).log if e["kind"] == kind)
        return next((e for e in found if payment_key is None or e["payload"].get("payment_key") == payment_key), None)

    return entry


async def act(h: WorkflowHandle, update: str, payload: Any) -> EmergencyAck:
    return await h.execute_update(update, payload, result_type=EmergencyAck)


async def close_paid(h: WorkflowHandle, by: str = "shipo_jingban") -> None:
    """Documents supplied and the event closed."""
    from schemas.emergency import CloseEvent, DocumentsRecorded

    await act(
        h, update_of(EmergencyAction.DOCUMENTS), DocumentsRecorded(actor=actor(by), items=["救助申请书"])
    )  # every payment
    await act(h, update_of(EmergencyAction.CLOSE), CloseEvent(actor=actor(by), summary="救助到位"))
