"""Referrals to the partner bureaus: their inbox (and the district's view of it), one referral's detail, and
the answers of a bureau on the webhook adapter, which posts back signed instead of logging in."""

from __future__ import annotations

import asyncpg
import structlog
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from db import frontdoor_repo, webhook_repo
from infra import clock
from rules.access import DISTRICT_CODE
from rules.actions import ActorView
from rules.frontdoor_actions import REFERRAL_ACTIONS, ReferralAction, ReferralView, available_referral_actions
from schemas import webhook
from schemas.frontdoor import REFERRAL_PAYLOADS, ReferralState
from schemas.staff import Actor, Bureau, Role
from schemas.webhook import Signed
from webapp import authz
from webapp.errors import ApiError
from webapp.frontdoor.models import CallbackIn, ReferralDetail, ReferralList, ReferralSummary
from webapp.frontdoor.rows import referral_row, referral_summary
from webapp.frontdoor.subjects import Subject, history, perform

log = structlog.get_logger("webapp")

REFERRALS = Subject("referral", "referral_id", referral_row, ReferralState, REFERRAL_ACTIONS, REFERRAL_PAYLOADS)


async def list_referrals(
    db: asyncpg.Pool,
    actor: Actor,
    bureau: Bureau | None = None,
    status: str | None = "open",
    overdue: bool | None = None,
    limit: int = 200,
) -> ReferralList:
    """Bureau staff see their own bureau's referrals, townships theirs, the district all; nearest deadline first."""
    authz.require(actor, "referral.read")
    if actor.role is Role.BUREAU_STAFF:
        selected = frontdoor_repo.ReferralFilter(bureau=actor.bureau.value if actor.bureau else "", status=status)
    else:
        selected = frontdoor_repo.ReferralFilter(actor.place_code, bureau.value if bureau else None, status)
    rows = await frontdoor_repo.referrals(db, selected)
    items = [referral_summary(r) for r in rows]
    if overdue is not None:
        items = [i for i in items if (i.accept_overdue or i.result_overdue or i.escalated) == overdue]
    return ReferralList(items=items[:limit], total=len(items))


async def referral_detail(db: asyncpg.Pool, temporal: Client | None, referral_id: str, actor: Actor) -> ReferralDetail:
    row = await referral_row(db, referral_id, actor)
    req = await frontdoor_repo.request(db, row.request_no)
    assert req is not None  # a referral is made from a request (foreign key)
    return ReferralDetail(
        referral=referral_summary(row),
        phone=req.phone,
        address=req.address,
        description=req.description,
        **await history(db, temporal, REFERRALS, row),
    )


def actions_for(referral: ReferralSummary, actor: Actor) -> list[ReferralAction]:
    """The actions `actor` may take on the referral now, by the rules its workflow's validators apply."""
    view = ReferralView(referral.status, referral.bureau.value, referral.township_code, referral.accept_due is not None)
    return available_referral_actions(view, ActorView.of(actor))


# ---- the webhook adapter -------------------------------------------------------------------------------


def bureau_api_actor(bureau: Bureau) -> Actor:
    """Who acts when a bureau answers through its own system: the bureau itself, not a person."""
    return Actor(
        username=f"bureau-api:{bureau.value}",
        full_name=f"{bureau.label}（系统对接）",
        role=Role.BUREAU_STAFF,
        place_code=DISTRICT_CODE,
        bureau=bureau,
    )


async def callback(
    db: asyncpg.Pool, temporal: Client | None, referral_id: str, raw: bytes, given: Signed
) -> ReferralState:
    """A bureau's acceptance or result, proven by the signature `given` (schemas.webhook: method, path, timestamp,
    nonce and body, with the secret of the bureau's active endpoint). Unknown referrals, bureaus without an active
    endpoint and bad signatures all get the same 401 `bad_signature`; a good signature more than 5 minutes off
    401 `stale`; a nonce the bureau used before 401 `replayed`."""
    row = await frontdoor_repo.referral(db, referral_id)
    endpoint = await webhook_repo.bureau_endpoint(db, row.bureau.value) if row else None
    now = clock.now()
    why: tuple[str, str] | None = ("bad_signature", "签名缺失或错误")
    if row is not None and endpoint is not None:
        path = webhook.callback_path(referral_id)
        why = webhook.refusal(endpoint.secret, "POST", path, raw, given, now.timestamp())
        keep = webhook.NONCE_KEEP_SECONDS
        if why is None and not await webhook_repo.first_use_of_nonce(db, row.bureau.value, given.nonce, now, keep):
            why = ("replayed", "该请求已处理过，请勿重放；每次请求须使用新的时间戳和随机数")
    if why is not None or row is None:
        code, message = why or ("bad_signature", "签名缺失或错误")
        with bound_contextvars(referral_id=referral_id):
            log.warning("referral callback refused", code=code)
        raise ApiError(401, code, message)
    try:
        body = CallbackIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
    # The bureau acts through the same action as its staff in the inbox: `accept` or `result`.
    return await perform(REFERRALS, body.action, db, temporal, referral_id, bureau_api_actor(row.bureau), body)
