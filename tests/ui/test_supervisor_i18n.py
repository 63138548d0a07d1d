"""The supervisor pages' catalogs: every English message has its Chinese, every Chinese label its English,
no message id is defined twice in one language (the catalogs of all areas are merged), none is unused."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from rules.stages import STAGE_LABELS
from schemas.review import AssistanceType
from webapp.i18n import LOCALE_DIR
from webapp.ui import supervisor_overdue
from webapp.ui.render import TEMPLATES

OURS = {"zh_CN": "supervisor.po", "en": "supervisor-labels.po"}
PYTHON = [Path(supervisor_overdue.__file__).with_name("supervisor_dashboard.py")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}


def catalog(locale: str, name: str) -> dict[str, str]:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / name).open("rb") as f:
        return {
            (m.id if isinstance(m.id, str) else m.id[0]): (m.string if isinstance(m.string, str) else m.string[0])
            for m in read_po(f, locale=locale)
            if m.id
        }


def used_messages() -> set[str]:
    found: set[str] = set()
    for path in sorted((TEMPLATES / "supervisor").glob("*.html")):
        with path.open("rb") as f:
            found |= {_first(m) for _, _, m, _ in babel_extract(f, KEYWORDS, [], {"extensions": "jinja2.ext.i18n"})}
    for path in PYTHON:
        found |= {_first(m) for _, _, m, _ in extract_python(io.BytesIO(path.read_bytes()), KEYWORDS, [], {})}
    return found - {None}  # _(label) with a variable: the label tests below cover those


def _first(message: str | tuple | None) -> str | None:
    return message[0] if isinstance(message, tuple) else message


def test_every_message_is_translated_and_used() -> None:
    used = used_messages()
    chinese = {}
    for po in (LOCALE_DIR / "zh_CN" / "LC_MESSAGES").glob("*.po"):
        chinese |= catalog("zh_CN", po.name)
    missing = sorted(m for m in used if not chinese.get(m))
    assert not missing, f"no Chinese for {missing}"
    unused = sorted(set(catalog("zh_CN", OURS["zh_CN"])) - used)
    assert not unused, f"unused in {OURS['zh_CN']}: {unused}"


def test_no_message_id_is_defined_twice_in_a_language() -> None:
    for locale, ours in OURS.items():
        mine = set(catalog(locale, ours))
        for po in (LOCALE_DIR / locale / "LC_MESSAGES").glob("*.po"):
            if po.name != ours:
                twice = sorted(mine & set(catalog(locale, po.name)))
                assert not twice, f"{ours} and {po.name} both define {twice}"


def test_chinese_labels_have_english() -> None:
    english = {}
    for po in (LOCALE_DIR / "en" / "LC_MESSAGES").glob("*.po"):
        english |= catalog("en", po.name)
    escalations = supervisor_overdue.ESCALATION_LABELS.values()
    labels = [*STAGE_LABELS.values(), *(t.label for t in AssistanceType), *escalations]
    assert not [label for label in labels if not english.get(label)]
