"""The Schedules as built (no server): a payroll run missed while Temporal was down is caught up until the 28th
of its month, whatever the policy's payroll day; the other Schedules catch up one day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.schedules import PAYROLL_SCHEDULE, PERIODIC, periodic, schedule_for


@pytest.mark.parametrize(("payroll_day", "days"), [(None, 18), (10, 18), (25, 3), (28, 1)])
def test_the_payroll_schedule_catches_up_until_the_28th_the_others_one_day(payroll_day: int | None, days: int) -> None:
    built = {p.schedule_id: schedule_for(p) for p in periodic(payroll_day)}
    assert list(built) == [p.schedule_id for p in PERIODIC]
    windows = {sid: s.policy.catchup_window for sid, s in built.items()}
    assert windows.pop(PAYROLL_SCHEDULE) == timedelta(days=days)
    assert windows == {
        "jiuzhu-daily-digest": timedelta(days=1),
        "jiuzhu-monthly-sampling": timedelta(days=1),
        "jiuzhu-monthly-declaration": timedelta(days=1),
    }
