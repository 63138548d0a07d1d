"""The daily digest (`/supervision/digest`, and a compact panel on `/inbox`): the lists the morning run
kept for the user's place, the township for township staff and the district for district roles.

The digest is what was sent that morning, not a live query: it is the record of who was told what.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response

from infra.clock import today
from schemas.staff import Actor, Bureau, Role
from webapp.auth import pool
from webapp.ui.bureau_pages import STATUS_LABELS as REFERRAL_STATUS
from webapp.ui.frontdoor_pages import COMPLAINT_STATUS
from webapp.ui.render import PageActor
from webapp.ui.supervision_common import DISTRICT_ROLES, TOWNSHIP_STAFF, page, refused

router = APIRouter(include_in_schema=False)

RECENT_DAYS = 14
LISTS = ("overdue", "due_soon", "referrals", "complaints")


def digest_place(actor: Actor) -> str | None:
    """Digests are kept per township and for the district; village cadres and others get none."""
    if actor.role in DISTRICT_ROLES:
        return actor.place_code[:6]
    if actor.role in TOWNSHIP_STAFF:
        return actor.place_code[:9]
    return None


async def latest_digest(db: asyncpg.Pool, actor: Actor, day: date | None = None) -> asyncpg.Record | None:
    """The newest digest for the actor's place (on or before `day`), or None."""
    place = digest_place(actor)
    if place is None:
        return None
    return await db.fetchrow(
        "select d.day, d.body, d.created_at, p.name as place_name "
        "from digests d join places p on p.code = d.place_code "
        "where d.place_code = $1 and ($2::date is null or d.day <= $2) order by d.day desc limit 1",
        place,
        day,
    )


def counts(digest: asyncpg.Record | None) -> dict[str, int]:
    body = digest["body"] if digest else {}
    return {name: len(body.get(name, [])) for name in LISTS}


@router.get("/supervision/digest")
async def digest(request: Request, day: date | None = None, actor: Actor = PageActor) -> Response:
    if denied := refused(request, actor, "digest", "每日提醒发送给乡镇（街道）和区民政局工作人员"):
        return denied
    db = pool(request)
    found = await latest_digest(db, actor, day)
    since = (found["day"] if found else day or today()) - timedelta(days=RECENT_DAYS)
    days = await db.fetch(
        "select day from digests where place_code = $1 and day >= $2 order by day desc", digest_place(actor), since
    )
    context: dict[str, Any] = {
        "section": "digest",
        "digest": found,
        "counts": counts(found),
        "days": [d["day"] for d in days],
        "bureau_labels": {b.value: b.label for b in Bureau},
        "referral_status": REFERRAL_STATUS,
        "complaint_status": COMPLAINT_STATUS,
        "frontdoor_desk": actor.role in TOWNSHIP_STAFF | {Role.DISTRICT_OFFICER},
    }
    return page(request, "supervision/digest.html", context, actor)
