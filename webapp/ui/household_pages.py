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


@router.get("/households")
async def household(request: Request, id: str = "", actor: Actor = PageActor) -> Response:
    if actor.role not in api.HOUSEHOLD_ROLES:
        return render_error(request, 403, "只有乡镇（街道）经办人、审批人和区民政局工作人员可以查看家庭信息", actor)
    context = LABELS | {
        "query": id.strip(),
        "view": None,
        "error": None,
        "stage_labels": STAGE_LABELS,
        "assistance_labels": {t.value: t.label for t in AssistanceType},
        "emergency_labels": {k.value: k.label for k in EmergencyKind},
    }
    status = 200
    if id.strip():
        try:
            context["view"] = await api.household_view(request, id.strip(), actor)
        except ApiError as exc:
            context["error"], status = exc.message, exc.status
    return render(request, "household/view.html", context, status=status, actor=actor)
