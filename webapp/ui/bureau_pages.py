"""The partner bureaus' inbox (转介收件箱): the referrals a bureau owes an answer on, coloured by deadline,
and one referral's page where the bureau accepts, asks for information and reports the help given, and
where the township supplies the information asked for.

The pages call the functions of the HTTP API (webapp.frontdoor_api), so both refuse alike.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from infra import clock
from rules.needs import BY_CODE
from schemas.staff import Actor, Bureau, Role
from webapp import frontdoor_api as api
from webapp.errors import ApiError
from webapp.ui.action_forms import RowPage, plain_forms
from webapp.ui.render import PageActor, render, render_error

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {"delivered": "待签收", "accepted": "办理中", "info_requested": "待补充信息", "answered": "已反馈"}
OUTCOME_LABELS = {"helped": "已给予帮助", "not_eligible": "不符合条件", "declined": "不予帮助"}
LABELS = {
    "status_labels": STATUS_LABELS,
    "outcome_labels": OUTCOME_LABELS,
    "bureau_labels": {b.value: b.label for b in Bureau},
    "by_code": BY_CODE,
    "beijing": clock.BEIJING,
}


def row_class(item: api.ReferralSummary) -> str:
    """Red when a deadline has passed (or the district was told), amber when the next one is today or tomorrow."""
    if item.status == "answered":
        return ""
    if item.accept_overdue or item.result_overdue:
        return "overdue"
    due = item.accept_due if item.status == "delivered" else item.result_due
    return "near" if due is not None and due <= clock.today() + timedelta(days=1) else ""


@router.get("/bureau")
async def inbox(request: Request, status: str = "open", bureau: str = "", actor: Actor = PageActor) -> Response:
    chosen = status if status in ("open", "answered") else "open"
    try:
        listing = await api.list_referrals(
            request, actor, Bureau(bureau) if bureau in Bureau._value2member_map_ else None, chosen, None, 500
        )
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    return render(
        request,
        "bureau/inbox.html",
        LABELS
        | {
            "listing": listing,
            "rows": [(i, row_class(i)) for i in listing.items],
            "status": chosen,
            "bureau": bureau,
            "today": clock.today(),
            "all_bureaus": actor.role is not Role.BUREAU_STAFF,
        },
        actor=actor,
    )


async def _referral(request: Request, referral_id: str, actor: Actor) -> dict[str, Any]:
    detail = await api.referral_detail(request, referral_id, actor)
    ref = detail.referral
    own_bureau = actor.role is Role.BUREAU_STAFF and actor.bureau == ref.bureau
    return LABELS | {
        "detail": detail,
        "ref": ref,
        "row_class": row_class(ref),
        "may_accept": own_bureau and ref.status == "delivered",
        "may_answer": own_bureau and ref.status in ("accepted", "info_requested"),
        "may_ask": own_bureau and ref.status == "accepted",
        "may_supply": actor.role in api.DESK_ROLES and ref.status == "info_requested",
    }


REFERRAL_PAGE = RowPage(
    "/bureau/referrals", "referral_id", "bureau/referral.html", _referral, plain_forms(api.REFERRALS)
)
REFERRAL_PAGE.install(router)
