"""The admin templates' catalogs: every English msgid has a Chinese translation, and the admin's .po
files define nothing another file of the same locale already defines (the merge would hide one)."""

from __future__ import annotations

import pytest

from tests.support.i18n import msgids, repeated, templates, untranslated

OWN = {"zh_CN": "admin.po", "en": "admin-labels.po"}


def test_every_admin_message_is_translated_into_chinese() -> None:
    messages = msgids(templates("admin"))
    assert len(messages) > 100
    assert untranslated(messages, "zh_CN") == []


@pytest.mark.parametrize("locale", sorted(OWN))
def test_admin_catalogs_repeat_no_msgid_of_their_locale(locale: str) -> None:
    assert repeated(locale, OWN[locale]) == {}
