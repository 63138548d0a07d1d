"""Referrals to the partner bureaus: their inbox (and the district's view of it), one referral's detail, and
the answers of a bureau on the webhook adapter, which posts back signed instead of logging in."""

from __future__ import annotations

import hashlib
import hmac

import asyncpg
import structlog
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from structlog.contextvars import bound_contextvars
from temporalio.client import Client

from schemas.frontdoor import ReferralAccept, ReferralNames, ReferralResult, ReferralState
from schemas.staff import Actor, Bureau, Role
from webapp import authz
from webapp.errors import ApiError
from webapp.frontdoor.models import CallbackIn, ReferralDetail, ReferralList
from webapp.frontdoor.rows import DISTRICT_CODE, REFERRAL_SQL, referral_row, referral_summary
from webapp.frontdoor.subjects import REFERRALS, history, update_and_read

log = structlog.get_logger("webapp")


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
    params: list[str] = []
    where: list[str] = []
    if actor.role is Role.BUREAU_STAFF:
        params.append(actor.bureau.value if actor.bureau else "")
        where.append("f.bureau = $1")
    else:
        params.append(actor.place_code)
        where.append("starts_with(f.township_code, $1)")
        if bureau:
            params.append(bureau.value)
            where.append(f"f.bureau = ${len(params)}")
    if status == "open":
        where.append("f.status <> 'answered'")
    elif status:
        params.append(status)
        where.append(f"f.status = ${len(params)}")
    condition = " and ".join(where)
    rows = await db.fetch(
        f"{REFERRAL_SQL} where {condition} order by coalesce(case when f.status = 'delivered' then f.accept_due end, "
        "f.result_due) nulls last, f.delivered_at",
        *params,
    )
    items = [referral_summary(r) for r in rows]
    if overdue is not None:
        items = [i for i in items if (i.accept_overdue or i.result_overdue or i.escalated) == overdue]
    return ReferralList(items=items[:limit], total=len(items))


async def referral_detail(db: asyncpg.Pool, temporal: Client | None, referral_id: str, actor: Actor) -> ReferralDetail:
    row = await referral_row(db, referral_id, actor)
    req = await db.fetchrow(
        "select phone, address, description from frontdoor_requests where request_no = $1", row["request_no"]
    )
    return ReferralDetail(referral=referral_summary(row), **dict(req), **await history(db, temporal, REFERRALS, row))


# ---- the webhook adapter -------------------------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body, the scheme of X-Jiuzhu-Signature both ways."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
    db: asyncpg.Pool, temporal: Client | None, referral_id: str, raw: bytes, given: str
) -> ReferralState:
    """A bureau's acceptance or result, proven by the signature `given` over the `raw` body with the secret of
    the bureau's active endpoint. Unknown referrals, bureaus without an active endpoint and bad signatures
    all get the same 401."""
    row = await db.fetchrow(
        "select f.workflow_id, f.bureau, e.secret from referrals f "
        "join bureau_endpoints e on e.bureau = f.bureau and e.active where f.referral_id = $1",
        referral_id,
    )
    if row is None or not hmac.compare_digest(given.encode(), signature(row["secret"], raw).encode()):
        with bound_contextvars(referral_id=referral_id):
            log.warning("referral callback refused: bad signature")
        raise ApiError(401, "bad_signature", "签名缺失或错误")
    try:
        body = CallbackIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_input=False)) from None
    actor = bureau_api_actor(Bureau(row["bureau"]))
    if body.action == "accept":
        payload: BaseModel = ReferralAccept(actor=actor, note=body.note)
        name = ReferralNames.ACCEPT
    else:
        payload = ReferralResult(actor=actor, outcome=body.outcome, help_given=body.help_given, amount=body.amount)
        name = ReferralNames.RESULT
    about = {"referral_id": referral_id}
    return await update_and_read(temporal, row["workflow_id"], name, payload, actor, ReferralState, about)
