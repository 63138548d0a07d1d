"""A review case's timeline entry as words in the reader's language, from the event's data (issue 17,
point 7). Events store a Chinese sentence written when they happened; the English page would show it as
it is. Known kinds are described from their kind and payload instead; an unknown kind, or one whose data
does not say enough, falls back to the stored sentence. In Chinese the stored sentence stands, except the
approval's, whose category is written as people read it ("A类", `schemas.labels.category_label`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rules.stages import ACTIONS, Action
from schemas.labels import category_label

# Kinds that are not staff actions, by the English the page shows (webapp/locale/zh_CN: caseworker.po).
EVENT_WORDS = {
    "accepted": "Application accepted",
    "verification_requested": "Verification requested from the district",
    "notice_started": "Public notice started",
    "enrolled": "Enrolled: payments start",
    "refused": "Refused",
    "referred_to_district": "Referred to the district for approval",
    "reinvestigate": "Sent back for a new investigation",
    "escalated": "Deadline escalated",
    "reminder": "Deadline reminder",
    "complaint_filed": "Complaint filed about the case",
    "refusal_delivery_overdue": "Refusal notice not yet delivered",
    "deadline_recomputed": "Deadline recomputed after a calendar change",
    "refusal_deliver_by_recomputed": "Refusal notice delivery date recomputed after a calendar change",
    "district_visit_required": "The district must visit the household itself",
}


def _decision(payload: dict[str, Any], _: Callable[..., str]) -> str | None:
    if "approve" not in payload:
        return None
    if not payload["approve"]:
        return _("Decision: refused. Reasons: %(reasons)s", reasons=payload.get("reasons") or "—")
    amount = payload.get("monthly_amount") or payload.get("proposed_amount")
    if amount is None:
        return None
    category = f"category {payload['category']}" if payload.get("category") else ""
    text = _("Decision: approved, %(category)s %(amount)s yuan per month", category=category, amount=amount)
    text = " ".join(text.split())  # no category: no double space
    if payload.get("monthly_amount") not in (None, payload.get("proposed_amount")):
        text += _(
            " (computed %(proposed)s yuan; reason: %(reason)s)",
            proposed=payload.get("proposed_amount"),
            reason=payload.get("override_reason") or "—",
        )
    return text


def describe(kind: str, payload: dict[str, Any], locale: str, _: Callable[..., str]) -> str:
    """The entry's words in `locale` (`_` is that locale's gettext)."""
    stored = str(payload.get("summary") or kind)
    if kind == Action.DECISION.value and payload.get("approve") and locale == "zh_CN":
        category = payload.get("category")
        if category and f"批准，{category}每月" in stored:
            return stored.replace(f"批准，{category}每月", f"批准，{category_label(category)} 每月", 1)
        return stored
    if locale == "zh_CN":
        return stored
    if kind == Action.DECISION.value:
        return _decision(payload, _) or stored
    if kind in {a.value for a in Action}:
        return _(ACTIONS[Action(kind)].label)
    if kind in EVENT_WORDS:
        return _(EVENT_WORDS[kind])
    return stored
