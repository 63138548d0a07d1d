"""An objection to one household of the portal's public notice list (公示异议): each row links to the complaint
form with an opaque reference to that notice, so that the complaint reaches the case (which goes back to the
investigation) although the list shows no case number.

The reference is signed and expires (itsdangerous, keyed with the app's signing secret like the portal's
receipts): it carries the township (a place code, public) and a keyed digest of the case number and the start of
its notice, never the number itself or anything personal. It is resolved against the township's notices in force
now, so a link outlives neither its age nor the notice it was made for.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import Request
from itsdangerous import BadSignature, SignatureExpired, Signer, URLSafeTimedSerializer

from db import notices_repo
from db.notices_repo import PublicNotice
from infra import clock
from webapp.review.notice import published

LINK_AGE = 24 * 3600  # a link from the notice list stays usable for a day (and never past the notice's end)
INVALID = "异议链接无效，请回到公示名单，点击该户的「对此户提出异议」重新打开投诉表"
EXPIRED = "异议链接已过期，请回到公示名单，点击该户的「对此户提出异议」重新打开投诉表"
ENDED = "该户的公示已结束或已退回重新调查，异议不能再关联到这次公示；如仍需反映，可直接提交投诉"


class BadReference(Exception):
    """The reference is tampered with, expired or its notice is over; `message` says which, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class NoticeConcerned:
    """The notice an objection is about: the case it links to, and what the form shows of it (as published)."""

    case_id: str
    township_code: str
    shown: dict[str, Any]


def other_township(n: NoticeConcerned) -> str:
    """An objection is handled by the township that posted the notice (its case is of that township)."""
    return f"对公示的异议由公示所在的乡镇（街道）办理，请选择{n.shown['township']}"


def _secret(request: Request) -> str:
    return request.app.state.keys.secret


def _digest(request: Request, n: PublicNotice) -> str:
    """Keyed, so the case number cannot be guessed back from it; bound to this run of the notice."""
    value = f"{n.case_id}|{n.notice_started_at.isoformat()}"
    return Signer(_secret(request), salt="jiuzhu.notice-case").get_signature(value).decode()


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(request), salt="jiuzhu.portal-objection")


def reference(request: Request, n: PublicNotice) -> str:
    """The opaque reference of a notice row's objection link."""
    return _serializer(request).dumps({"t": n.township_code, "d": _digest(request, n)})


async def resolve(request: Request, db: asyncpg.Pool, ref: str) -> NoticeConcerned:
    """The notice a reference names, if its signature holds, it is not older than LINK_AGE and that notice is
    running now; else BadReference."""
    try:
        data = _serializer(request).loads(ref, max_age=LINK_AGE)
    except SignatureExpired as exc:
        raise BadReference(EXPIRED) from exc
    except BadSignature as exc:
        raise BadReference(INVALID) from exc
    if not isinstance(data, dict) or not isinstance(data.get("t"), str) or not isinstance(data.get("d"), str):
        raise BadReference(INVALID)
    for n in await notices_repo.notices_in_force(db, data["t"], clock.now()):
        if hmac.compare_digest(_digest(request, n), data["d"]):
            return NoticeConcerned(case_id=n.case_id, township_code=n.township_code, shown=published(n))
    raise BadReference(ENDED)
