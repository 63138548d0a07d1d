"""Ongoing reviews (动态管理, `/supervision/reviews`): the recipients register, the reviews due with the
caseworker's form to propose an outcome (continue, adjust, stop with written reasons) and the approver's form to
decide a proposal (rules/ongoing_actions.py, through `webapp.supervision.ongoing.perform`), and the households
stopped with their reasons.

A review is due when its workflow says so (state `due`); the register's `next_review_on` only picks
which workflows to ask, so a page never offers a form the workflow would refuse as premature.
Township staff see and review their township; district officers everything; supervisors read.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from temporalio.client import Client

from db import places_repo, recipients_repo
from infra.clock import today
from rules.ongoing_actions import ACTIONS, OngoingAction
from schemas.review import AssistanceType
from schemas.staff import Actor
from schemas.supervision import OngoingState, ReviewDecision, ReviewFinding
from webapp import authz
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.errors import ApiError
from webapp.render import form_model, render_error
from webapp.render import refused as refused_page
from webapp.supervision import ongoing
from webapp.supervision.common import form_error, page, refused

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
QUERY_CONCURRENCY = 8  # workflow queries in flight for one page
OUTCOME_LABELS = {"continue": "继续保障", "adjust": "调整金额", "stop": "停发"}
RECIPIENT_STATUS = {"active": "正在保障", "stopped": "已停发"}
FIELD_NAMES = {
    "outcome": "复核结论",
    "findings": "核查情况",
    "new_amount": "调整后金额",
    "reasons": "理由",
    "agree": "审批结论",
    "opinion": "审批意见",
}
LEVEL_LABELS = {"township": "乡镇（街道）审批", "district": "区民政局决定"}


async def _due(db: asyncpg.Pool, client: Client | None, actor: Actor) -> list[dict[str, Any]]:
    """Recipients whose review date has come, each with what its workflow says now."""
    rows = await recipients_repo.due_for_review(db, actor.place_code, today())
    limit = asyncio.Semaphore(QUERY_CONCURRENCY)

    async def state(case_id: str) -> OngoingState | None:
        async with limit:
            return await ongoing.state(client, case_id)

    states = await asyncio.gather(*(state(r.case_id) for r in rows))
    return [
        asdict(r) | {"state": s, "forms": ongoing.forms(s, r.township_code, actor)}
        for r, s in zip(rows, states, strict=True)
    ]


@router.get("/supervision/reviews")
async def reviews(
    request: Request,
    status: str = "active",
    township: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1)] = 1,
    done: str | None = None,
    action: str | None = None,
    *,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
) -> Response:
    if denied := refused(request, actor, "reviews"):
        return denied
    done_action = action if action in ACTIONS else None
    return await _reviews_page(
        request, actor, db, temporal, status, township, page_no, done=done, done_action=done_action
    )


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
    done_action: str | None = None,
    failed: tuple[str, dict[str, str], str] | None = None,
) -> Response:
    """`failed` is (case_id, what was typed, message) of a refused review, shown on that household's form."""
    register, total, page_no = await recipients_repo.page_of_register(
        db,
        actor.place_code,
        status if status in RECIPIENT_STATUS else None,
        township or None,
        page=page_no,
        page_size=PAGE_SIZE,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    context = {
        "section": "reviews",
        "due": await _due(db, client, actor),
        "register": register,
        "total": total,
        "page": page_no,
        "pages": pages,
        "status": status,
        "township": township,
        "townships": await places_repo.places_at_level(db, "township", actor.place_code),
        "stopped": await recipients_repo.stopped_within(db, actor.place_code),
        "recent": await recipients_repo.recent_reviews(db, actor.place_code),
        "can_review": authz.may(actor, "reviews.record"),
        "done": done,
        "done_action": done_action,
        "failed": failed,
        "outcome_labels": OUTCOME_LABELS,
        "level_labels": LEVEL_LABELS,
        "action_labels": {a.value: spec.label for a, spec in ACTIONS.items()},
        "status_labels": RECIPIENT_STATUS,
        "type_labels": {t.value: t.label for t in AssistanceType},
    }
    return page(request, "supervision/reviews.html", context, actor, status=422 if failed else 200)


ReviewForm = form_model("ReviewForm", "outcome findings new_amount reasons agree opinion")


@router.post("/supervision/reviews/{case_id}/{action}")
async def review_action(
    request: Request,
    case_id: str,
    action: str,
    fields: Annotated[ReviewForm, Form()],
    *,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
) -> Response:
    """A caseworker's proposal (`propose`) or an approver's decision (`decide`), to the household's review
    workflow, which applies an agreed outcome to the register, sends the written decision when the benefit
    changes, and continues to the next cycle unless stopped."""
    if denied := refused_page(request, actor, "reviews.record"):
        return denied
    if action not in ACTIONS:
        return render_error(request, 404, "没有这项操作", actor)
    if not await recipients_repo.is_within(db, case_id, actor.place_code):
        return render_error(request, 404, ongoing.NOT_HERE, actor)
    typed = {"action": action} | fields.model_dump()
    outcome, agree = fields.outcome, fields.agree
    try:
        if action == OngoingAction.PROPOSE:
            payload: ReviewFinding | ReviewDecision = ReviewFinding(
                actor=actor,
                outcome=outcome,
                findings=fields.findings.strip(),
                new_amount=(fields.new_amount.strip().replace(",", "") or None) if outcome == "adjust" else None,
                reasons=fields.reasons.strip(),
            )
        else:
            payload = ReviewDecision(
                actor=actor, agree={"yes": True, "no": False}.get(agree, agree), opinion=fields.opinion.strip()
            )
        await ongoing.perform(db, temporal, case_id, actor, OngoingAction(action), payload)
    except ValidationError as exc:
        failed = (case_id, typed, form_error(exc, FIELD_NAMES))
        return await _reviews_page(request, actor, db, temporal, failed=failed)
    except ApiError as exc:
        return await _reviews_page(request, actor, db, temporal, failed=(case_id, typed, exc.message))
    return RedirectResponse(f"/supervision/reviews?done={case_id}&action={action}", status_code=303)
