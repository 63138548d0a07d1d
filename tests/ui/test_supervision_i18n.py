"""The supervision area's catalogs: every English msgid of its templates has Chinese, every Chinese label
its modules show has English, and its .po files define nothing another file of the same locale defines."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from webapp.i18n import LOCALE_DIR
from webapp.ui import (
    supervision_conflicts,
    supervision_declarations,
    supervision_history,
    supervision_reviews,
    supervision_sampling,
)
from webapp.ui.render import TEMPLATES

OWN = {"zh_CN": "supervision.po", "en": "supervision-labels.po"}
JINJA = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}


def _catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(f) if m.id}


def _all(locale: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for po in (LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"):
        merged |= _catalog(po)
    return merged


def test_every_message_of_the_supervision_pages_is_translated_into_chinese() -> None:
    found = set()
    for template in sorted((TEMPLATES / "supervision").glob("*.html")):
        for _, message, _, _ in extract_from_file("jinja2.ext.babel_extract", str(template), options=JINJA):
            found.add(message if isinstance(message, str) else message[0])
    assert len(found) > 150
    translated = _all("zh_CN")
    assert sorted(m for m in found if not translated.get(m)) == []


def test_every_chinese_label_the_supervision_pages_show_has_english() -> None:
    labels = {
        *supervision_sampling.REASON_LABELS.values(),
        *supervision_sampling.RECHECK_STATUS.values(),
        *supervision_reviews.OUTCOME_LABELS.values(),
        *supervision_reviews.RECIPIENT_STATUS.values(),
        *supervision_declarations.STATUS_LABELS.values(),
        *supervision_declarations.KIND_LABELS.values(),
        *supervision_conflicts.ACTION_NAMES.values(),
        *supervision_history.EVENT_LABELS.values(),
        *supervision_history.WORKFLOW_LABELS.values(),
    }
    english = _all("en")
    assert sorted(label for label in labels if not english.get(label)) == []


@pytest.mark.parametrize("locale", sorted(OWN))
def test_supervision_catalogs_repeat_no_msgid_of_their_locale(locale: str) -> None:
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    own = _catalog(folder / OWN[locale])
    for other in sorted(folder.glob("*.po")):
        if other.name != OWN[locale]:
            assert sorted(own.keys() & _catalog(other).keys()) == [], other.name
