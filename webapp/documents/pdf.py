"""The documents in the case file PDF (webapp/supervision/pdf.py): a section that lists every document of the case
(superseded ones too, marked), each image printed in it, and each PDF document's pages appended after the case
file itself (pypdf), so the inspector's one file holds all the evidence.

`documents_print` reads and opens the documents (the route has checked the jurisdiction and logged the case
file's reading); `story` and `with_pdf_pages` do no I/O, so the route runs them in the thread pool.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import Image, KeepTogether, Spacer

from db import documents_repo
from infra.clock import BEIJING
from infra.config import Settings
from schemas.staff import Role
from webapp.documents.service import content_of, policy_of
from webapp.pdfkit import cjk_font

log = structlog.get_logger("webapp")

IMAGE_WIDTH = 150 * mm
IMAGE_HEIGHT = 200 * mm
FORMATS = {"image/jpeg": "JPEG 图片", "image/png": "PNG 图片", "application/pdf": "PDF"}


@dataclass
class DocumentsPrint:
    rows: list[list[str]]  # 编号, 材料类型, 上传时间, 上传人, 格式, 状态
    images: list[tuple[str, bytes]] = field(default_factory=list)  # caption, content
    pdfs: list[tuple[str, int, bytes]] = field(default_factory=list)  # document id, pages, content


async def documents_print(db: asyncpg.Pool, settings: Settings, case_id: str, version: int) -> DocumentsPrint:
    """Every document of the case, opened."""
    policy = await policy_of(db, version)
    out = DocumentsPrint(rows=[])
    appended = 0
    for doc in await documents_repo.of_owner(db, "case", case_id):
        data = await content_of(db, settings, doc)
        if data is None:
            continue
        name = policy.name_of(doc.doc_type)
        status = f"已被 {doc.superseded_by} 替换" if doc.superseded_by else "有效"
        when = f"{doc.uploaded_at.astimezone(BEIJING):%Y-%m-%d %H:%M}"
        uploader = f"{doc.uploaded_by}（{Role(doc.uploader_role).label}）"
        kind = FORMATS[doc.mime]
        if doc.mime == "application/pdf":
            kind += f"，{doc.pages} 页，附于案卷之后（附件第 {appended + 1} 页起）"
            appended += doc.pages or 0
            out.pdfs.append((doc.document_id, doc.pages or 0, data))
        else:
            out.images.append((f"{name}（{doc.document_id}，{status}）", data))
        out.rows.append([doc.document_id, name, when, uploader, kind, status])
    return out


def story(styles: Any, d: DocumentsPrint) -> list[Any]:
    """The case file's documents section: the list, then each image scaled to the page."""
    flow: list[Any] = [
        styles.p("八、证明材料", styles.heading),
        styles.listing(
            ["编号", "材料类型", "上传时间", "上传人", "格式", "状态"], d.rows, [1.6, 1.4, 1.3, 1.6, 1.7, 1.2]
        ),
    ]
    for caption, data in d.images:
        image = Image(io.BytesIO(data))
        scale = min(IMAGE_WIDTH / image.imageWidth, IMAGE_HEIGHT / image.imageHeight, 1.0)
        image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
        flow.append(KeepTogether([Spacer(1, 3 * mm), image, styles.p(caption, styles.small)]))
    return flow


def _pages_of(data: bytes) -> PdfReader:
    """A PDF document's pages as appended on their own first: a file pypdf cannot append (one stored before the
    upload checked that) raises here, and leaves the case file as it was."""
    part = PdfWriter()
    part.append(PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    part.write(out)
    return PdfReader(out)


def _placeholder(document_id: str, pages: int) -> PdfReader:
    """As many pages as the document has (the list says where each document's pages start), each saying that it
    could not be appended."""
    out = io.BytesIO()
    sheet = canvas.Canvas(out, pagesize=A4)
    font = cjk_font()
    said = f"材料 {document_id} 无法附入案卷（文件已损坏），请在系统中单独查看。"
    for page in range(1, pages + 1):
        sheet.setFont(font, 14)
        sheet.drawString(25 * mm, A4[1] - 40 * mm, said)
        sheet.setFont(font, 10)
        sheet.drawString(25 * mm, A4[1] - 50 * mm, f"该材料第 {page} 页，共 {pages} 页")
        sheet.showPage()
    sheet.save()
    return PdfReader(out)


def with_pdf_pages(case_file: bytes, d: DocumentsPrint | None) -> bytes:
    """The case file with the pages of each PDF document appended, in the order listed (none where the documents
    are left out: a viewer recused from the case); a document that cannot be appended gets placeholder pages."""
    if d is None or not d.pdfs:
        return case_file
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(case_file)))
    for document_id, pages, data in d.pdfs:
        try:
            part = _pages_of(data)
        except Exception as exc:  # whatever a malformed file makes pypdf raise
            log.warning("document not appended to the case file", document_id=document_id, error=repr(exc))
            part = _placeholder(document_id, max(pages, 1))
        writer.append(part)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
