"""What the per-area catalog tests check, read once: the msgids an area marks for translation, the merged
catalog of a locale (the app merges every .po file of a locale into one), and the msgids an area's own
.po files repeat from another file of their locale (the merge would keep only one of them)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from webapp.i18n import LOCALE_DIR
from webapp.render import TEMPLATE_DIRS

# How webapp/render.py sets up Jinja, so that extraction sees the templates as the app renders them.
JINJA = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}


def _first(text: str | tuple[str, ...]) -> str:
    """A plural entry by its singular form."""
    return text if isinstance(text, str) else text[0]


def catalog(locale: str, name: str) -> dict[str, str]:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / name).open("rb") as f:
        return {_first(m.id): _first(m.string) for m in read_po(f, locale=locale) if m.id}


def merged(locale: str) -> dict[str, str]:
    """Every catalog of `locale` in one, as the app sees them."""
    found: dict[str, str] = {}
    for po in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po")):
        found |= catalog(locale, po.name)
    return found


def templates(*areas: str) -> list[Path]:
    """The templates of the given area folders, wherever their feature keeps them (webapp/<feature>/templates)."""
    return [path for area in areas for root in TEMPLATE_DIRS for path in sorted((root / area).glob("*.html"))]


def msgids(paths: Iterable[Path]) -> set[str]:
    """The messages marked for translation in templates (.html) and modules (.py); a `_(label)` of a
    variable marks none (the label tests cover those)."""
    found = set()
    for path in paths:
        method = "python" if path.suffix == ".py" else "jinja2.ext.babel_extract"
        for _, message, _, _ in extract_from_file(method, str(path), options=JINJA):
            found.add(_first(message))
    return found


def untranslated(messages: Iterable[str], locale: str) -> list[str]:
    """The messages `locale`'s catalogs give no translation for."""
    translations = merged(locale)
    return sorted(m for m in messages if not translations.get(m))


def repeated(locale: str, own: str) -> dict[str, list[str]]:
    """For each other .po file of `locale`, the msgids it shares with the area's file `own`."""
    mine = catalog(locale, own).keys()
    shared = {
        other.name: sorted(mine & catalog(locale, other.name).keys())
        for other in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"))
        if other.name != own
    }
    return {name: ids for name, ids in shared.items() if ids}
