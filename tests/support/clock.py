"""Time as an input of the tests: every test that depends on "today" states the Beijing instant it starts at.

- `beijing(2026, 9, 30, 23, 30)` is an instant stated in Beijing time; `@pytest.mark.start_at(instant)` (or
  parametrising `start_at`, as `SWEEP` does) puts the test there. Without one, a test runs at `DEFAULT_START`.
- Temporal's time-skipping server starts at that instant, past or future: it runs under libfaketime
  (`LD_PRELOAD`, Debian's `libfaketime`) with its clock offset from the real one, then moves forward
  only, when the test skips time.
- This process follows the server's clock (time-machine), so the in-process web app, `infra.clock.today()`
  and the test's own arithmetic see the same Beijing day as the workflows; a web app run as its own
  process follows it too (libfaketime reading an offset file that is rewritten at every skip).
- The dev server (Go) cannot be moved: tests on it take their dates from what the workflow recorded,
  never from the machine's clock.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import stat
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import time_machine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from infra.config import temporal_test_server
from infra.temporal import data_converter
from rules.calendar import WorkCalendar

# Stated here, not imported from rules.clock: expected values must not come from the code under test.
BEIJING = timezone(timedelta(hours=8))


def beijing(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """An instant stated in Beijing time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=BEIJING)


# A Tuesday morning in an ordinary working week of a year with a holiday notice; its 20-working-day deadline
# (2026-12-22) stays in 2026.
DEFAULT_START = beijing(2026, 11, 24, 9, 30)

# The instants the date-sensitive workflow tests start at (issue: "a date sweep").
SWEEP = [
    pytest.param(beijing(2026, 11, 25, 23, 30), id="normal-day-2330"),
    pytest.param(beijing(2026, 9, 30, 10, 0), id="eve-of-national-day"),
    pytest.param(beijing(2026, 2, 13, 16, 0), id="friday-before-makeup-saturday"),
    pytest.param(beijing(2026, 2, 16, 10, 0), id="spring-festival-eve"),
    pytest.param(beijing(2026, 12, 31, 23, 59), id="new-years-eve-2359"),
    pytest.param(datetime(2026, 12, 3, 16, 30, tzinfo=UTC), id="utc-1630"),  # 00:30 Beijing on 12-04
]


def minute(at: datetime) -> datetime:
    """Timers fire a few milliseconds after their time: compare to the minute, in Beijing time."""
    return at.astimezone(BEIJING).replace(second=0, microsecond=0)


def midnight_after(day: date) -> datetime:
    """00:00 Beijing after `day`: when a deadline on `day` has passed and escalates."""
    return datetime.combine(day + timedelta(days=1), time(0), BEIJING)


def at_0830(day: date) -> datetime:
    """08:30 Beijing on `day`: when reminders go out."""
    return datetime.combine(day, time(8, 30), BEIJING)


def on_day(at: datetime) -> date:
    """The Beijing date of an instant."""
    return at.astimezone(BEIJING).date()


def reminder_instant(calendar: WorkCalendar, deadline: date, days_left: int) -> datetime:
    """When the "`days_left` working days left" reminder of `deadline` goes out: 08:30 on the working day
    after whose close `days_left` working days remain."""
    return at_0830(calendar.working_day_before(deadline, days_left))


def libfaketime() -> str:
    """Debian's libfaketime, installed by scripts/system-deps.sh (make test runs it)."""
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1")) + sorted(
        glob.glob("/usr/lib/faketime/libfaketime.so.1")
    )
    if not found:
        pytest.fail("libfaketime is missing: run scripts/system-deps.sh (make test does)")
    return found[0]


def _real_now() -> datetime:
    """The machine's clock, whatever time-machine says."""
    if time_machine.escape_hatch.is_travelling():
        return datetime.fromtimestamp(time_machine.escape_hatch.time.time(), BEIJING)
    return datetime.now(BEIJING)


def _faketime_env(offset: timedelta) -> dict[str, str]:
    return {
        "LD_PRELOAD": libfaketime(),
        "FAKETIME": f"{offset.total_seconds():+.3f}",
        # Timeouts and event loops keep the real monotonic clock. Without the second setting libfaketime
        # also rewrites the deadlines of condition-variable waits, and every long poll of the test server
        # returns about 100 ms late.
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "FAKETIME_FORCE_MONOTONIC_FIX": "0",
    }


class SkippingEnvironment:
    """Temporal's time-skipping server started at a stated instant, with this process's clock following it.

    `sleep` and `skip_to` move the server's clock forward and bring this process (and any web process
    started with `process_env()`) to the same instant; everything else is the SDK's environment's.
    """

    def __init__(self, env: WorkflowEnvironment, travel: time_machine.travel, offset_file: Path) -> None:
        self._env = env
        self._travel = travel
        self._traveller = travel.start()
        self._offset_file = offset_file

    @classmethod
    async def start(cls, at: datetime) -> SkippingEnvironment:
        workdir = Path(tempfile.mkdtemp(prefix="jiuzhu-clock-"))
        server = workdir / "temporal-test-server"
        exports = "".join(f"export {k}='{v}'\n" for k, v in _faketime_env(at - _real_now()).items())
        server.write_text(f'#!/bin/sh\n{exports}exec "{temporal_test_server()}" "$@"\n')
        server.chmod(server.stat().st_mode | stat.S_IXUSR)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=data_converter(), test_server_existing_path=str(server)
        )
        server_now = await env.get_current_time()
        if abs(server_now - at) > timedelta(minutes=1):
            await env.shutdown()
            raise RuntimeError(f"the time-skipping server started at {server_now}, not {at}: libfaketime not applied")
        clock = cls(env, time_machine.travel(server_now, tick=True), workdir / "offset")
        clock._write_offset(server_now)
        return clock

    def __getattr__(self, name: str):  # the SDK environment's other attributes
        return getattr(self._env, name)

    @property
    def client(self) -> Client:
        return self._env.client

    async def get_current_time(self) -> datetime:
        return await self._env.get_current_time()

    async def sleep(self, duration: timedelta | float) -> None:
        """Skip `duration` on the server (timers due on the way fire), then follow it here."""
        await self._env.sleep(duration)
        await self.follow()

    async def skip_to(self, when: datetime) -> None:
        """Move the server's clock forward to `when` (timers due by then fire on the way)."""
        now = await self._env.get_current_time()
        if when <= now:
            raise AssertionError(f"the test server is already at {now}, past {when}")
        await self.sleep(when - now)

    async def follow(self) -> datetime:
        """Bring this process and any web process to the server's current time (after the server skipped
        on its own, e.g. while a test awaited a workflow's result); returns that time."""
        now = await self._env.get_current_time()
        self._traveller.move_to(now, tick=True)
        self._write_offset(now)
        return now

    def process_env(self) -> dict[str, str]:
        """Environment for a process (a web app) whose clock follows this one, skips included."""
        env = _faketime_env(timedelta(0))
        del env["FAKETIME"]
        return env | {"FAKETIME_TIMESTAMP_FILE": str(self._offset_file), "FAKETIME_NO_CACHE": "1"}

    def _write_offset(self, now: datetime) -> None:
        tmp = self._offset_file.with_suffix(".tmp")
        tmp.write_text(f"{(now - _real_now()).total_seconds():+.3f}\n")
        os.replace(tmp, self._offset_file)

    async def shutdown(self) -> None:
        try:
            await self._env.shutdown()
        finally:
            self._travel.stop()
            shutil.rmtree(self._offset_file.parent, ignore_errors=True)


ONE_MINUTE = timedelta(minutes=1)


async def on_time(env: SkippingEnvironment, at: datetime, fired: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Skip to a minute before `at`: `fired()` is still falsy (nothing fires early); then to a minute after and
    wait (in real time) until it is truthy (it fires on time). Returns what `fired()` returned."""
    await env.skip_to(at - ONE_MINUTE)
    early = await fired()
    assert not early, f"{what} before {at}: {early!r}"
    await env.skip_to(at + ONE_MINUTE)
    for _ in range(200):
        seen = await fired()
        if seen:
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen at {at}")
