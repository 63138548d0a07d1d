"""The front door's catalogs: every English msgid of its templates has Chinese, every Chinese label it
shows has English, and its .po files define nothing another file of the same locale defines."""

from __future__ import annotations

import pytest

from rules.needs import NEEDS
from schemas.frontdoor import RequestKind
from schemas.staff import Bureau
from tests.ui.i18n_support import msgids, repeated, templates, untranslated
from webapp import frontdoor_api
from webapp.ui import bureau_pages, frontdoor_pages

OWN = {"zh_CN": "frontdoor.po", "en": "frontdoor-labels.po"}
AREAS = ("portal", "bureau", "frontdoor", "household")


def test_every_message_of_the_front_door_is_translated_into_chinese() -> None:
    messages = msgids(templates(*AREAS))
    assert len(messages) > 150
    assert untranslated(messages, "zh_CN") == []


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
    assert untranslated(labels, "en") == []


@pytest.mark.parametrize("locale", sorted(OWN))
def test_front_door_catalogs_repeat_no_msgid_of_their_locale(locale: str) -> None:
    assert repeated(locale, OWN[locale]) == {}
