"""One household view (一户一档): everything the system knows for an ID number on one page, so that help
is neither missed nor paid twice. The ID number is shown whole only to those who open cases for people
(township staff, district officers); everyone else reads it masked, in the header too."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from rules.stages import STAGE_LABELS
from schemas.emergency import EmergencyKind
from schemas.review import AssistanceType
from schemas.staff import Actor
from webapp import frontdoor_api as api
from webapp.errors import ApiError
from webapp.ui.frontdoor_pages import LABELS
from webapp.ui.render import PageActor, render, render_error

router = APIRouter(include_in_schema=False)


DENIED = "只有乡镇（街道）经办人、审批人和区民政局工作人员可以查看家庭信息"


@router.get("/households")
async def household_form(request: Request, actor: Actor = PageActor) -> Response:
    if actor.role not in api.HOUSEHOLD_ROLES:
        return render_error(request, 403, DENIED, actor)
    return render(request, "household/view.html", _context(""), actor=actor)


@router.post("/households")
async def household(request: Request, actor: Actor = PageActor) -> Response:
    """Posted, not a query string: the ID number stays out of URLs (proxy logs, browser history)."""
    if actor.role not in api.HOUSEHOLD_ROLES:
        return render_error(request, 403, DENIED, actor)
    id_number = str((await request.form()).get("id_number", "")).strip()
    context, status = _context(id_number), 200
    if not id_number:
        context["error"], status = "请输入身份证号码", 422
    else:
        try:
            context["view"] = await api.household_view(request, id_number, actor)
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
    }
