"""The emergency pages' catalogs: every English msgid of their templates has Chinese (the clocks' texts
included), every Chinese label they show has English, and their .po files repeat no msgid of their locale."""

from __future__ import annotations

import pytest

from rules.caps import Tier
from schemas.emergency import EmergencyKind, FundSource
from tests.support.i18n import msgids, repeated, templates, untranslated

OWN = {"zh_CN": "emergency.po", "en": "emergency-labels.po"}


def test_every_message_of_the_emergency_pages_is_translated_into_chinese() -> None:
    messages = msgids(templates("emergency"))
    assert {"Payment due", "Exempt from documents", "Written decision no.", "Exempted (%(no)s)"} <= messages
    assert untranslated(messages, "zh_CN") == []


def test_every_chinese_label_the_emergency_pages_show_has_english() -> None:
    labels = [*(t.label for t in Tier), *(k.label for k in EmergencyKind), *(s.label for s in FundSource)]
    assert untranslated(labels, "en") == []


@pytest.mark.parametrize("locale", sorted(OWN))
def test_emergency_catalogs_repeat_no_msgid_of_their_locale(locale: str) -> None:
    assert repeated(locale, OWN[locale]) == {}
