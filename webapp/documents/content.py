"""What an uploaded file is, by its content: JPEG, PNG or PDF (the magic bytes, read by `filetype`; a name or a
declared content type counts for nothing), at most `Settings.document_max_bytes`. An image is decoded and
re-encoded by Pillow, which writes no EXIF (so no GPS position, camera or time) and no text chunks, after turning
it upright by its EXIF orientation; a PDF must open with pypdf, unencrypted, with at least one page, and append
to another (as the case file appends it); it is kept as it is. Every refusal is a `Refused` with a code and a
Chinese message, before anything is stored.

CPU-bound: the routes run `clean` in the thread pool.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter

JPEG, PNG, PDF = "image/jpeg", "image/png", "application/pdf"
ACCEPTED = (JPEG, PNG, PDF)
MAX_PIXELS = 50_000_000  # larger images are refused (decompression bombs)
THUMBNAIL = (320, 320)


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Cleaned:
    content: bytes  # what is kept: an image re-encoded, a PDF as sent
    mime: str
    sha256: str  # of `content`
    thumbnail: bytes | None  # a JPEG preview of an image
    pages: int | None  # a PDF's


def _mb(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit % (1024 * 1024) == 0 else f"{limit // 1024} KB"


def too_large(name: str, limit: int) -> Refused:
    return Refused("file_too_large", f"文件「{name}」超过 {_mb(limit)}，未保存；请压缩或分页扫描后重新上传")


def kind_of(data: bytes) -> str | None:
    """The accepted type the content is, by its magic bytes; None for anything else."""
    guess = filetype.guess(data[:8192])
    return guess.mime if guess is not None and guess.mime in ACCEPTED else None


def clean(name: str, data: bytes, limit: int) -> Cleaned:
    """The file as it is kept, or `Refused`."""
    if len(data) > limit:
        raise too_large(name, limit)
    if not data:
        raise Refused("empty_file", f"文件「{name}」是空文件，未保存")
    mime = kind_of(data)
    if mime is None:
        raise Refused("unsupported_type", f"文件「{name}」不是 JPEG、PNG 图片或 PDF 文件（按文件内容识别），未保存")
    if mime == PDF:
        pages = _pdf_pages(name, data)
        return Cleaned(data, PDF, hashlib.sha256(data).hexdigest(), None, pages)
    content, thumbnail = _reencode(name, data, mime)
    if len(content) > limit:
        raise too_large(name, limit)
    return Cleaned(content, mime, hashlib.sha256(content).hexdigest(), thumbnail, None)


def _damaged(name: str) -> Refused:
    return Refused("damaged_file", f"文件「{name}」已损坏或无法读取，未保存")


def _reencode(name: str, data: bytes, mime: str) -> tuple[bytes, bytes]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.width * probe.height > MAX_PIXELS:
                    raise Refused("image_too_large", f"图片「{name}」像素过多（超过 5000 万像素），未保存")
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                img.load()
                upright = ImageOps.exif_transpose(img)
    except Refused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning):
        raise _damaged(name) from None
    out = io.BytesIO()
    if mime == JPEG:
        picture = upright.convert("RGB") if upright.mode not in ("RGB", "L") else upright
        # no `exif=`, no ICC-free metadata: Pillow writes none of the original's APP segments
        picture.save(out, "JPEG", quality=90, optimize=True)
    else:
        picture = upright if upright.mode in ("RGB", "RGBA", "L", "LA", "P") else upright.convert("RGBA")
        picture.save(out, "PNG", optimize=True)  # no pnginfo: no text or eXIf chunks
    preview = picture.convert("RGB")
    preview.thumbnail(THUMBNAIL)
    thumb = io.BytesIO()
    preview.save(thumb, "JPEG", quality=80)
    return out.getvalue(), thumb.getvalue()


def _pdf_pages(name: str, data: bytes) -> int:
    """Its pages, once it has been read and appended to a new PDF as the case file appends it
    (webapp/documents/pdf.py): pypdf raises many kinds of errors on a malformed file (an AttributeError for a
    catalog without /Pages, for a malformed /Outlines), each of them `damaged_file`."""
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Refused("encrypted_pdf", f"PDF 文件「{name}」已加密，无法查阅，未保存；请上传未加密的文件")
        pages = len(reader.pages)
        trial = PdfWriter()
        trial.append(reader)
        trial.write(io.BytesIO())
    except Refused:
        raise
    except Exception:  # whatever a malformed file makes pypdf raise
        raise _damaged(name) from None
    if pages < 1:
        raise _damaged(name)
    return pages
