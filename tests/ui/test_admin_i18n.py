"""The admin templates' catalogs: every English msgid has a Chinese translation, and the admin's .po
files define nothing another file of the same locale already defines (the merge would hide one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from webapp.i18n import LOCALE_DIR
from webapp.ui.render import TEMPLATES

OWN = {"zh_CN": "admin.po", "en": "admin-labels.po"}
JINJA = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}


def _catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def _admin_msgids() -> set[str]:
    found = set()
    for template in sorted((TEMPLATES / "admin").glob("*.html")):
        for _, message, _, _ in extract_from_file("jinja2.ext.babel_extract", str(template), options=JINJA):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_admin_message_is_translated_into_chinese() -> None:
    translated: dict[str, str] = {}
    for po in (LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po"):
        translated |= _catalog(po)
    msgids = _admin_msgids()
    assert len(msgids) > 100
    assert sorted(m for m in msgids if not translated.get(m)) == []


@pytest.mark.parametrize("locale", sorted(OWN))
def test_admin_catalogs_repeat_no_msgid_of_their_locale(locale: str) -> None:
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    own = _catalog(folder / OWN[locale])
    for other in sorted(folder.glob("*.po")):
        if other.name != OWN[locale]:
            assert sorted(own.keys() & _catalog(other).keys()) == [], other.name
