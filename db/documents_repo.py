"""Documents (tables `documents` and `document_blobs`, migration 0027): each distinct content stored once, sealed,
by its SHA-256; a document files it on a case, an emergency event or a front-door request as one material type.
Never deleted: a newer document of the same type may supersede older ones, which stay. What is sealed and how is
webapp.documents' business; this module stores and reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.pool import Db
from db.typed import every, one


@dataclass(frozen=True)
class Blob:
    """A content to keep: its hash, type and size in clear, the sealed bytes and the sealed preview (in the row, or
    `store` "s3": in the object store, and `sealed`/`thumbnail` here only say what was written there)."""

    sha256: str
    mime: str
    size_bytes: int
    key_id: str
    sealed: bytes
    thumbnail: bytes | None
    pages: int | None
    store: str = "postgres"


@dataclass(frozen=True)
class Document:
    document_id: str
    owner_kind: str
    owner_id: str
    place_code: str
    doc_type: str
    sha256: str
    mime: str
    size_bytes: int
    pages: int | None
    has_thumbnail: bool
    uploaded_by: str
    uploader_role: str
    uploaded_at: datetime
    superseded_by: str | None
    superseded_at: datetime | None


@dataclass(frozen=True)
class Filed:
    """The outcome of filing one content: the document, whether it is new (not the same content already
    filed as a current document of that type), and the documents it superseded."""

    document: Document
    new: bool
    superseded: list[str]


_DOC = """
select d.document_id, d.owner_kind, d.owner_id, d.place_code, d.doc_type, d.sha256, b.mime, b.size_bytes, b.pages,
       b.has_thumbnail, d.uploaded_by, d.uploader_role, d.uploaded_at, d.superseded_by,
       d.superseded_at
from documents d join document_blobs b on b.sha256 = d.sha256
"""


async def file(
    conn: asyncpg.Connection,
    *,
    document_id: str,
    owner_kind: str,
    owner_id: str,
    place_code: str,
    doc_type: str,
    blob: Blob,
    uploaded_by: str,
    uploader_role: str,
    supersede: bool,
    at: datetime,
    batch: tuple[str, ...] = (),
) -> Filed:
    """Store `blob` once (an existing hash is kept as it is) and file it on the owner, in one transaction: the
    same content already current for that owner and type answers that document (nothing new); otherwise a new
    document, which supersedes the type's current documents when `supersede`, except `batch` (the documents of
    the same upload filed before it: a batch replaces what was current before it, not its own files)."""
    in_row = blob.store == "postgres"
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(hashtext($1))", f"documents:{owner_kind}:{owner_id}")
        await conn.execute(
            "insert into document_blobs (sha256, mime, size_bytes, key_id, store, sealed, thumbnail, has_thumbnail, "
            "pages) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (sha256) do nothing",
            blob.sha256,
            blob.mime,
            blob.size_bytes,
            blob.key_id,
            blob.store,
            blob.sealed if in_row else None,
            blob.thumbnail if in_row else None,
            blob.thumbnail is not None,
            blob.pages,
        )
        same = await conn.fetchrow(
            f"{_DOC} where d.owner_kind = $1 and d.owner_id = $2 and d.doc_type = $3 and d.sha256 = $4 "
            "and d.superseded_by is null",
            owner_kind,
            owner_id,
            doc_type,
            blob.sha256,
        )
        if same is not None:
            return Filed(Document(**same), new=False, superseded=[])
        await conn.execute(
            "insert into documents (document_id, owner_kind, owner_id, place_code, doc_type, sha256, uploaded_by, "
            "uploader_role, uploaded_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            document_id,
            owner_kind,
            owner_id,
            place_code,
            doc_type,
            blob.sha256,
            uploaded_by,
            uploader_role,
            at,
        )
        superseded: list[str] = []
        if supersede:
            rows = await conn.fetch(
                "update documents set superseded_by = $4, superseded_at = $5 where owner_kind = $1 "
                "and owner_id = $2 and doc_type = $3 and superseded_by is null and document_id <> $4 "
                "and document_id <> all($6::text[]) returning document_id",
                owner_kind,
                owner_id,
                doc_type,
                document_id,
                at,
                list(batch),
            )
            superseded = sorted(r["document_id"] for r in rows)
        row = await conn.fetchrow(f"{_DOC} where d.document_id = $1", document_id)
        return Filed(Document(**row), new=True, superseded=superseded)


async def of_owner(db: Db, owner_kind: str, owner_id: str) -> list[Document]:
    """Every document of the owner, superseded ones too, in the order they were uploaded."""
    return await every(
        db,
        Document,
        f"{_DOC} where d.owner_kind = $1 and d.owner_id = $2 order by d.seq",
        owner_kind,
        owner_id,
    )


async def document(db: Db, document_id: str) -> Document | None:
    return await one(db, Document, f"{_DOC} where d.document_id = $1", document_id)


@dataclass(frozen=True)
class Sealed:
    """Where a blob's sealed content (or preview) is: `data` in the row, or `store` "s3" (data None)."""

    key_id: str
    store: str
    data: bytes | None


async def sealed(db: Db, sha256: str, *, thumbnail: bool = False) -> Sealed | None:
    """The key id and the sealed content (or preview) of a blob; None when it has no such thing."""
    column = "thumbnail" if thumbnail else "sealed"
    row = await db.fetchrow(
        f"select key_id, store, {column} as data, has_thumbnail from document_blobs where sha256 = $1", sha256
    )
    if row is None or (thumbnail and not row["has_thumbnail"]):
        return None
    data = row["data"]
    return Sealed(row["key_id"], row["store"], bytes(data) if data is not None else None)


async def has_blob(db: Db, sha256: str) -> bool:
    """Whether this content is stored already (then as it was sealed: with its own key id)."""
    return await db.fetchval("select exists (select 1 from document_blobs where sha256 = $1)", sha256)


async def blob_count(db: Db) -> int:
    """How many distinct contents are stored (the de-duplication's measure)."""
    return await db.fetchval("select count(*) from document_blobs")
