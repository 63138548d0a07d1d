"""Ongoing reviews (动态管理, `/supervision/reviews`): the recipients register, the reviews due with a
form to continue, adjust or stop with written reasons, and the households stopped with their reasons.

A review is due when its workflow says so (state `due`); the register's `next_review_on` only picks
which workflows to ask, so a page never offers a form the workflow would refuse as premature.
Township staff see and review their township; district officers everything; supervisors read.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from temporalio.client import Client

from infra.clock import today
from schemas.review import AssistanceType
from schemas.staff import Actor
from schemas.supervision import OngoingState, ReviewFinding, SupervisionNames, ongoing_workflow_id
from webapp import authz
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.errors import ApiError
from webapp.render import refused as refused_page
from webapp.render import render_error
from webapp.supervision.common import form_error, page, refuse_if_barred, refused, run_update
from webapp.workflow_calls import query

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
QUERY_CONCURRENCY = 8  # workflow queries in flight for one page
OUTCOME_LABELS = {"continue": "继续保障", "adjust": "调整金额", "stop": "停发"}
RECIPIENT_STATUS = {"active": "正在保障", "stopped": "已停发"}
FIELD_NAMES = {"outcome": "复核结论", "findings": "核查情况", "new_amount": "调整后金额", "reasons": "理由"}

_RECIPIENT = """
select r.case_id, r.township_code, t.name as township_name, c.applicant_name, r.assistance_type, r.category,
       r.monthly_amount_fen, r.people, r.status, r.review_cadence_months, r.next_review_on, r.first_payment_month,
       r.stopped_at, r.stop_reasons
from recipients r join cases c on c.case_id = r.case_id join places t on t.code = r.township_code
"""
_STOPPED = """
select r.case_id, t.name as township_name, c.applicant_name, r.stopped_at, r.stop_reasons, o.findings,
       coalesce(u.full_name, o.reviewed_by) as reviewed_by
from recipients r join cases c on c.case_id = r.case_id join places t on t.code = r.township_code
left join ongoing_reviews o on o.case_id = r.case_id and o.outcome = 'stop'
left join users u on u.username = o.reviewed_by
where r.status = 'stopped' and starts_with(r.township_code, $1)
order by r.stopped_at desc nulls last
"""
_RECENT = """
select o.case_id, c.applicant_name, o.due_on, o.outcome, o.old_amount_fen, o.new_amount_fen, o.reasons, o.findings,
       coalesce(u.full_name, o.reviewed_by) as reviewed_by, o.reviewed_at
from ongoing_reviews o join cases c on c.case_id = o.case_id left join users u on u.username = o.reviewed_by
where starts_with(c.township_code, $1) and o.reviewed_at is not null
order by o.reviewed_at desc limit 50
"""


async def _workflow_state(client: Client | None, case_id: str) -> OngoingState | None:
    """None when not started yet (the daily run starts it) or the server cannot answer now."""
    if client is None:
        return None
    return await query(client, ongoing_workflow_id(case_id), OngoingState, name=SupervisionNames.STATE)


async def _due(db: asyncpg.Pool, client: Client | None, actor: Actor) -> list[dict[str, Any]]:
    """Recipients whose review date has come, each with what its workflow says now."""
    rows = await db.fetch(
        _RECIPIENT + "where r.status = 'active' and r.next_review_on <= $2 and starts_with(r.township_code, $1) "
        "order by r.next_review_on, r.case_id",
        actor.place_code,
        today(),
    )
    limit = asyncio.Semaphore(QUERY_CONCURRENCY)

    async def state(case_id: str) -> OngoingState | None:
        async with limit:
            return await _workflow_state(client, case_id)

    states = await asyncio.gather(*(state(r["case_id"]) for r in rows))
    return [dict(r) | {"state": s} for r, s in zip(rows, states, strict=True)]


@router.get("/supervision/reviews")
async def reviews(
    request: Request,
    status: str = "active",
    township: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1)] = 1,
    done: str | None = None,
    *,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
) -> Response:
    if denied := refused(request, actor, "reviews"):
        return denied
    return await _reviews_page(request, actor, db, temporal, status, township, page_no, done=done)


async def _reviews_page(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    client: Client | None,
    status: str = "active",
    township: str = "",
    page_no: int = 1,
    *,
    done: str | None = None,
    failed: tuple[str, dict[str, str], str] | None = None,
) -> Response:
    """`failed` is (case_id, what was typed, message) of a refused review, shown on that household's form."""
    params: list[Any] = [actor.place_code]
    where = "starts_with(r.township_code, $1)"
    if status in RECIPIENT_STATUS:
        params.append(status)
        where += f" and r.status = ${len(params)}"
    if township:
        params.append(township)
        where += f" and r.township_code = ${len(params)}"
    total = await db.fetchval(f"select count(*) from recipients r where {where}", *params)
    pages = max(1, -(-total // PAGE_SIZE))
    page_no = min(page_no, pages)
    register = await db.fetch(
        f"{_RECIPIENT} where {where} order by r.township_code, r.next_review_on nulls last, r.case_id "
        f"limit {PAGE_SIZE} offset {(page_no - 1) * PAGE_SIZE}",
        *params,
    )
    context = {
        "section": "reviews",
        "due": await _due(db, client, actor),
        "register": register,
        "total": total,
        "page": page_no,
        "pages": pages,
        "status": status,
        "township": township,
        "townships": await _townships(db, actor),
        "stopped": await db.fetch(_STOPPED, actor.place_code),
        "recent": await db.fetch(_RECENT, actor.place_code),
        "can_review": authz.may(actor, "reviews.record"),
        "done": done,
        "failed": failed,
        "outcome_labels": OUTCOME_LABELS,
        "status_labels": RECIPIENT_STATUS,
        "type_labels": {t.value: t.label for t in AssistanceType},
    }
    return page(request, "supervision/reviews.html", context, actor, status=422 if failed else 200)


async def _townships(db: asyncpg.Pool, actor: Actor) -> list[asyncpg.Record]:
    return await db.fetch(
        "select code, name from places where level = 'township' and starts_with(code, $1) order by code",
        actor.place_code,
    )


@router.post("/supervision/reviews/{case_id}")
async def record_review(
    request: Request,
    case_id: str,
    outcome: Annotated[str, Form()] = "",
    findings: Annotated[str, Form()] = "",
    new_amount: Annotated[str, Form()] = "",
    reasons: Annotated[str, Form()] = "",
    *,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
) -> Response:
    """The finding goes to the household's review workflow, which applies it to the register, sends the
    written decision when the benefit changes, and continues to the next cycle unless stopped."""
    if denied := refused_page(request, actor, "reviews.record"):
        return denied
    if not await db.fetchval(
        "select exists(select 1 from recipients where case_id = $1 and starts_with(township_code, $2))",
        case_id,
        actor.place_code,
    ):
        return render_error(request, 404, "该保障对象不在您的辖区内", actor)
    typed = {"outcome": outcome, "findings": findings, "new_amount": new_amount, "reasons": reasons}
    try:
        finding = ReviewFinding(
            actor=actor,
            outcome=outcome,
            findings=findings.strip(),
            new_amount=(new_amount.strip().replace(",", "") or None) if outcome == "adjust" else None,
            reasons=reasons.strip(),
        )
        await refuse_if_barred(db, case_id, actor, "ongoing_review")
        await run_update(
            temporal,
            ongoing_workflow_id(case_id),
            SupervisionNames.RECORD_REVIEW,
            finding,
            lambda: db.fetchval(
                "select exists(select 1 from ongoing_reviews where case_id = $1 and outcome = $2 "
                "and reviewed_by = $3 and findings = $4 and reviewed_at > now() - interval '1 minute')",
                case_id,
                finding.outcome,
                actor.username,
                finding.findings,
            ),
        )
    except ValidationError as exc:
        failed = (case_id, typed, form_error(exc, FIELD_NAMES))
        return await _reviews_page(request, actor, db, temporal, failed=failed)
    except ApiError as exc:
        return await _reviews_page(request, actor, db, temporal, failed=(case_id, typed, exc.message))
    return RedirectResponse(f"/supervision/reviews?done={case_id}", status_code=303)
