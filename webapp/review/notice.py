"""公示 made real (issue 17, point 5): the printable public notice of a case in its notice period (A4, for the
village board) and what the portal's public list shows of each case (`published`, one place for both).

What is published (`db.notices_repo`): the applicant's name and ID number masked, village, kind, category,
monthly amount, household size and the notice period, its dates inclusive in Beijing time; the objection
route: the township, the 12349 hotline and the portal's complaint form. Never an address or phone number.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from db import notices_repo
from db.notices_repo import PublicNotice
from rules.clock import beijing_date, last_day
from schemas.identity import mask_name
from schemas.review import AssistanceType
from webapp import access_log, authz
from webapp.access_log import Kind
from webapp.deps import Db, PageActor
from webapp.errors import ApiError
from webapp.render import refusal_page, render
from webapp.review.cases import CaseId, case_row

router = APIRouter(include_in_schema=False)

HOTLINE = "12349"
OBJECTION_FORM = "/portal/complain"
# The rules each kind of notice cites.
RULES = {AssistanceType.DIBAO: "《最低生活保障审核确认办法》", AssistanceType.TEKUN: "《特困人员认定办法》"}
NOT_IN_NOTICE = ApiError(409, "not_in_notice", "该案件不在公示期，没有可打印的公示")


def period(n: PublicNotice) -> tuple[date, date]:
    """The notice period's first and last day (inclusive), in Beijing: posted on the day of the decision, its days
    count from the next day (Civil Code art. 201), as the workflow computed its end."""
    return beijing_date(n.notice_started_at) + timedelta(days=1), last_day(n.notice_ends_at)


def published(n: PublicNotice) -> dict[str, Any]:
    """One household as a public notice shows it."""
    first, last = period(n)
    return {
        "name": mask_name(n.applicant_name),
        "id_masked": n.applicant_id_masked,
        "village": n.village_name or n.township_name,
        "township": n.township_name,
        "kind": AssistanceType(n.assistance_type).label,
        "rules": RULES[AssistanceType(n.assistance_type)],
        "category": n.category,
        "monthly_amount": f"{n.monthly_amount:.2f}" if n.monthly_amount is not None else None,
        "people": n.people,
        "first_day": first,
        "last_day": last,
        "posted_on": beijing_date(n.notice_started_at),
    }


@router.get("/cases/{case_id}/notice")
async def printable_notice(request: Request, case_id: CaseId, actor: PageActor, db: Db) -> Response:
    """The A4 notice of a case in public notice, for those who may read the case (the village cadre posts it)."""
    try:
        authz.require(actor, "case.read")
        row = await case_row(db, case_id, actor)
        notice = await notices_repo.notice_of_case(db, row.case_id)
        if notice is None:
            raise NOT_IN_NOTICE
    except ApiError as exc:
        return refusal_page(request, exc, actor)
    await access_log.record(request, actor, Kind.CASE_NOTICE, case_id)
    context = {
        "n": published(notice),
        "case_id": case_id,
        "hotline": HOTLINE,
        "objection_form": f"{request.base_url}".rstrip("/") + OBJECTION_FORM,
    }
    return render(request, "caseworker/notice.html", context, actor=actor)
