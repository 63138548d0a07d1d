"""The documents panel of the case, emergency event and request pages (`documents/_panel.html`): the file's
documents with their thumbnails, the required materials it still lacks, and the upload form for those who
may upload. The page has already checked the reader's jurisdiction; the panel's loader checks it again. Staff
recused from the file see only why the documents are withheld (as when that cannot be known now)."""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio.client import Client

from infra.clock import BEIJING
from schemas.staff import Actor, Role
from webapp import authz
from webapp.documents.service import UPLOAD, listing, may_see, owner_of
from webapp.errors import ApiError


async def panel(db: asyncpg.Pool, temporal: Client | None, kind: str, owner_id: str, actor: Actor) -> dict[str, Any]:
    owner = await owner_of(db, kind, owner_id, actor)
    try:
        await may_see(db, temporal, owner, actor)
    except ApiError as exc:  # recused, or not known now: why, and nothing of the documents
        return {"kind": owner.kind, "owner_id": owner.owner_id, "withheld": exc.message, "missing": []}
    docs = await listing(db, owner)
    return {
        "kind": owner.kind,
        "owner_id": owner.owner_id,
        "requires": owner.requires,
        "documents": [
            d.model_dump() | {"when": d.uploaded_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")}
            for d in docs.documents
        ],
        "missing": docs.missing,
        "types": docs.types,
        "can_upload": owner.open and authz.may(actor, UPLOAD[owner.kind]),
        "camera": actor.role is Role.VILLAGE_CADRE,  # on the phone in the village: the camera opens at once
    }


async def panel_if_readable(
    db: asyncpg.Pool, temporal: Client | None, kind: str, owner_id: str, actor: Actor
) -> dict[str, Any] | None:
    """The panel, or None where the reader may not see the file's documents (a page that shows them aside)."""
    try:
        return await panel(db, temporal, kind, owner_id, actor)
    except ApiError:
        return None
