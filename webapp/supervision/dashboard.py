"""District dashboard (`/dashboard`): cases by stage and township, overdue counts, working days from
acceptance to decision, and the weekly trend, as Chart.js charts with the same numbers in tables.

Only district roles (supervisor, officer) and the administrator see it. Township and village staff get
403: the dashboard exists to compare townships, which is the district's supervision task, and their
own cases are in `/cases` and their inbox. Every query still applies the viewer's jurisdiction.
"""

from __future__ import annotations

import asyncio
import statistics
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response

from db import calendar_repo, dashboard_repo, policy_repo
from infra.clock import BEIJING, today
from rules.stages import Stage
from schemas.staff import Actor
from webapp.deps import Db, PageActor
from webapp.i18n import gettext_callables, locale_of
from webapp.render import refused, render
from webapp.supervision.common import WorkdayCounter

router = APIRouter(include_in_schema=False)

WEEKS = 26


async def by_stage_and_township(db: asyncpg.Pool, actor: Actor) -> list[dict[str, Any]]:
    """One row per township with cases: count per stage, total, open overdue cases."""
    townships: dict[str, dict[str, Any]] = {}
    for r in await dashboard_repo.by_township_and_stage(db, actor.place_code):
        t = townships.setdefault(r.code, {"code": r.code, "name": r.name, "stages": {}, "total": 0, "overdue": 0})
        t["stages"][r.stage] = r.n
        t["total"] += r.n
        t["overdue"] += r.overdue
    return list(townships.values())


async def decision_times(db: asyncpg.Pool, actor: Actor) -> list[dict[str, Any]]:
    """Working days from acceptance to the township's decision (cases.decided_at), per township.

    Elapsed working days on the statutory calendar, pauses for missing materials included (that is the
    applicant's wait). "Over the limit" compares with the promised limit of each case's policy version.
    """
    rows = await dashboard_repo.decisions(db, actor.place_code)
    if not rows:
        return []
    async with db.acquire() as conn:
        cal = await calendar_repo.load_calendar(conn)
    counter = WorkdayCounter(cal, min(r.accepted_on for r in rows), max(r.decided_on for r in rows))
    days: dict[tuple[str, str], list[int]] = defaultdict(list)
    over: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        key = (r.code, r.name)
        n_days = counter.between(r.accepted_on, r.decided_on)
        days[key] += [n_days] * r.n
        over[key] += r.n if n_days > r.limit_days else 0
    return [
        {
            "code": code,
            "name": name,
            "decided": len(values),
            "mean": round(statistics.fmean(values), 1),
            "median": statistics.median(values),
            "max": max(values),
            "over_limit": over[code, name],
        }
        for (code, name), values in days.items()
    ]


async def weekly(db: asyncpg.Pool, actor: Actor, until: date) -> list[dict[str, Any]]:
    """Cases accepted and decided per week (Monday to Sunday, Beijing time), the last 26 weeks."""
    first = until - timedelta(days=until.weekday(), weeks=WEEKS - 1)
    since = datetime.combine(first, time(0), BEIJING)
    accepted = await dashboard_repo.weekly(db, actor.place_code, "accepted_at", since)
    decided = await dashboard_repo.weekly(db, actor.place_code, "decided_at", since)
    weeks = [first + timedelta(weeks=i) for i in range(WEEKS)]
    return [{"week": w, "accepted": accepted.get(w, 0), "decided": decided.get(w, 0)} for w in weeks]


async def promised_limit(db: asyncpg.Pool, on: date) -> int:
    async with db.acquire() as conn:
        return (await policy_repo.in_force(conn, on)).review.promised_working_days


def chart_data(
    request: Request,
    stages: list[Stage],
    townships: list[dict[str, Any]],
    times: list[dict[str, Any]],
    weeks: list[dict[str, Any]],
    limit: int,
) -> dict[str, Any]:
    """What supervisor.js draws, labels already in the page's language."""
    _ = gettext_callables(locale_of(request))[0]
    return {
        "stages": {
            "labels": [t["name"] for t in townships],
            "datasets": [
                {"label": _(s.label), "data": [t["stages"].get(s.value, 0) for t in townships]} for s in stages
            ],
        },
        "times": {
            "labels": [t["name"] for t in times],
            "datasets": [
                {"label": _("Average"), "data": [t["mean"] for t in times]},
                {"label": _("Median"), "data": [t["median"] for t in times]},
            ],
            "limit": {"label": _("Promised limit (%(days)d working days)", days=limit), "value": limit},
        },
        "weekly": {
            "labels": [w["week"].isoformat() for w in weeks],
            "datasets": [
                {"label": _("Accepted"), "data": [w["accepted"] for w in weeks]},
                {"label": _("Decided"), "data": [w["decided"] for w in weeks]},
            ],
        },
    }


@router.get("/dashboard")
async def dashboard(request: Request, actor: PageActor, db: Db) -> Response:
    if denied := refused(request, actor, "dashboard.view"):
        return denied
    on = today()
    kpi, townships, times, weeks, limit = await asyncio.gather(
        dashboard_repo.totals(db, actor.place_code),
        by_stage_and_township(db, actor),
        decision_times(db, actor),
        weekly(db, actor, on),
        promised_limit(db, on),
    )
    stages = list(Stage)
    context = {
        "kpi": kpi,
        "stages": stages,
        "townships": townships,
        "stage_totals": {s.value: sum(t["stages"].get(s.value, 0) for t in townships) for s in stages},
        "times": times,
        "weeks": weeks,
        "limit": limit,
        "today": on,
        "charts": chart_data(request, stages, townships, times, weeks, limit),
    }
    return render(request, "supervisor/dashboard.html", context, actor=actor)
