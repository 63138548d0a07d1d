"""Documents on a case, an emergency event or a front-door request: what the API and the pages both call.

Every read goes through the owner's own loader, which is the jurisdiction check of the case, event or request
(403 `out_of_jurisdiction` for another township's), and the access log (`Kind.DOCUMENT`). An upload is checked
whole before anything is stored (role, jurisdiction, open file, recusal, material type, each file's content and
size: `webapp.documents.content`); each file is then sealed with the document keys (the payload key ring's keys
derived for documents, `infra.codec.KeyRing.derived`), stored once by its hash and filed on the owner
(`db.documents_repo.file`), and the owner's workflow records the upload (update `record_document`, one per
document id, so a retry records nothing twice).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import asyncpg
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from db import cases_repo, documents_repo, emergency_repo, policy_repo
from db.documents_repo import Blob, Document
from infra.clock import now, today
from infra.codec import KeyRing, key_ring
from infra.config import Settings
from infra.objectstore import object_key, object_store
from rules.documents import missing
from schemas.documents import (
    RECORD_DOCUMENT,
    DocumentAck,
    DocumentList,
    DocumentRecorded,
    DocumentView,
    MaterialType,
    OwnerKind,
    UploadResult,
)
from schemas.emergency import emergency_workflow_id
from schemas.policy import DocumentPolicy
from schemas.staff import Actor
from webapp import access_log, authz
from webapp.access_log import Kind
from webapp.documents.content import Cleaned, Refused, clean
from webapp.errors import ApiError, forbidden, not_found
from webapp.frontdoor.rows import request_row
from webapp.recusal import kept_away
from webapp.review.cases import case_row
from webapp.workflow_calls import connected, update

PURPOSE = "documents"
OWNER_KINDS: tuple[OwnerKind, ...] = ("case", "emergency", "request")
READ = {"case": "case.read", "emergency": "emergency.read", "request": "request.read"}
UPLOAD = {"case": "document.upload", "emergency": "document.upload", "request": "document.upload.request"}
CLOSED = ApiError(409, "closed", "已办结，不能再上传材料")
NO_FILES = ApiError(422, "no_files", "请选择要上传的文件")


@dataclass(frozen=True)
class Owner:
    """What a document is filed on, as its loader found it for the actor."""

    kind: OwnerKind
    owner_id: str
    place: str
    open: bool
    requires: str | None  # whose required materials apply: dibao, tekun, emergency (a request: none)
    workflow_id: str
    policy_version: int | None

    @property
    def page(self) -> str:
        return {"case": "/cases/", "emergency": "/emergencies/", "request": "/frontdoor/requests/"}[
            self.kind
        ] + self.owner_id


def keys(settings: Settings) -> KeyRing:
    return key_ring(settings).derived(PURPOSE)


def seal_context(sha256: str, thumbnail: bool) -> bytes:
    return b"jiuzhu-document\x00" + (b"thumbnail\x00" if thumbnail else b"content\x00") + sha256.encode()


def sealed_blob(ring: KeyRing, c: Cleaned, store: str = "postgres") -> Blob:
    """A cleaned file as it is stored: content and preview sealed, each bound to the content's hash."""
    key_id, sealed = ring.seal(c.content, seal_context(c.sha256, False))
    thumb = ring.seal(c.thumbnail, seal_context(c.sha256, True))[1] if c.thumbnail else None
    return Blob(c.sha256, c.mime, len(c.content), key_id, sealed, thumb, c.pages, store)


async def keep(db: asyncpg.Pool, settings: Settings, blob: Blob) -> None:
    """Write a blob's sealed bytes to the object store, when that is where documents are kept (the row follows);
    never over a content stored already: its row keeps the key id it was sealed with, and bytes sealed with
    another key (after a rotation) would leave its documents unreadable."""
    if blob.store != "s3" or await documents_repo.has_blob(db, blob.sha256):
        return
    store = object_store(settings)
    await store.put(object_key(blob.sha256), blob.sealed)
    if blob.thumbnail is not None:
        await store.put(object_key(blob.sha256, thumbnail=True), blob.thumbnail)


async def owner_of(db: asyncpg.Pool, kind: str, owner_id: str, actor: Actor) -> Owner:
    """The owner if the actor may read it: 404 when it does not exist, 403 outside their jurisdiction."""
    if kind not in OWNER_KINDS:
        raise not_found("材料所属的案件不存在")
    authz.require(actor, READ[kind])
    if kind == "case":
        row = await case_row(db, owner_id, actor)
        # a refused case takes documents until its notice's delivery is recorded (the signed receipt among them)
        refused = row.status == "refused" and await cases_repo.awaits_refusal_delivery(db, owner_id)
        takes = row.status == "open" or refused
        return Owner("case", owner_id, row.place, takes, row.assistance_type, row.workflow_id, row.policy_version)
    if kind == "emergency":
        event = await emergency_repo.event(db, owner_id)
        if event is None:
            raise not_found("急难事件不存在")
        if not authz.in_scope(actor, READ[kind], event.village_code):
            raise forbidden("该急难事件不在您的辖区内", "out_of_jurisdiction")
        return Owner("emergency", owner_id, event.village_code, event.status == "open", "emergency",
                     emergency_workflow_id(owner_id), None)  # fmt: skip
    req = await request_row(db, owner_id, actor)
    place = req.village_code or req.township_code
    return Owner("request", owner_id, place, req.status != "closed", None, req.workflow_id, None)


async def policy_of(db: asyncpg.Pool, version: int | None) -> DocumentPolicy:
    """The material types of a policy version (a case keeps its own), else of the policy in force."""
    async with db.acquire() as conn:
        if version is not None:
            return (await policy_repo.get(conn, version)).documents
        return (await policy_repo.in_force(conn, today())).documents


async def content_of(db: asyncpg.Pool, settings: Settings, doc: Document, *, thumbnail: bool = False) -> bytes | None:
    """A document's clear content (or preview), from the row or the object store; None when it has none (a PDF's
    preview)."""
    found = await documents_repo.sealed(db, doc.sha256, thumbnail=thumbnail)
    if found is None:
        return None
    data = found.data
    if data is None:  # kept in the object store
        data = await object_store(settings).get(object_key(doc.sha256, thumbnail=thumbnail))
    return keys(settings).open(found.key_id, data, seal_context(doc.sha256, thumbnail))


def _view(doc: Document, policy: DocumentPolicy) -> DocumentView:
    return DocumentView(
        document_id=doc.document_id,
        doc_type=doc.doc_type,
        type_name=policy.name_of(doc.doc_type),
        mime=doc.mime,
        size_bytes=doc.size_bytes,
        pages=doc.pages,
        thumbnail=doc.has_thumbnail,
        uploaded_by=doc.uploaded_by,
        uploader_role=doc.uploader_role,
        uploaded_at=doc.uploaded_at,
        superseded_by=doc.superseded_by,
        superseded_at=doc.superseded_at,
    )


def _types(types: list) -> list[MaterialType]:
    return [MaterialType(code=t.code, name=t.name) for t in types]


async def listing(db: asyncpg.Pool, owner: Owner) -> DocumentList:
    """The owner's documents (superseded ones too) and the required types it still lacks."""
    policy = await policy_of(db, owner.policy_version)
    docs = await documents_repo.of_owner(db, owner.kind, owner.owner_id)
    current = [d.doc_type for d in docs if d.superseded_by is None]
    return DocumentList(
        owner_kind=owner.kind,
        owner_id=owner.owner_id,
        documents=[_view(d, policy) for d in docs],
        missing=_types(missing(policy.types, policy.required, owner.requires, current)),
        types=_types(list(policy.types)),
    )


def may_upload(actor: Actor, owner: Owner) -> None:
    """403 `wrong_role` unless the actor's role uploads to this kind of file (before any file is read)."""
    authz.require(actor, UPLOAD[owner.kind])


async def _recused(db: asyncpg.Pool, temporal: Client | None, owner: Owner, actor: Actor) -> bool:
    """Staff kept away from the file (webapp/recusal.py; the workflow's validator refuses their actions too); 503
    `recusal_unknown` when that cannot be known now."""
    return await kept_away(db, temporal, owner.workflow_id, actor.username)


async def may_see(db: asyncpg.Pool, temporal: Client | None, owner: Owner, actor: Actor) -> None:
    """403 `recused` for staff kept away from the file: not its documents, nor which there are (their scans show
    whole ID numbers, which they see masked elsewhere)."""
    if await _recused(db, temporal, owner, actor):
        raise forbidden("您与申请人家庭存在近亲属关系，依规应当回避，不能查看其材料", "recused")


async def upload(
    request: Request,
    db: asyncpg.Pool,
    temporal: Client | None,
    settings: Settings,
    actor: Actor,
    owner: Owner,
    doc_type: str,
    files: list[tuple[str, bytes]],
    *,
    supersede: bool,
) -> UploadResult:
    """Check everything, then store and record each file; nothing is stored when any check fails."""
    may_upload(actor, owner)
    if not owner.open:
        raise CLOSED
    if await _recused(db, temporal, owner, actor):
        raise forbidden("您与申请人家庭存在近亲属关系，依规应当回避，不能为其上传材料", "recused")
    policy = await policy_of(db, owner.policy_version)
    if doc_type not in {t.code for t in policy.types}:
        raise ApiError(422, "invalid_type", "请选择材料类型")
    if not files:
        raise NO_FILES
    cleaned: list[Cleaned] = []
    for name, data in files:
        try:
            cleaned.append(await run_in_threadpool(clean, name, data, settings.document_max_bytes))
        except Refused as exc:
            raise ApiError(422, exc.code, exc.message) from None
    client = connected(temporal)
    ring = keys(settings)
    ids: list[str] = []
    for c in cleaned:
        blob = sealed_blob(ring, c, settings.document_store)
        await keep(db, settings, blob)
        async with db.acquire() as conn:
            filed = await documents_repo.file(
                conn,
                document_id="D" + secrets.token_hex(10),
                owner_kind=owner.kind,
                owner_id=owner.owner_id,
                place_code=owner.place,
                doc_type=doc_type,
                blob=blob,
                uploaded_by=actor.username,
                uploader_role=actor.role.value,
                supersede=supersede,
                at=now(),
                batch=tuple(ids),
            )
        doc = filed.document
        ids.append(doc.document_id)
        await update(
            client,
            owner.workflow_id,
            RECORD_DOCUMENT,
            DocumentRecorded(
                document_id=doc.document_id,
                doc_type=doc_type,
                type_name=policy.name_of(doc_type),
                uploader=actor,
                supersedes=filed.superseded,
            ),
            result_type=DocumentAck,
            update_id=f"{RECORD_DOCUMENT}-{doc.document_id}",
            closed=CLOSED,
        )
        await access_log.record(request, actor, Kind.DOCUMENT_UPLOAD, doc.document_id, detail=_detail(owner))
    return UploadResult(**(await listing(db, owner)).model_dump(), uploaded=ids)


def _detail(owner: Owner) -> str:
    return f"{owner.kind}:{owner.owner_id}"


async def read(
    request: Request,
    db: asyncpg.Pool,
    temporal: Client | None,
    settings: Settings,
    actor: Actor,
    document_id: str,
    *,
    thumbnail: bool,
) -> tuple[Document, bytes]:
    """A document's content (or its preview) for the actor, through its owner's jurisdiction check, never for
    staff recused from the file (its scans show whole ID numbers, which they see masked elsewhere); logged."""
    doc = await documents_repo.document(db, document_id)
    if doc is None:
        raise not_found("材料不存在")
    owner = await owner_of(db, doc.owner_kind, doc.owner_id, actor)
    await may_see(db, temporal, owner, actor)
    data = await content_of(db, settings, doc, thumbnail=thumbnail)
    if data is None:
        raise not_found("该材料没有缩略图")
    await access_log.record(
        request, actor, Kind.DOCUMENT, document_id, detail=_detail(owner) + (" 缩略图" if thumbnail else "")
    )
    return doc, data
