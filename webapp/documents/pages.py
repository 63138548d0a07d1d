"""The upload form of the documents panel (`documents/_panel.html`, on the case, emergency event and request
pages): a multipart form whose Idempotency-Key travels in the query string; success goes back to the page's
documents, a refusal is a Chinese page that says why (nothing was stored)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from schemas.documents import OwnerKind
from webapp.deps import AppSettings, Db, MaybeTemporal, PageActor
from webapp.documents.service import may_upload, owner_of, upload
from webapp.documents.transfer import OwnerId, read_files
from webapp.errors import ApiError
from webapp.render import refusal_page

router = APIRouter(include_in_schema=False)


@router.post("/documents/{owner_kind}/{owner_id}")
async def upload_form(
    request: Request,
    owner_kind: OwnerKind,
    owner_id: OwnerId,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
    settings: AppSettings,
) -> Response:
    try:
        owner = await owner_of(db, owner_kind, owner_id, actor)
        may_upload(actor, owner)
        form = await request.form(max_files=50)
        files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        received = await read_files(files, settings.document_max_bytes)
        result = await upload(
            request,
            db,
            temporal,
            settings,
            actor,
            owner,
            str(form.get("doc_type") or ""),
            received,
            supersede=form.get("supersede") == "yes",
        )
    except ApiError as exc:
        return refusal_page(request, exc, actor)
    return RedirectResponse(f"{owner.page}?uploaded={len(result.uploaded)}#documents", status_code=303)
