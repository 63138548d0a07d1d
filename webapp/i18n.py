"""Gettext catalogs via Babel: English message ids, Simplified Chinese by default, English on request.

Each area of the UI keeps its own `.po` file under `webapp/locale/<locale>/LC_MESSAGES/`; they are
compiled in memory at first use and merged into one catalog per locale, so there is no build step.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

LOCALE_DIR = Path(__file__).parent / "locale"
LOCALES = {"zh_CN": "简体中文", "en": "English"}
DEFAULT_LOCALE = "zh_CN"
COOKIE = "jiuzhu_lang"


@cache
def translations(locale: str) -> NullTranslations:
    merged: Translations | None = None
    for po in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            catalog = read_po(f, locale=locale)
        buf = BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        part = Translations(fp=buf)
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    return merged or NullTranslations()


def gettext_callables(locale: str) -> tuple[Callable[..., str], Callable[..., str]]:
    """`gettext(msgid, **vars)` and `ngettext(singular, plural, n, **vars)` with %-style variables,
    the shape Jinja's newstyle gettext expects."""
    t = translations(locale)

    def gettext(message: str, **variables: object) -> str:
        text = t.gettext(message)
        return text % variables if variables else text

    def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
        return t.ngettext(singular, plural, n) % ({"num": n} | variables)

    return gettext, ngettext


def locale_of(request: Request) -> str:
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE
