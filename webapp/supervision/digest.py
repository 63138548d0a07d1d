"""The daily digest (`/supervision/digest`, and a compact panel on `/inbox`): the lists the morning run
kept for the user's place (webapp.review.digests).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from db import supervision_repo
from infra.clock import today
from schemas.staff import BUREAU_LABELS
from webapp import authz
from webapp.deps import Db, PageActor
from webapp.frontdoor.labels import COMPLAINT_STATUS
from webapp.frontdoor.labels import STATUS_LABELS as REFERRAL_STATUS
from webapp.review.digests import counts, digest_place, latest_digest
from webapp.supervision.common import page, refused

router = APIRouter(include_in_schema=False)

RECENT_DAYS = 14


@router.get("/supervision/digest")
async def digest(request: Request, actor: PageActor, db: Db, day: date | None = None) -> Response:
    if denied := refused(request, actor, "digest"):
        return denied
    found = await latest_digest(db, actor, day)
    since = (found.day if found else day or today()) - timedelta(days=RECENT_DAYS)
    place = digest_place(actor)
    context: dict[str, Any] = {
        "section": "digest",
        "digest": found,
        "counts": counts(found),
        "days": await supervision_repo.digest_days(db, place, since) if place else [],
        "bureau_labels": BUREAU_LABELS,
        "referral_status": REFERRAL_STATUS,
        "complaint_status": COMPLAINT_STATUS,
        "frontdoor_desk": authz.may(actor, "request.register"),
    }
    return page(request, "supervision/digest.html", context, actor)
