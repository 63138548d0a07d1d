"""Timeline entries in the reader's language from their data (issue 17, point 7): English from the kind and
payload, Chinese as stored except the approval's category ("A类"); unknown kinds keep their stored text."""

from __future__ import annotations

from webapp.i18n import gettext_callables
from webapp.review.timeline_text import describe

EN, _ = gettext_callables("en")
ZH, _ = gettext_callables("zh_CN")
APPROVED = {
    "approve": True,
    "category": "A",
    "proposed_amount": "1144.00",
    "summary": "审核确认：批准，A每月 1144.00 元",
}


def test_english_is_rendered_from_the_data() -> None:
    assert describe("decision", APPROVED, "en", EN) == "Decision: approved, category A 1144.00 yuan per month"
    changed = {"approve": True, "monthly_amount": "800.00", "proposed_amount": "911.00", "override_reason": "病重"}
    assert describe("decision", changed, "en", EN) == (
        "Decision: approved, 800.00 yuan per month (computed 911.00 yuan; reason: 病重)"
    )
    assert describe("decision", {"approve": False, "reasons": "收入超标"}, "en", EN) == (
        "Decision: refused. Reasons: 收入超标"
    )
    assert describe("home_visit", {"summary": "入户调查：…"}, "en", EN) == "Home visit"
    assert describe("accepted", {"summary": "受理申请"}, "en", EN) == "Application accepted"
    recounted = {"summary": "工作日历已更新，书面通知送达期限重算为 2027-01-06"}
    assert describe("refusal_deliver_by_recomputed", recounted, "en", EN) == (
        "Refusal notice delivery date recomputed after a calendar change"
    )
    assert describe("refusal_deliver_by_recomputed", recounted, "zh_CN", ZH) == recounted["summary"]
    assert describe("something_new", {"summary": "新事件"}, "en", EN) == "新事件"  # the stored text


def test_chinese_keeps_the_stored_text_with_the_category_as_people_read_it() -> None:
    assert describe("decision", APPROVED, "zh_CN", ZH) == "审核确认：批准，A类 每月 1144.00 元"
    assert describe("home_visit", {"summary": "入户调查：两人"}, "zh_CN", ZH) == "入户调查：两人"
