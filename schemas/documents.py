"""Documents filed on a case, an emergency event or a front-door request (webapp/documents): what the API
answers, and the workflow update that records an upload in the file's journal (`record_document`), which
carries the document's id, its material type and who uploaded it, never its content."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.staff import Actor

RECORD_DOCUMENT = "record_document"  # the update of the review, emergency and intake workflows
DOCUMENT_RECORDED = "document_recorded"  # the journal entry's kind

OwnerKind = Literal["case", "emergency", "request"]


class DocumentRecorded(BaseModel):
    document_id: str = Field(pattern=r"^D[0-9a-f]{20}$")
    doc_type: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    type_name: str = Field(min_length=1, max_length=32)
    uploader: Actor
    supersedes: list[str] = Field(default_factory=list, description="the ids of the documents it superseded")


class DocumentAck(BaseModel):
    log_key: str


class MaterialType(BaseModel):
    code: str
    name: str


class DocumentView(BaseModel):
    document_id: str
    doc_type: str
    type_name: str
    mime: str
    size_bytes: int
    pages: int | None
    thumbnail: bool
    uploaded_by: str
    uploader_role: str
    uploaded_at: datetime
    superseded_by: str | None
    superseded_at: datetime | None


class DocumentList(BaseModel):
    owner_kind: OwnerKind
    owner_id: str
    documents: list[DocumentView]
    missing: list[MaterialType] = Field(description="必备但尚无（未被替换的）材料的类型，按政策顺序")
    types: list[MaterialType] = Field(description="可上传的材料类型")


class UploadResult(DocumentList):
    uploaded: list[str] = Field(description="本次上传对应的材料编号（相同内容已存在时为原材料编号）")
