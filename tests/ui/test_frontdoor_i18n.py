"""The front door's catalogs: every English msgid of its templates has Chinese, every Chinese label it
shows has English, and its .po files define nothing another file of the same locale defines."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from rules.needs import NEEDS
from schemas.frontdoor import RequestKind
from schemas.staff import Bureau
from webapp import frontdoor_api
from webapp.i18n import LOCALE_DIR
from webapp.ui import bureau_pages, frontdoor_pages
from webapp.ui.render import TEMPLATES

OWN = {"zh_CN": "frontdoor.po", "en": "frontdoor-labels.po"}
AREAS = ("portal", "bureau", "frontdoor", "household")
JINJA = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}


def _catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(f) if m.id}


def _all(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for po in (LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"):
        merged |= _catalog(po)
    return merged


def _msgids() -> set[str]:
    found = set()
    for area in AREAS:
        for template in sorted((TEMPLATES / area).glob("*.html")):
            for _, message, _, _ in extract_from_file("jinja2.ext.babel_extract", str(template), options=JINJA):
                found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_of_the_front_door_is_translated_into_chinese() -> None:
    translated = _all("zh_CN")
    msgids = _msgids()
    assert len(msgids) > 150
    assert sorted(m for m in msgids if not translated.get(m)) == []


def test_every_chinese_label_the_front_door_shows_has_english() -> None:
    labels = {n.plain for n in NEEDS} | {n.help_kind for n in NEEDS} | {b.label for b in Bureau}
    labels |= {k.label for k in RequestKind} | set(bureau_pages.STATUS_LABELS.values())
    labels |= set(bureau_pages.OUTCOME_LABELS.values()) | set(frontdoor_pages.DONE_LABELS.values())
    for table in (
        frontdoor_pages.REQUEST_STATUS,
        frontdoor_pages.NEED_STATUS,
        frontdoor_pages.COMPLAINT_STATUS,
        frontdoor_pages.FINDINGS,
        frontdoor_pages.CHANNELS,
    ):
        labels |= set(table.values())
    labels |= {label for _, _, label in frontdoor_api.REFERRAL_ACTIONS.values()}
    labels |= {label for _, _, label in frontdoor_api.COMPLAINT_ACTIONS.values()}
    english = _all("en")
    assert sorted(label for label in labels if not english.get(label)) == []


@pytest.mark.parametrize("locale", sorted(OWN))
def test_front_door_catalogs_repeat_no_msgid_of_their_locale(locale: str) -> None:
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    own = _catalog(folder / OWN[locale])
    for other in sorted(folder.glob("*.po")):
        if other.name != OWN[locale]:
            assert sorted(own.keys() & _catalog(other).keys()) == [], other.name
