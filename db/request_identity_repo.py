"""Whether a 12349 request was filed by the person it names (migration 0025): a portal request is unverified
until staff who may handle it confirm it; the household view lists only verified ones as the person's."""

from __future__ import annotations

from datetime import datetime

from db.pool import Db


async def verify(db: Db, request_no: str, username: str, note: str) -> datetime | None:
    """Mark the request verified by `username` now, with how (`note`); None if it was verified already (or is
    not there): only the first confirmation is recorded."""
    return await db.fetchval(
        "update frontdoor_requests set identity_verified = true, identity_verified_by = $2, "
        "identity_verified_at = now(), identity_note = $3, updated_at = now() "
        "where request_no = $1 and not identity_verified returning identity_verified_at",
        request_no,
        username,
        note,
    )
