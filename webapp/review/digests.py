"""The daily digests the morning run keeps per place (the township for township staff, the district for
district roles): the inbox's compact panel and the supervision area's digest page (`/supervision/digest`).

The digest is what was sent that morning, not a live query: it is the record of who was told what.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import asyncpg

from db import frontdoor_repo, supervision_repo
from db.frontdoor_filters import Reader
from db.supervision_repo import Digest
from schemas.staff import Actor
from webapp import authz

LISTS = ("overdue", "due_soon", "referrals", "complaints", "reviews", "proposals")


def digest_place(actor: Actor) -> str | None:
    """Digests are kept per township and for the district; village cadres and others get none."""
    if actor.role in authz.DISTRICT_ROLES:
        return actor.place_code[:6]
    if actor.role in authz.TOWNSHIP_STAFF:
        return actor.place_code[:9]
    return None


async def latest_digest(db: asyncpg.Pool, actor: Actor, day: date | None = None) -> Digest | None:
    """The newest digest for the actor's place (on or before `day`), or None; without the complaints about the
    actor (rules.recusal.complaint_about): the digest is kept for the place, each reader sees their part."""
    place = digest_place(actor)
    digest = None if place is None else await supervision_repo.latest_digest(db, place, day)
    listed = [c["complaint_no"] for c in digest.body.get("complaints", [])] if digest else []
    hidden = await frontdoor_repo.complaints_about_reader(db, listed, Reader(actor.username, actor.full_name))
    if digest is None or not hidden:
        return digest
    kept = [c for c in digest.body["complaints"] if c["complaint_no"] not in hidden]
    return replace(digest, body=digest.body | {"complaints": kept})


def counts(digest: Digest | None) -> dict[str, int]:
    body = digest.body if digest else {}
    return {name: len(body.get(name, [])) for name in LISTS}
