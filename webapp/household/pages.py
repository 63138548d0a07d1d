"""One household view (一户一档): everything the system knows for an ID number on one page, so that help
is neither missed nor paid twice. The ID number is shown whole only to those who open cases for people
(township staff, district officers); everyone else reads it masked, in the header too."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from rules.stages import STAGE_LABELS
from schemas.emergency import EmergencyKind
from schemas.people import Relation
from schemas.review import AssistanceType
from webapp import access_log
from webapp.deps import Db, PageActor
from webapp.errors import ApiError
from webapp.frontdoor.labels import DESK_LABELS as LABELS
from webapp.household.service import household_view
from webapp.render import refused, render

router = APIRouter(include_in_schema=False)


@router.get("/households")
async def household_form(request: Request, actor: PageActor) -> Response:
    if denied := refused(request, actor, "household.view"):
        return denied
    return render(request, "household/view.html", _context(""), actor=actor)


@router.post("/households")
async def household(request: Request, actor: PageActor, db: Db) -> Response:
    """Posted, not a query string: the ID number stays out of URLs (proxy logs, browser history)."""
    if denied := refused(request, actor, "household.view"):
        return denied
    id_number = str((await request.form()).get("id_number", "")).strip()
    context, status = _context(id_number), 200
    if not id_number:
        context["error"], status = "请输入身份证号码", 422
    else:
        try:
            context["view"] = await household_view(db, id_number, actor)
            await access_log.household(request, actor, id_number)
        except ApiError as exc:
            context["error"], status = exc.message, exc.status
    return render(request, "household/view.html", context, status=status, actor=actor)


def _context(query: str) -> dict:
    return LABELS | {
        "query": query,
        "view": None,
        "error": None,
        "stage_labels": STAGE_LABELS,
        "assistance_labels": {t.value: t.label for t in AssistanceType},
        "emergency_labels": {k.value: k.label for k in EmergencyKind},
        "relation_labels": {r.value: r.label for r in Relation},
    }
