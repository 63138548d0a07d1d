"""How often the portal takes a submission (issue 16, point 8): per client address and per ID number, in
PostgreSQL (`rate_limit_hits`, db/throttle_repo.py) so every web replica counts the same. The limits are settings
(`JIUZHU_PORTAL_PER_ADDRESS`, default 10 an hour; `JIUZHU_PORTAL_PER_ID_NUMBER`, default 3 a day).

The ID number is never stored as a key: the key is an HMAC of it under the app's signing secret, so the table
cannot be searched for a person (ID numbers are few enough to hash them all).
"""

from __future__ import annotations

import hashlib
import hmac

import asyncpg
from fastapi import Request
from limits import RateLimitItem, parse

from db import throttle_repo

ADDRESS, PERSON = "portal-submit-ip", "portal-submit-id"


def limits_of(request: Request) -> tuple[RateLimitItem, RateLimitItem]:
    settings = request.app.state.settings
    return parse(settings.portal_per_address), parse(settings.portal_per_id_number)


def person_key(request: Request, id_number: str) -> str:
    key = request.app.state.keys.secret.encode()
    return hmac.new(key, f"portal-id:{id_number}".encode(), hashlib.sha256).hexdigest()[:40]


async def address_blocked(db: asyncpg.Pool, request: Request, ip: str) -> bool:
    """The address has used up its submissions: refused before the form is even read."""
    per_address, _ = limits_of(request)
    return not await throttle_repo.test(db, per_address, ADDRESS, ip)


async def count(db: asyncpg.Pool, request: Request, ip: str, id_number: str) -> bool:
    """Count a well-formed submission against its address and its ID number; False (and the submission refused)
    when either has used up its limit."""
    per_address, per_person = limits_of(request)
    if not await throttle_repo.hit(db, per_address, ADDRESS, ip):
        return False
    return await throttle_repo.hit(db, per_person, PERSON, person_key(request, id_number))


def described(item: RateLimitItem) -> str:
    """A limit in words for the refusal page: "每小时最多 10 次", "每 2 天最多 3 次"."""
    units = {"second": "秒", "minute": "分钟", "hour": "小时", "day": "天", "month": "月", "year": "年"}
    unit = units.get(item.GRANULARITY.name, item.GRANULARITY.name)
    every = f"每{unit}" if item.multiples == 1 else f"每 {item.multiples} {unit}"
    return f"{every}最多 {item.amount} 次"


def words(request: Request) -> dict[str, str]:
    per_address, per_person = limits_of(request)
    return {"per_address": described(per_address), "per_id": described(per_person)}
