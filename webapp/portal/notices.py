"""公示名单 on the public portal (no log-in, issue 17 point 5): per township, the cases whose public notice is
running now, as the printed notice publishes them (`webapp.review.notice.published`: masked name and ID
number, no address), with the objection route: per row, a link that ties the complaint to that notice
(`webapp.portal.objections`). A case leaves the list when its notice period ends (or an objection sends it
back); the township is chosen in the query string (a place code, nothing personal).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from db import notices_repo, places_repo
from infra import clock
from webapp.deps import Db
from webapp.frontdoor.rows import DISTRICT_CODE
from webapp.portal.objections import reference
from webapp.render import render
from webapp.review.notice import HOTLINE, OBJECTION_FORM, published

router = APIRouter(prefix="/portal", include_in_schema=False)


@router.get("/notices")
async def notices(request: Request, db: Db, township: str = Query("", max_length=12)) -> Response:
    towns = await places_repo.places_at_level(db, "township", DISTRICT_CODE)
    chosen = next((t for t in towns if t["code"] == township), None) if re.fullmatch(r"\d{9}", township) else None
    running = await notices_repo.notices_in_force(db, chosen["code"], clock.now()) if chosen else []
    # each row links to the complaint form with an opaque reference to its notice (the list shows no case number)
    rows = [published(n) | {"ref": reference(request, n)} for n in running]
    context = {
        "towns": towns,
        "chosen": chosen,
        "rows": rows,
        "hotline": HOTLINE,
        "objection_form": OBJECTION_FORM,
        "today": clock.today(),
    }
    return render(request, "portal/notices.html", context)
