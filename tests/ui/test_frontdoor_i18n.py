"""The front door's catalogs: every English msgid of its templates has Chinese, every Chinese label it
shows has English, and its .po files define nothing another file of the same locale defines."""

from __future__ import annotations

import pytest

from rules.frontdoor_actions import COMPLAINT_ACTIONS, REFERRAL_ACTIONS, REQUEST_ACTIONS
from rules.needs import NEEDS
from schemas.frontdoor import RequestKind
from schemas.staff import Bureau
from tests.support.i18n import msgids, repeated, templates, untranslated
from webapp.frontdoor import desk_pages
from webapp.frontdoor import labels as frontdoor_labels

OWN = {"zh_CN": "frontdoor.po", "en": "frontdoor-labels.po"}
AREAS = ("portal", "bureau", "frontdoor", "household")


def test_every_message_of_the_front_door_is_translated_into_chinese() -> None:
    messages = msgids(templates(*AREAS))
    assert len(messages) > 150
    assert untranslated(messages, "zh_CN") == []


def test_every_chinese_label_the_front_door_shows_has_english() -> None:
    labels = {n.plain for n in NEEDS} | {n.help_kind for n in NEEDS} | {b.label for b in Bureau}
    labels |= {k.label for k in RequestKind} | set(frontdoor_labels.STATUS_LABELS.values())
    labels |= set(frontdoor_labels.OUTCOME_LABELS.values()) | set(desk_pages.NEW.values())
    for table in (
        frontdoor_labels.REQUEST_STATUS,
        frontdoor_labels.NEED_STATUS,
        frontdoor_labels.COMPLAINT_STATUS,
        frontdoor_labels.FINDINGS,
        frontdoor_labels.CHANNELS,
    ):
        labels |= set(table.values())
    for actions in (REQUEST_ACTIONS, REFERRAL_ACTIONS, COMPLAINT_ACTIONS):  # what "…: done" names
        labels |= {spec.label for spec in actions.values()}
    assert untranslated(labels, "en") == []


@pytest.mark.parametrize("locale", sorted(OWN))
def test_front_door_catalogs_repeat_no_msgid_of_their_locale(locale: str) -> None:
    assert repeated(locale, OWN[locale]) == {}
