"""A period's end is stated as its last day, inclusive, on pages and PDFs alike (issue 17, point 7): a 公示
ending at 00:00 Beijing on 12-12 runs to 12-11, as the approval PDF's "至 2026-12-11" says."""

from __future__ import annotations

from datetime import UTC, datetime

from rules.clock import last_day
from tests.support.clock import beijing
from webapp.render import env


def test_the_last_day_is_the_day_before_the_end_instant() -> None:
    assert last_day(beijing(2026, 12, 12)).isoformat() == "2026-12-11"
    assert last_day(datetime(2026, 12, 11, 16, 0, tzinfo=UTC)).isoformat() == "2026-12-11"  # the same instant
    assert last_day(beijing(2026, 12, 12, 9, 30)).isoformat() == "2026-12-12"  # ends during the day


def test_pages_show_it_from_the_workflow_state() -> None:
    template = env.from_string("{{ at|last_day }} {{ at|bjtime }}")
    assert template.render(at="2026-12-11T16:00:00+00:00") == "2026-12-11 2026-12-12 00:00"
