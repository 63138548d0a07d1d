"""Files in and out over HTTP: read the uploaded parts (no more than the limit and a byte of each, so an
oversized file is known without reading it all), and answer a document's bytes with headers that keep it out
of caches and name it by its id only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, UploadFile
from fastapi.responses import Response

from db.documents_repo import Document
from webapp.documents.content import too_large
from webapp.errors import ApiError

DocumentId = Annotated[str, Path(pattern=r"^D[0-9a-f]{20}$", description="材料编号")]
OwnerId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$", description="案件、急难事件或诉求的编号")]
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}


async def read_files(files: list[UploadFile], limit: int) -> list[tuple[str, bytes]]:
    """(name, bytes) of each uploaded file; `Refused` (as an ApiError by the caller) for one over the limit."""
    out = []
    for f in files:
        name = (f.filename or "未命名文件").rsplit("/", 1)[-1][:80]
        data = await f.read(limit + 1)
        if len(data) > limit:
            refused = too_large(name, limit)
            raise ApiError(422, refused.code, refused.message)
        out.append((name, data))
    return out


def file_response(doc: Document, data: bytes, *, thumbnail: bool) -> Response:
    mime = "image/jpeg" if thumbnail else doc.mime
    name = f"{doc.document_id}{'-thumbnail' if thumbnail else ''}.{EXTENSIONS[mime]}"
    return Response(
        data,
        media_type=mime,
        headers={
            "cache-control": "no-store",
            "content-disposition": f'inline; filename="{name}"',
            "x-content-type-options": "nosniff",
        },
    )
