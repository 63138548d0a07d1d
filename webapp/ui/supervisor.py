"""The supervisor area: case search and export, dashboard, overdue list with take-over, approval form PDF.

Each page lives in its own module; this router gathers them so `webapp.ui.setup` registers one router.
"""

from __future__ import annotations

from fastapi import APIRouter

from webapp.ui import pdf, supervisor_cases, supervisor_dashboard, supervisor_overdue, supervisor_rollout

router = APIRouter(include_in_schema=False)
for _part in (supervisor_cases, supervisor_dashboard, supervisor_rollout, supervisor_overdue, pdf):
    router.include_router(_part.router)
