"""The supervisor pages' catalogs: every English message has its Chinese, every Chinese label its English,
no message id is defined twice in one language (the catalogs of all areas are merged), none is unused."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.stages import STAGE_LABELS
from schemas.review import AssistanceType
from tests.support.i18n import catalog, msgids, repeated, templates, untranslated
from webapp.supervision import dashboard, overdue

OURS = {"zh_CN": "supervisor.po", "en": "supervisor-labels.po"}
PYTHON = [Path(dashboard.__file__)]


def test_every_message_is_translated_and_used() -> None:
    used = msgids([*templates("supervisor"), *PYTHON])
    assert untranslated(used, "zh_CN") == []
    unused = sorted(catalog("zh_CN", OURS["zh_CN"]).keys() - used)
    assert not unused, f"unused in {OURS['zh_CN']}: {unused}"


@pytest.mark.parametrize("locale", sorted(OURS))
def test_no_message_id_is_defined_twice_in_a_language(locale: str) -> None:
    assert repeated(locale, OURS[locale]) == {}


def test_chinese_labels_have_english() -> None:
    escalations = overdue.ESCALATION_LABELS.values()
    labels = [*STAGE_LABELS.values(), *(t.label for t in AssistanceType), *escalations]
    assert untranslated(labels, "en") == []
