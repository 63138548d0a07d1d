"""Pages of the caseworker area: intake (/cases/new), the task inbox (/inbox), the case page with its
action forms (/cases/{case_id}). Each part lives in its own module; this router gathers them, intake
first so that /cases/new is not taken for a case number."""

from __future__ import annotations

from fastapi import APIRouter

from webapp.ui import caseworker_case, caseworker_inbox, caseworker_intake

router = APIRouter(include_in_schema=False)
for _part in (caseworker_intake, caseworker_inbox, caseworker_case):
    router.include_router(_part.router)
