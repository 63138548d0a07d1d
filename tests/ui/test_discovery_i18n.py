"""The discovery pages' catalog (webapp/locale/zh_CN/LC_MESSAGES/discovery.po): every message of their
templates is translated, and none is repeated from another area's file (the merge would keep only one)."""

from __future__ import annotations

from tests.support.i18n import msgids, repeated, templates, untranslated


def test_every_discovery_message_is_translated() -> None:
    found = msgids(templates("discovery"))
    assert len(found) >= 30
    assert untranslated(found, "zh_CN") == []


def test_the_discovery_catalog_repeats_no_other_area() -> None:
    assert repeated("zh_CN", "discovery.po") == {}
