"""The review's cases as the web app reads them: the `cases` row the workflow keeps up to date
(`db.cases_repo`), confined to the reader's jurisdiction, and accepting an application (which starts the
review workflow).

Lists come from the database (`db.case_lists_repo`), not from Temporal visibility: the database can filter by
jurisdiction and name and page through results, and it outlives retention.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
import structlog
from fastapi import Path
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from db import applications_repo, cases_repo, places_repo
from db.applications_repo import OpenApplication
from db.cases_repo import CaseRow
from rules.access import within
from rules.stages import STAGE_LABELS
from schemas.money import from_fen
from schemas.review import APPLICATION_ID, Application, ReviewStart, workflow_id_for
from schemas.staff import Actor
from webapp import authz
from webapp.errors import ApiError, forbidden, not_found, refuse_personal_number
from webapp.review.models import CaseCreated, CaseSummary
from webapp.review.workflow import case_state, start_review, started_with
from webapp.workflow_calls import connected, fresh

log = structlog.get_logger("webapp")

# A repeated application id outside the caller's jurisdiction: the same words whether that case has its row yet or
# not, naming nothing of it (not its township, applicant or dates); only that the number is in use.
ID_TAKEN = ApiError(409, "application_id_taken", "该申请编号已被使用，请换一个编号或留空由系统生成")

# Issue 17.3: a second open case of the same type for a member of an open case's household. Inside the caller's
# jurisdiction the answer names the open case; outside it, only that an application is open elsewhere (issue 16.3).
OPEN_ELSEWHERE = ApiError(
    409,
    "open_case_exists",
    "该申请家庭中有成员已在其他乡镇（街道）有未办结的同类申请，办结后方可再次申请；如有疑问，请联系区民政局",
)


RECIPIENT_ELSEWHERE = ApiError(
    409,
    "already_recipient",
    "该申请家庭中有成员已是其他乡镇（街道）的同类在册救助对象，不能重复申请；如有疑问，请联系区民政局",
)


async def open_case_refusal(
    db: asyncpg.Pool, temporal: Client, actor: Actor, other: OpenApplication, kind_label: str
) -> ApiError:
    """409 `open_case_exists`: naming the open case where the actor may read it, else nothing of it."""
    place = other.place or await _existing_place(db, temporal, other.case_id)
    if place is None or not authz.in_scope(actor, "case.read", place):
        return fresh(OPEN_ELSEWHERE)
    message = (
        f"该申请家庭中有成员已有未办结的{kind_label}申请（案件 {other.case_id}），不能重复受理；请在该案件中继续办理"
    )
    return ApiError(409, "open_case_exists", message, case_id=other.case_id)


def already_recipient(actor: Actor, enrolled: applications_repo.AlreadyRecipient, kind_label: str) -> ApiError:
    """409 `already_recipient`: a member receives this help already (in any household); the household's case is
    named where the actor may read it."""
    if not authz.in_scope(actor, "case.read", enrolled.place):
        return fresh(RECIPIENT_ELSEWHERE)
    message = (
        f"该申请家庭中有成员已是{kind_label}在册救助对象（案件 {enrolled.case_id}），不能重复申请；"
        "家庭情况有变化的，请在该户的动态管理复核中办理"
    )
    return ApiError(409, "already_recipient", message, case_id=enrolled.case_id)


CaseId = Annotated[str, Path(pattern=APPLICATION_ID, description="案件编号（即申请编号）")]


def summary(row: CaseRow) -> CaseSummary:
    fen = row.monthly_amount_fen
    return CaseSummary(
        **row.model_dump(exclude={"monthly_amount_fen"}),
        stage_label=STAGE_LABELS.get(row.stage, row.stage),
        monthly_amount=None if fen is None else from_fen(fen),
    )


def case_place(township_code: str, village_code: str | None) -> str:
    return village_code or township_code


async def case_row(db: asyncpg.Pool, case_id: str, actor: Actor) -> CaseRow:
    """The case as the database knows it, if it exists and lies in the actor's jurisdiction."""
    row = await cases_repo.case_row(db, case_id)
    if row is None:
        raise not_found()
    if not authz.in_scope(actor, "case.read", row.place):
        raise forbidden("该案件不在您的辖区内", "out_of_jurisdiction")
    return row


def shows_full_ids(actor: Actor, case: CaseRow) -> bool:
    """Whole ID numbers for those who open cases (authz `ids.full`), unless kept away from this one.

    Village cadres (they run the public notice, where only names are published) and district supervisors
    (they check procedure, not identities) see them masked, and so does staff the relatives check keeps away
    (a declared near relative; a namesake warning's user until it is settled: `CaseRow.barred_users`)."""
    return authz.may(actor, "ids.full") and actor.username not in case.barred_users


async def _check_places(db: asyncpg.Pool, township_code: str, village_code: str | None) -> None:
    town = await places_repo.get_place(db, township_code)
    if town is None or town.level != "township":
        raise ApiError(422, "invalid", f"乡镇（街道）代码不存在：{township_code}")
    if village_code:
        village = await places_repo.get_place(db, village_code)
        if village is None or village.level != "village":
            raise ApiError(422, "invalid", f"村（社区）代码不存在：{village_code}")
        if village.parent_code != township_code:
            raise ApiError(422, "invalid", f"{village.name}不属于{town.name}")


async def accept(
    db: asyncpg.Pool, temporal: Client | None, actor: Actor, application: Application, wait: float = 0.0
) -> tuple[CaseCreated, int]:
    """Accept the application and start its review; a repeated application_id answers the existing case.
    Returns the answer and its status: 201 with the state, 202 without it (not waited for, or not yet), 200
    for a repeat."""
    authz.require(actor, "case.accept")
    refuse_personal_number(application.application_id, "application_id")
    household = application.household
    if not within(actor.place_code, household.township_code):
        raise forbidden("只能受理本乡镇（街道）户籍居民的申请", "out_of_jurisdiction")
    await _check_places(db, household.township_code, household.village_code)
    temporal = connected(temporal)
    case_id = application.application_id
    # A case of the number outside the jurisdiction: refused before the start, which would attach to it (or, its
    # workflow past retention, start another under its number).
    if (place := await cases_repo.case_place(db, case_id)) and not within(actor.place_code, place):
        raise fresh(ID_TAKEN)
    ids = [m.id_number for m in household.members]
    with bound_contextvars(case_id=case_id):
        # The claim's transaction is held over the start: a second intake for any of these people waits for it,
        # then finds this case; a start that fails leaves nothing claimed.
        try:
            async with db.acquire() as conn, conn.transaction():
                await applications_repo.claim(conn, case_id, ids, application.assistance_type.value)
                handle, created = await start_review(temporal, ReviewStart(application=application, accepted_by=actor))
        except applications_repo.Taken as taken:
            raise await open_case_refusal(db, temporal, actor, taken.by, application.assistance_type.label) from None
        except applications_repo.AlreadyRecipient as enrolled:
            raise already_recipient(actor, enrolled, application.assistance_type.label) from None
        with bound_contextvars(workflow_id=handle.id):
            if not created:
                place = await _existing_place(db, temporal, case_id)
                if place and not within(actor.place_code, place):
                    raise fresh(ID_TAKEN)
            state = await case_state(temporal, handle.id, wait=wait) if wait else None
            log.info("case accepted" if created else "case already accepted", by=actor.username)
    status = 200 if not created else (201 if state else 202)
    return CaseCreated(created=created, case_id=case_id, workflow_id=handle.id, state=state), status


async def _existing_place(db: asyncpg.Pool, temporal: Client, case_id: str) -> str | None:
    """Where an already accepted case lies, so a repeat from another township learns nothing about it: the
    case row, or before its first activity has written it, the application the workflow was started with."""
    place = await cases_repo.case_place(db, case_id)
    if place:
        return place
    start = await started_with(temporal, workflow_id_for(case_id))
    return (
        case_place(start.application.household.township_code, start.application.household.village_code)
        if start
        else None
    )
