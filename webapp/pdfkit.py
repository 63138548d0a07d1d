"""What the printed documents share (the approval form, the case file, the fund declaration): the embedded
Chinese font, wrapping paragraphs, and an A4 document with the page footer. They are official Chinese
documents, Chinese whatever the UI language.

Font: WenQuanYi Micro Hei from Debian's fonts-wqy-microhei, embedded (subset) so a document prints the
same everywhere; without it reportlab's built-in CID font STSong-Light, which readers supply.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import structlog
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate

log = structlog.get_logger("webapp")

FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FALLBACK_FONT = "STSong-Light"


@cache
def cjk_font() -> str:
    """Register the Chinese font once per process and return its name."""
    if FONT_FILE.is_file():
        pdfmetrics.registerFont(TTFont("WenQuanYiMicroHei", str(FONT_FILE), subfontIndex=0))
        return "WenQuanYiMicroHei"
    log.warning("CJK font file missing, using the built-in CID font", path=str(FONT_FILE), font=FALLBACK_FONT)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def paragraph(text: Any, style: ParagraphStyle) -> Paragraph:
    """`text` as it is (escaped, line breaks kept), wrapping Chinese between any two characters."""
    return Paragraph(escape("" if text is None else str(text)).replace("\n", "<br/>"), style)


def a4(
    story: list[Any],
    *,
    title: str,
    footer: str,
    side: float,
    top: float,
    bottom: float,
    footer_at: float,
    footer_size: float,
    **meta: str,
) -> bytes:
    """`story` on A4 pages, margins in millimetres, each page with `footer` on the left and its number on the
    right, `footer_at` mm above the bottom edge; `meta` (e.g. `subject`) goes into the PDF's properties."""
    font = cjk_font()

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, footer_size)
        canvas.drawString(side * mm, footer_at * mm, footer)
        canvas.drawRightString(A4[0] - side * mm, footer_at * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=side * mm,
        rightMargin=side * mm,
        topMargin=top * mm,
        bottomMargin=bottom * mm,
        title=title,
        author="裕安区民政局",
        **meta,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()
