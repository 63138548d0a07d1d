"""The administrator's overview page (`/admin`); the area's sections are the other modules of
`webapp.admin` (users, the staff near-relatives register, places, the working-day calendar, policy versions)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from db import places_repo, policy_repo, relatives_repo, users_repo
from db.calendar_repo import imported_years, load_calendar, year_statuses
from infra.clock import today
from webapp.admin.common import AdminActor, render_admin
from webapp.deps import Db

router = APIRouter(include_in_schema=False)


@router.get("/admin")
async def overview(request: Request, *, actor: AdminActor, db: Db) -> Response:
    """One line of state per section, so what needs attention (a provisional year) shows at once."""
    day = today()
    async with db.acquire() as conn:
        users = await users_repo.user_counts(conn)
        counts = {
            "active_users": users.active,
            "inactive_users": users.inactive,
            "relatives": await relatives_repo.count_registered(conn),
            "townships": await places_repo.count(conn, "township"),
            "villages": await places_repo.count(conn, "village"),
        }
        statuses = year_statuses(await load_calendar(conn), await imported_years(conn), day)
        try:
            policy = await policy_repo.in_force(conn, day)
        except LookupError:
            policy = None
    provisional = [s.year for s in statuses if s.provisional and s.year >= day.year]
    context = {"counts": counts, "provisional": provisional, "policy": policy}
    return render_admin(request, "admin/index.html", context, actor)
