"""Waiting for what the workflows do, and reading their refusals: `eventually` (any check, e.g. a row their
activities write), `query_until` (a workflow's query) and `refused` (an update its validator turned down)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode


async def eventually(check: Callable[[], Awaitable[Any]], what: str, tries: int = 600) -> Any:
    """Wait (in real time, up to `tries` tenths of a second) until `check()` is truthy; returns it."""
    for _ in range(tries):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


async def query_until(h: WorkflowHandle, name: str, result_type, predicate):
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


async def refused(coro: Awaitable[Any]) -> ApplicationError:
    """The refusal an update (the awaitable `coro`) met: its validator's ApplicationError."""
    with pytest.raises(WorkflowUpdateFailedError) as e:
        await coro
    assert isinstance(e.value.cause, ApplicationError)
    return e.value.cause


async def end_if_running(h: WorkflowHandle) -> None:
    """Terminate a workflow the test leaves open; one that has meanwhile finished by itself (on the time-skipping
    server its timers may fire while the test asserts) is left as it is."""
    try:
        await h.terminate("test over")
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:  # "Completed workflow"
            raise
