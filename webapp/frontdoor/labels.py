"""The front door's words for its statuses, outcomes and channels, as its pages, the household view and the
daily digest show them (English in webapp/locale/en/LC_MESSAGES/frontdoor-labels.po)."""

from __future__ import annotations

from infra import clock
from rules.needs import BY_CODE, NEEDS, Route
from schemas.emergency import EmergencyKind
from schemas.frontdoor import RequestKind
from schemas.staff import BUREAU_LABELS

STATUS_LABELS = {"delivered": "待签收", "accepted": "办理中", "info_requested": "待补充信息", "answered": "已反馈"}
OUTCOME_LABELS = {"helped": "已给予帮助", "not_eligible": "不符合条件", "declined": "不予帮助"}
REQUEST_STATUS = {"received": "待分办", "triaged": "办理中", "closed": "已答复"}
NEED_STATUS = {"waiting": "待办", "in_progress": "办理中", "answered": "已答复"}
COMPLAINT_STATUS = {"registered": "待受理", "accepted": "办理中", "concluded": "已办结"}
FINDINGS = {"substantiated": "属实", "partly": "部分属实", "unsubstantiated": "不属实"}
CHANNELS = {"portal": "网上", "hotline": "12349 热线", "window": "窗口"}

# What the bureau pages' templates are given.
REFERRAL_LABELS = {
    "status_labels": STATUS_LABELS,
    "outcome_labels": OUTCOME_LABELS,
    "bureau_labels": BUREAU_LABELS,
    "by_code": BY_CODE,
    "beijing": clock.BEIJING,
}
# What the desk's templates (and the household view's) are given.
DESK_LABELS = REFERRAL_LABELS | {
    "request_status": REQUEST_STATUS,
    "need_status": NEED_STATUS,
    "complaint_status": COMPLAINT_STATUS,
    "findings": FINDINGS,
    "channels": CHANNELS,
    "kinds": {k.value: k.label for k in RequestKind},
    "needs": NEEDS,
    "Route": Route,
    "emergency_kinds": [(k.value, k.label) for k in EmergencyKind],
}
