"""The supervision area's catalogs: every English msgid of its templates has Chinese, every Chinese label
its modules show has English, and its .po files define nothing another file of the same locale defines."""

from __future__ import annotations

import pytest

from rules.ongoing_actions import ACTIONS as ONGOING_ACTIONS
from tests.support.i18n import msgids, repeated, templates, untranslated
from webapp.supervision import conflicts, declarations, history, reviews, sampling

OWN = {"zh_CN": "supervision.po", "en": "supervision-labels.po"}


def test_every_message_of_the_supervision_pages_is_translated_into_chinese() -> None:
    messages = msgids(templates("supervision"))
    assert len(messages) > 150
    assert untranslated(messages, "zh_CN") == []


def test_every_chinese_label_the_supervision_pages_show_has_english() -> None:
    labels = {
        *sampling.REASON_LABELS.values(),
        *sampling.RECHECK_STATUS.values(),
        *reviews.OUTCOME_LABELS.values(),
        *reviews.RECIPIENT_STATUS.values(),
        *reviews.LEVEL_LABELS.values(),
        *(spec.label for spec in ONGOING_ACTIONS.values()),
        *declarations.STATUS_LABELS.values(),
        *declarations.KIND_LABELS.values(),
        *conflicts.ACTION_NAMES.values(),
        *history.EVENT_LABELS.values(),
        *history.WORKFLOW_LABELS.values(),
    }
    assert untranslated(labels, "en") == []


@pytest.mark.parametrize("locale", sorted(OWN))
def test_supervision_catalogs_repeat_no_msgid_of_their_locale(locale: str) -> None:
    assert repeated(locale, OWN[locale]) == {}
