"""Documents over HTTP: list a file's documents and the required materials it lacks, upload (multipart: one
material type, one or more files), and read a document or its thumbnail. No personal data in the paths: a
file is named by its case, event or request number, a document by its random id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from schemas.documents import DocumentList, OwnerKind, UploadResult
from webapp.deps import AppSettings, CurrentActor, Db, MaybeTemporal
from webapp.documents.service import listing, may_see, may_upload, owner_of, read, upload
from webapp.documents.transfer import DocumentId, OwnerId, file_response, read_files
from webapp.frontdoor.models import ERRORS

router = APIRouter(prefix="/api", tags=["材料"])


@router.get("/documents/{document_id}/content", summary="查看或下载材料", responses=ERRORS)
async def document_content(
    request: Request,
    document_id: DocumentId,
    actor: CurrentActor,
    db: Db,
    temporal: MaybeTemporal,
    settings: AppSettings,
) -> Response:
    """The document as stored (an image re-encoded without its metadata); only within the jurisdiction of its
    case, event or request, never for staff recused from it (403 `recused`), and logged. `Cache-Control:
    no-store`."""
    doc, data = await read(request, db, temporal, settings, actor, document_id, thumbnail=False)
    return file_response(doc, data, thumbnail=False)


@router.get("/documents/{document_id}/thumbnail", summary="材料缩略图", responses=ERRORS)
async def document_thumbnail(
    request: Request,
    document_id: DocumentId,
    actor: CurrentActor,
    db: Db,
    temporal: MaybeTemporal,
    settings: AppSettings,
) -> Response:
    doc, data = await read(request, db, temporal, settings, actor, document_id, thumbnail=True)
    return file_response(doc, data, thumbnail=True)


@router.get(
    "/documents/{owner_kind}/{owner_id}", response_model=DocumentList, summary="材料清单与缺少的必备材料",
    responses=ERRORS,
)  # fmt: skip
async def list_documents(
    owner_kind: OwnerKind, owner_id: OwnerId, actor: CurrentActor, db: Db, temporal: MaybeTemporal
) -> DocumentList:
    """Within the jurisdiction of the case, event or request, never for staff recused from it (403 `recused`)."""
    owner = await owner_of(db, owner_kind, owner_id, actor)
    await may_see(db, temporal, owner, actor)
    return await listing(db, owner)


@router.post(
    "/documents/{owner_kind}/{owner_id}",
    response_model=UploadResult,
    status_code=201,
    summary="上传材料（可多个文件）",
    responses=ERRORS,
)
async def upload_documents(
    request: Request,
    owner_kind: OwnerKind,
    owner_id: OwnerId,
    actor: CurrentActor,
    db: Db,
    temporal: MaybeTemporal,
    settings: AppSettings,
    doc_type: Annotated[str, Form(description="材料类型代码（政策中的材料类型）")] = "",
    files: Annotated[list[UploadFile] | None, File(description="JPEG、PNG 或 PDF，每个不超过 10 MB")] = None,
    supersede: Annotated[bool, Form(description="替换此前的同类材料（原材料保留，标记为已替换）")] = False,
) -> UploadResult:
    """Multipart with `Idempotency-Key`. Accepted by content: JPEG, PNG, PDF, each at most 10 MB; anything else
    refuses the whole upload (422 `unsupported_type`, `file_too_large`, …) and nothing is stored. Images are
    re-encoded without EXIF (no location). The same content filed twice as the same type is kept once."""
    owner = await owner_of(db, owner_kind, owner_id, actor)
    may_upload(actor, owner)
    received = await read_files(files or [], settings.document_max_bytes)
    return await upload(request, db, temporal, settings, actor, owner, doc_type, received, supersede=supersede)
