"""Files for the document tests, made here: a photo with a GPS position in its EXIF, a PNG, a one-page PDF, an
executable renamed as a photo; and a document filed straight into the tables (sealed as the app seals it)."""

from __future__ import annotations

import hashlib
import io

import asyncpg
from PIL import Image
from reportlab.pdfgen import canvas

from db import documents_repo
from infra.clock import now
from infra.config import Settings
from webapp.documents.content import Cleaned, clean
from webapp.documents.service import keys, sealed_blob

GPS_IFD = 0x8825
GPS = {1: "N", 2: (31.0, 45.0, 12.5), 3: "E", 4: (116.0, 30.0, 1.0)}  # 六安 (Lu'an), as a phone writes it
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(240)  # an x86-64 executable's header


def photo_with_gps(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (640, 480)) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[GPS_IFD] = GPS
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", exif=exif, quality=95)
    return out.getvalue()


def png(colour: tuple[int, int, int] = (20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), colour).save(out, "PNG")
    return out.getvalue()


def pdf(text: str = "income statement") -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.showPage()
    page.save()
    return out.getvalue()


def malformed_pdf(catalog: bytes) -> bytes:
    """A one-page PDF whose document catalog holds `catalog` (besides its type): b"" has no /Pages; b"/Pages 2 0 R"
    is well formed, with b"/Outlines 5" besides its outline is a number (it reads, pypdf cannot append it)."""
    objects = [
        b"<</Type/Catalog" + catalog + b">>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
    out.write(b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def gps_of(jpeg: bytes) -> dict:
    return dict(Image.open(io.BytesIO(jpeg)).getexif().get_ifd(GPS_IFD))


async def file_document(
    pool: asyncpg.Pool,
    owner_id: str,
    place: str,
    data: bytes,
    *,
    owner_kind: str = "case",
    doc_type: str = "id_card",
    document_id: str | None = None,
    unchecked_pdf: bool = False,
) -> str:
    """A document filed without the web app (no workflow), sealed with the app's document keys; its id.
    `unchecked_pdf`: a one-page PDF filed as it is, unchecked (as one stored before a check was added)."""
    if unchecked_pdf:
        c = Cleaned(data, "application/pdf", hashlib.sha256(data).hexdigest(), None, 1)
    else:
        c = clean("seed.jpg", data, 10 * 1024 * 1024)
    document_id = document_id or "D" + c.sha256[:20]
    async with pool.acquire() as conn:
        await documents_repo.file(
            conn,
            document_id=document_id,
            owner_kind=owner_kind,
            owner_id=owner_id,
            place_code=place,
            doc_type=doc_type,
            blob=sealed_blob(keys(Settings()), c),
            uploaded_by="shipo_jingban",
            uploader_role="township_caseworker",
            supersede=False,
            at=now(),
        )
    return document_id
