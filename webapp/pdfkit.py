"""What the printed documents share (the approval form, the case file, the fund declaration): the embedded
Chinese font and wrapping paragraphs. They are official Chinese documents, Chinese whatever the UI language.

Font: WenQuanYi Micro Hei from Debian's fonts-wqy-microhei, embedded (subset) so a document prints the
same everywhere; without it reportlab's built-in CID font STSong-Light, which readers supply.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import structlog
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

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
