"""Pilot roll-out (`/dashboard/rollout`): which townships approve themselves (delegated) and which the
district still approves, switching a township from a date (a new policy version), and each township's
cases before and after its switch side by side: volume, working days to decision, overdue share and
irregular findings of the district's re-checks.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from db import calendar_repo, dashboard_repo, places_repo, policy_repo
from db.places_repo import Place
from infra.clock import BEIJING, today
from schemas.policy import ApprovalLevel, Policy
from webapp import authz
from webapp.deps import Db, PageActor
from webapp.render import refused, render
from webapp.supervision.common import WorkdayCounter

router = APIRouter(include_in_schema=False)


async def level_history(conn: asyncpg.Connection, towns: list[Place]) -> dict[str, list[dict[str, Any]]]:
    """For each township, the dates from which its approval level changed, read off the policy versions."""
    history: dict[str, list[dict[str, Any]]] = {t.code: [] for t in towns}
    for policy in await policy_repo.all_versions(conn):
        for code, steps in history.items():
            level = policy.review.approval_level(code)
            if not steps or steps[-1]["level"] != level:
                steps.append({"from": policy.effective_from, "level": level, "version": policy.version})
    return history


async def compare(conn: asyncpg.Connection, township: str, switched: date, window: int) -> dict[str, dict]:
    """The same number of days before and after the switch, for cases accepted in each window."""
    cal = await calendar_repo.load_calendar(conn)
    counter = WorkdayCounter(cal, switched - timedelta(days=window + 1), switched + timedelta(days=window + 400))
    out = {}
    for name, first, last in (
        ("before", switched - timedelta(days=window), switched),
        ("after", switched, switched + timedelta(days=window)),
    ):
        start = datetime.combine(first, time(0), tzinfo=BEIJING)
        end = datetime.combine(last, time(0), tzinfo=BEIJING)
        rows = await dashboard_repo.accepted_between(conn, township, start, end)
        waits = [
            counter.between(r.accepted_at.astimezone(BEIJING).date(), r.decided_at.astimezone(BEIJING).date())
            for r in rows
            if r.decided_at
        ]
        checks = await dashboard_repo.rechecks_of_accepted(conn, township, start, end)
        out[name] = {
            "first": first,
            "last": last - timedelta(days=1),
            "cases": len(rows),
            "decided": len(waits),
            "mean_days": round(sum(waits) / len(waits), 1) if waits else None,
            "overdue_share": round(100 * sum(r.overdue for r in rows) / len(rows), 1) if rows else None,
            "rechecked": checks.n,
            "irregular": checks.irregular,
        }
    return out


@router.get("/dashboard/rollout")
async def rollout(
    request: Request, actor: PageActor, db: Db, township: str | None = None, window: int = 180
) -> Response:
    if denied := refused(request, actor, "rollout.view"):
        return denied
    window = min(max(window, 30), 730)
    async with db.acquire() as conn:
        towns = await places_repo.townships_of(conn)
        history = await level_history(conn, towns)
        chosen = township or next((t.code for t in towns if len(history[t.code]) > 1), towns[0].code)
        steps = history.get(chosen, [])
        switched = steps[-1]["from"] if len(steps) > 1 else today()
        comparison = await compare(conn, chosen, switched, window)
    return render(
        request,
        "supervisor/rollout.html",
        {
            "towns": towns,
            "history": history,
            "chosen": chosen,
            "switched": switched,
            "window": window,
            "comparison": comparison,
            "levels": ApprovalLevel,
            "can_switch": authz.may(actor, "rollout.switch"),
            "error": request.query_params.get("error"),
            "done": request.query_params.get("done"),
        },
        actor=actor,
    )


@router.post("/dashboard/rollout/switch")
async def switch(
    request: Request,
    township: Annotated[str, Form()] = "",
    level: Annotated[str, Form()] = "township",
    effective_from: Annotated[str, Form()] = "",
    *,
    actor: PageActor,
    db: Db,
) -> Response:
    """A new policy version, cloned from the latest, with the township's approval level changed from a date."""
    if denied := refused(request, actor, "rollout.switch"):
        return denied
    back = f"/dashboard/rollout?township={township}"
    try:
        day = date.fromisoformat(effective_from)
        new_level = ApprovalLevel(level)
    except ValueError:
        return RedirectResponse(back + "&error=日期或审批层级无效", status_code=303)
    async with db.acquire() as conn, conn.transaction():
        place = await places_repo.get_place(conn, township)
        if place is None or place.level != "township":
            return RedirectResponse(back + "&error=乡镇（街道）不存在", status_code=303)
        current = await policy_repo.latest(conn)
        if day <= current.effective_from:
            return RedirectResponse(
                back + f"&error=生效日期须晚于现行最新版本（{current.effective_from}）", status_code=303
            )
        name = place.name
        words = "委托乡镇审核确认" if new_level is ApprovalLevel.TOWNSHIP else "由区民政局审批"
        if current.review.approval_level(township) is new_level:
            return RedirectResponse(
                back + f"&error={name}在第 {current.version} 版中已{words}，无需生成新版本", status_code=303
            )
        levels = dict(current.review.approval_level_by_township) | {township: new_level}
        version = await policy_repo.max_version(conn) + 1
        policy = current.model_copy(
            update={
                "version": version,
                "effective_from": day,
                "note": f"{name}（{township}）自 {day} 起{words}",
                "review": current.review.model_copy(update={"approval_level_by_township": levels}),
            }
        )
        await policy_repo.add(conn, Policy.model_validate(policy.model_dump()), actor.username)
    return RedirectResponse(back + f"&done=已生成第 {version} 版政策参数", status_code=303)
