"""The access log's search (`/supervision/access-log`, the district supervisor only): who read which case
file, looked up which household, exported what, logged in, changed which user (webapp/access_log.py).

Filters by user name, record (a case, event or request number, a user name; an ID number typed here is
turned into the log's keyed reference, so a household look-up is found without the log holding the number),
kind, and a date range in Beijing time; newest first, 50 rows a page.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from db import access_log_repo
from infra.clock import BEIJING
from schemas.identity import validate_resident_id
from webapp.access_log import LABELS, Kind, household_ref
from webapp.deps import Db, PageActor
from webapp.supervision.common import page, refused

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 10_000


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), BEIJING) if day else None


def record_key(request: Request, text: str) -> str:
    """What the log holds for `text`: the household reference for an ID number, else the text."""
    text = text.strip()
    try:
        return household_ref(request, validate_resident_id(text)) if len(text) == 18 else text
    except ValueError:
        return text


@router.post("/supervision/access-log")
async def access_log_search(request: Request, actor: PageActor) -> Response:
    """The search form posts here, so an ID number typed in never stands in an address: the list comes back
    under the log's own reference for it (`record_key`), which finds the same rows."""
    if denied := refused(request, actor, "access_log"):
        return denied
    form = await request.form()
    fields = {k: str(form.get(k, "")).strip()[:64] for k in ("user", "record", "kind", "from", "to")}
    fields["record"] = record_key(request, fields["record"]) if fields["record"] else ""
    return RedirectResponse(f"/supervision/access-log?{urlencode({k: v for k, v in fields.items() if v})}", 303)


@router.get("/supervision/access-log")
async def access_log_page(
    request: Request,
    actor: PageActor,
    db: Db,
    user: Annotated[str, Query(max_length=64)] = "",
    record: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(max_length=32)] = "",
    start_text: Annotated[str, Query(alias="from", max_length=10)] = "",
    end_text: Annotated[str, Query(alias="to", max_length=10)] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    if denied := refused(request, actor, "access_log"):
        return denied
    start, end = _day(start_text), _day(end_text)
    filters = access_log_repo.Filters(
        username=user.strip(),
        record=record_key(request, record) if record.strip() else "",
        kind=kind if kind in Kind._value2member_map_ else "",
        since=_start_of(start),
        until=_start_of(end + timedelta(days=1)) if end else None,
    )
    rows, total = await access_log_repo.search(db, filters, limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    query = {"user": user, "record": record, "kind": filters.kind, "from": start_text, "to": end_text}
    context = {
        "section": "access_log",
        "rows": rows,
        "total": total,
        "page_no": page_no,
        "pages": pages,
        "q": query,
        "kinds": [(k.value, LABELS[k]) for k in Kind],
        "labels": {k.value: v for k, v in LABELS.items()},
    }
    return page(request, "supervision/access_log.html", context, actor)
