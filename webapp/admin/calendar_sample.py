"""The calendar import's helpers for office staff: a sample notice to download and fill in (served by the
app, so the page never points at a file of the repository), and the preview of what a notice changes
before it is imported."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from fastapi.responses import Response

from db.calendar_repo import CSV_HEADER, Notice
from infra.clock import today
from rules.calendar import HOLIDAY, WORKDAY, WorkCalendar, notice_span
from rules.holidays import statutory_days
from webapp.admin.common import AdminActor
from webapp.exports import safe_row

router = APIRouter(include_in_schema=False)

SAMPLE_SOURCE = "示例：请改为通知的名称和文号，如 国务院办公厅关于{year}年部分节假日安排的通知"


def sample_rows(year: int) -> list[tuple[dt.date, str, str]]:
    """The statutory days of `year` as holidays: a start to correct from the notice (which adds the
    bridges and the make-up working days, kind "workday")."""
    return sorted((d, HOLIDAY, name) for name, days in statutory_days(year).items() for d in days)


def sample(year: int, fmt: Literal["csv", "json"]) -> str:
    rows = sample_rows(year)
    if fmt == "json":
        body = {
            "year": year,
            "source": SAMPLE_SOURCE.format(year=year),
            "holidays": [{"date": d.isoformat(), "name": name} for d, _, name in rows],
            "workdays": [],
        }
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(safe_row([d.isoformat(), kind, name]) for d, kind, name in rows)
    return out.getvalue()


@router.get("/admin/calendar/sample.{fmt}")
async def sample_file(fmt: Annotated[Literal["csv", "json"], Path()], *, actor: AdminActor) -> Response:
    year = today().year + 1
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    data = sample(year, fmt).encode("utf-8-sig" if fmt == "csv" else "utf-8")  # a BOM so Excel reads UTF-8
    name = f"calendar-sample-{year}.{fmt}"
    return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})


def preview(notice: Notice, calendar: WorkCalendar) -> list[dict[str, Any]]:
    """Each day of the notice, and whether importing it changes the day (a holiday or make-up working
    day the calendar does not count yet)."""
    return [
        {
            "date": d,
            "kind": kind,
            "name": name or "",
            "changes": calendar.is_workday(d) == (kind == HOLIDAY),
        }
        for d, kind, name in notice.days()
    ]


def rest_days_lost(notice: Notice, calendar: WorkCalendar) -> list[dt.date]:
    """The days the notice arranges that are days off in the calendar in force and would be worked once it is
    imported: the notice replaces its year's days whole, so a day off it does not list is a working day again."""
    kinds = {d: kind for d, kind, _ in notice.days()}
    first, last = notice_span(notice.year)
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [d for d in days if (kinds[d] == WORKDAY if d in kinds else d.weekday() < 5) and not calendar.is_workday(d)]
