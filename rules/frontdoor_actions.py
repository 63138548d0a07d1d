"""The staff actions of the 12349 front door and who may take them: on a request (triage, link a review case,
answer an enquiry), on a referral (the bureau accepts, asks for information and reports its result; the desk
supplies the information) and on a complaint (accept, conclude). Pure data and functions.

Each action is one `ActionSpec` (rules/actions.py): its name is the API path segment and the page's form
(and, for a referral, the `action` of the bureau's webhook callback), beside its update on the row's workflow,
the kind of its log entry and its label. Each kind of row has its `*_refusal()`, which the workflow's
validators raise, and its `available_*()`, the forms its page shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Protocol

from rules.access import within
from rules.actions import (
    BUREAU_STAFF,
    DESK,
    DISTRICT_OFFICER,
    ActionSpec,
    ActorView,
    Refusal,
    available,
    table,
    taken_by,
)
from rules.needs import Route
from rules.recusal import complaint_about

# ---- requests -----------------------------------------------------------------------------------------------


class RequestAction(StrEnum):
    TRIAGE = "triage"
    LINK_CASE = "link-case"
    ANSWER = "answer"


_OPEN_REQUEST = {"received", "triaged"}
_by_desk = taken_by(RequestAction, DESK, "12349 诉求由乡镇（街道）或区民政局工作人员分办")

# An action a row: (name, update, kind, label, states, not_now), as in `ActionSpec`.
REQUEST_ACTIONS: dict[RequestAction, ActionSpec] = table(
    _by_desk("triage", "triage", "triaged", "分办", {"received"}, "该诉求已分办"),
    _by_desk("link-case", "link_case", "need_answered", "关联案件", _OPEN_REQUEST, ""),
    _by_desk("answer", "answer_enquiry", "answered", "答复", _OPEN_REQUEST, ""),
)


@dataclass(frozen=True)
class RequestView:
    """What the rules need to know about a 12349 request to say who may act on it now."""

    status: str  # received, triaged, closed
    kind: str  # help, enquiry, complaint
    township: str
    ready: bool = True  # its workflow has read the policy (and set the answer date)
    answered: bool = False  # an enquiry has its answer
    review_needs: Mapping[str, bool] = field(default_factory=dict, hash=False)  # the review needs: linked yet?


class Need(Protocol):
    """One need of a triaged request (`schemas.frontdoor.NeedState` is one)."""

    code: str
    route: str
    status: str


def review_needs(needs: Iterable[Need]) -> dict[str, bool]:
    """The needs a review case is to be opened for, by code: whether one is linked yet (the need answered)."""
    return {n.code: n.status == "answered" for n in needs if n.route == Route.REVIEW}


def request_refusal(
    action: RequestAction, request: RequestView, actor: ActorView, *, need: str | None = None
) -> Refusal | None:
    """The first rule that refuses `actor` taking `action` on `request` now, in the order the workflow checks
    them; for linking a case, `need` is the one it is linked for (without it: whether any is still to link).
    None if the action may be taken (the needs a triage names are checked by the workflow)."""
    spec = REQUEST_ACTIONS[action]
    if request.status == "closed":
        return Refusal("closed", "该诉求已答复完毕")
    if actor.role not in spec.roles:
        return spec.wrong_role()
    if not within(actor.place_code, request.township):
        return Refusal("out_of_jurisdiction", "该诉求不在您的辖区内")
    if action is RequestAction.TRIAGE and not request.ready:
        return Refusal("wrong_stage", "诉求正在登记，请稍后再试")
    if action is RequestAction.TRIAGE and request.kind != "help":
        return Refusal("wrong_stage", "只有求助申请需要分办")
    if action is RequestAction.ANSWER and request.kind != "enquiry":
        return Refusal("wrong_stage", "只有咨询需要直接答复")
    if action is RequestAction.ANSWER and request.answered:
        return Refusal("wrong_stage", "该咨询已答复")
    if action is RequestAction.LINK_CASE and (why := _not_to_link(request, need)):
        return why
    return spec.refused_in(request.status)


def _not_to_link(request: RequestView, need: str | None) -> Refusal | None:
    to_link = [code for code, linked in request.review_needs.items() if not linked]
    if need is None:
        return None if to_link else Refusal("wrong_stage", "该诉求没有待关联案件的低保/特困申请")
    if need not in request.review_needs:
        return Refusal("invalid", "该诉求没有这一项需要受理的低保/特困申请")
    return None if need in to_link else Refusal("wrong_stage", "该事项已关联案件")


# The actions an actor may take on a request now, in the order of `RequestAction`: (view, actor) -> actions.
available_request_actions = partial(available, RequestAction, request_refusal)


# ---- referrals ----------------------------------------------------------------------------------------------


class ReferralAction(StrEnum):
    ACCEPT = "accept"
    REQUEST_INFO = "request-info"
    SUPPLY_INFO = "supply-info"
    RESULT = "result"


_BUREAU = frozenset({BUREAU_STAFF})
_SIGNED_FOR = {"accepted", "info_requested"}
_by_bureau = taken_by(ReferralAction, _BUREAU, "只有承办部门的工作人员可以办理转介")
# The township's desk (or the district's) answers what the bureau asked.
_by_desk_asked = taken_by(ReferralAction, DESK, "补充信息须由该乡镇（街道）或区民政局工作人员办理")

# An action a row: (name, update, kind, label, states, not_now), as in `ActionSpec`.
REFERRAL_ACTIONS: dict[ReferralAction, ActionSpec] = table(
    _by_bureau("accept", "accept", "accepted", "接收转介", {"delivered"}, "该转介已签收"),
    _by_bureau(
        "request-info", "request_info", "info_requested", "要求补充信息", {"accepted"}, "请先签收，再请求补充信息"
    ),
    _by_desk_asked(
        "supply-info", "supply_info", "info_supplied", "补充信息", {"info_requested"}, "承办部门没有请求补充信息"
    ),
    _by_bureau("result", "report_result", "answered", "报告办理结果", _SIGNED_FOR, "请先签收转介，再反馈结果"),
)


@dataclass(frozen=True)
class ReferralView:
    """What the rules need to know about a referral to say who may act on it now."""

    status: str  # delivered, accepted, info_requested, answered
    bureau: str  # the bureau it was referred to
    township: str
    ready: bool = True  # delivered: its deadlines are set


def referral_refusal(action: ReferralAction, referral: ReferralView, actor: ActorView) -> Refusal | None:
    """The first rule that refuses `actor` taking `action` on `referral` now, in the order the workflow checks
    them: the bureau's actions are its own staff's, the information it asks for the desk's of the township."""
    spec = REFERRAL_ACTIONS[action]
    bureaus = spec.roles == _BUREAU
    if bureaus and not referral.ready:
        return Refusal("wrong_stage", "转介正在送达，请稍后再试")
    if bureaus and referral.status == "answered":
        return Refusal("closed", "该转介已反馈结果")
    if actor.role not in spec.roles or not (bureaus or within(actor.place_code, referral.township)):
        return spec.wrong_role()
    if bureaus and actor.bureau != referral.bureau:
        return Refusal("wrong_bureau", "该转介由{bureau}承办")
    return spec.refused_in(referral.status)


# The actions an actor may take on a referral now, in the order of `ReferralAction`: (view, actor) -> actions.
available_referral_actions = partial(available, ReferralAction, referral_refusal)


# ---- complaints ---------------------------------------------------------------------------------------------


class ComplaintAction(StrEnum):
    ACCEPT = "accept"
    CONCLUDE = "conclude"


_by_handlers = taken_by(ComplaintAction, DESK, "投诉由承办单位的工作人员办理")

# An action a row: (name, update, kind, label, states, not_now), as in `ActionSpec`.
COMPLAINT_ACTIONS: dict[ComplaintAction, ActionSpec] = table(
    _by_handlers("accept", "accept", "accepted", "受理投诉", {"registered"}, "该投诉已受理"),
    _by_handlers("conclude", "conclude", "concluded", "办结并答复", {"accepted"}, "请先受理投诉，再办结"),
)


@dataclass(frozen=True)
class ComplaintView:
    """What the rules need to know about a complaint to say who may act on it now."""

    status: str  # registered, accepted, concluded
    unit: str  # the unit that handles it: a township, or the district
    about_person: str | None = None  # the staff member it is about, as the complainant named them
    # The user names recorded on the case it concerns; None while the workflow has not yet read them, when no
    # one may act on it (whoever handled the case must not slip in before they are known).
    case_handlers: frozenset[str] | None = frozenset()

    def about(self, actor: ActorView) -> bool:
        """Whether the complaint is about `actor` (rules.recusal.complaint_about)."""
        return complaint_about(self.about_person, self.case_handlers or (), actor.username, actor.full_name)


def handles_complaint(complaint: ComplaintView, actor: ActorView) -> bool:
    """Whether `actor` is one of the complaint's handlers, whatever its status: the desk of the handling unit
    (the district's officers anywhere), not someone it is about. Only they see who complained."""
    return (
        actor.role in COMPLAINT_ACTIONS[ComplaintAction.ACCEPT].roles
        and (actor.role == DISTRICT_OFFICER or within(actor.place_code, complaint.unit))
        and not complaint.about(actor)
    )


def complaint_refusal(action: ComplaintAction, complaint: ComplaintView, actor: ActorView) -> Refusal | None:
    """The first rule that refuses `actor` taking `action` on `complaint` now, in the order the workflow checks
    them: the handling unit's staff (the district's officers anywhere), never the person it is about."""
    spec = COMPLAINT_ACTIONS[action]
    if complaint.case_handlers is None:
        return Refusal("not_ready", "投诉正在登记，请稍后再试")
    if complaint.status == "concluded":
        return Refusal("closed", "该投诉已办结")
    if actor.role not in spec.roles:
        return spec.wrong_role()
    if actor.role != DISTRICT_OFFICER and not within(actor.place_code, complaint.unit):
        return Refusal("out_of_jurisdiction", "该投诉不由您所在单位承办")
    if complaint.about(actor):
        return Refusal("recused", "被投诉人不能办理针对本人的投诉")
    return spec.refused_in(complaint.status)


# The actions an actor may take on a complaint now, in the order of `ComplaintAction`: (view, actor) -> actions.
available_complaint_actions = partial(available, ComplaintAction, complaint_refusal)
