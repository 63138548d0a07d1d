"""The partner bureaus' inbox (转介收件箱): the referrals a bureau owes an answer on, coloured by deadline,
and one referral's page where the bureau accepts, asks for information and reports the help given, and
where the township supplies the information asked for.

The pages call the functions the HTTP API calls (webapp.frontdoor.referrals), so both refuse alike.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
from fastapi import APIRouter, Request, Response
from temporalio.client import Client

from infra import clock
from schemas.staff import Actor, Bureau, Role
from webapp.deps import Db, PageActor
from webapp.errors import ApiError
from webapp.frontdoor.labels import REFERRAL_LABELS as LABELS
from webapp.frontdoor.models import ReferralSummary
from webapp.frontdoor.referrals import REFERRALS, actions_for, list_referrals, referral_detail
from webapp.frontdoor.row_pages import RowPage, action_forms
from webapp.frontdoor.waiting import referral_lines, referral_list_lines
from webapp.render import render, render_error

router = APIRouter(include_in_schema=False)


def row_class(item: ReferralSummary) -> str:
    """Red when a deadline has passed (or the district was told), amber when the next one is today or tomorrow."""
    if item.status == "answered":
        return ""
    if item.accept_overdue or item.result_overdue:
        return "overdue"
    due = item.accept_due if item.status == "delivered" else item.result_due
    return "near" if due is not None and due <= clock.today() + timedelta(days=1) else ""


@router.get("/bureau")
async def inbox(request: Request, actor: PageActor, db: Db, status: str = "open", bureau: str = "") -> Response:
    chosen = status if status in ("open", "answered") else "open"
    try:
        wanted = Bureau(bureau) if bureau in Bureau._value2member_map_ else None
        listing = await list_referrals(db, actor, wanted, chosen, None, 500)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    return render(
        request,
        "bureau/inbox.html",
        LABELS
        | {
            "listing": listing,
            "rows": [(i, row_class(i)) for i in listing.items],
            "waiting": await referral_list_lines(db, listing.items),
            "status": chosen,
            "bureau": bureau,
            "today": clock.today(),
            "all_bureaus": actor.role is not Role.BUREAU_STAFF,
        },
        actor=actor,
    )


async def _referral(db: asyncpg.Pool, temporal: Client | None, referral_id: str, actor: Actor) -> dict[str, Any]:
    detail = await referral_detail(db, temporal, referral_id, actor)
    ref = detail.referral
    waiting = await referral_lines(db, detail)
    return LABELS | {
        "detail": detail,
        "ref": ref,
        "row_class": row_class(ref),
        "actions": actions_for(ref, actor),
        "waiting": waiting,
    }


REFERRAL_PAGE = RowPage("/bureau/referrals", "referral_id", "bureau/referral.html", _referral, action_forms(REFERRALS))
REFERRAL_PAGE.install(router)
