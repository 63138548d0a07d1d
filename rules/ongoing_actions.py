"""The staff actions of an ongoing review (动态管理) and who may take them. Pure data and functions.

Separation of duties, as in the review (domain.md, "Ongoing review"): a caseworker proposes the outcome
(continue, change the amount, or stop, with written reasons); an approver decides it, never the person who
proposed it and never staff related to the household (近亲属回避: the same list the review's relatives check
bars). The township's approver decides (or the district's officers, where the policy keeps the approval at the
district); a change of the amount beyond the policy's bounds (`OngoingReviewPolicy.township_max_change` and
`township_max_change_ratio`), once the township agrees, goes on to the district, whose officer decides it.

Each action is one `OngoingSpec` (the shape of rules/actions.py): its name is the API path segment and the
page's form, beside its update on `OngoingReviewWorkflow`. `refusal()` is what the workflow's validators raise
(the codes the API answers), `available_actions()` the forms the reviews page shows. The written decision's
title and text follow the kind of assistance (`notice`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import partial

from rules.access import within
from rules.actions import (
    APPEAL_RIGHT,
    APPROVER,
    CASEWORKER,
    DISTRICT_OFFICER,
    ActionSpec,
    ActorView,
    Refusal,
    available,
    table,
)
from rules.calendar import WorkCalendar


class OngoingAction(StrEnum):
    PROPOSE = "propose"
    DECIDE = "decide"


class Level(StrEnum):
    """Who decides a proposal: the township's approver, or the district's officers."""

    TOWNSHIP = "township"
    DISTRICT = "district"

    @property
    def label(self) -> str:
        return {"township": "乡镇（街道）", "district": "区民政局"}[self.value]


@dataclass(frozen=True)
class OngoingSpec(ActionSpec):
    """An action on an ongoing review; where the level decides who may take it, `by_level` says who at each."""

    by_level: Mapping[Level, frozenset[str]] = field(default_factory=dict, hash=False)

    def roles_at(self, level: Level) -> frozenset[str]:
        return self.by_level.get(level, self.roles)


ACTIONS: dict[OngoingAction, OngoingSpec] = table(
    OngoingSpec(
        name=OngoingAction.PROPOSE,
        update="propose_review",
        kind="ongoing_proposed",
        label="提出复核意见",
        states=frozenset({"due"}),
        roles=frozenset({CASEWORKER, DISTRICT_OFFICER}),
    ),
    OngoingSpec(
        name=OngoingAction.DECIDE,
        update="decide_review",
        kind="ongoing_decided",
        label="审批复核意见",
        states=frozenset({"proposed"}),
        roles=frozenset({APPROVER, DISTRICT_OFFICER}),
        by_level={Level.TOWNSHIP: frozenset({APPROVER}), Level.DISTRICT: frozenset({DISTRICT_OFFICER})},
    ),
)

RECUSED = "您与该户存在近亲属关系，依规应当回避，不能办理"
OWN_PROPOSAL = "复核意见须由提出人以外的人员审批，不能审批本人提出的意见"
REFERRED = "该调整超出乡镇（街道）审批权限，已报区民政局决定"


@dataclass(frozen=True)
class ReviewView:
    """What the rules need to know about one cycle of a household's ongoing review to say who may act now."""

    status: str  # waiting, due, proposed, decided, stopped
    place: str  # the household's township
    due_on: str = ""  # the cycle's due day, for the refusal's words
    level: Level = Level.TOWNSHIP  # who decides the pending proposal
    proposer: str | None = None  # who proposed it (a user name)
    barred: frozenset[str] = frozenset()  # staff related to the household


def refusal(action: OngoingAction, review: ReviewView, actor: ActorView) -> Refusal | None:
    """The first rule that refuses `actor` taking `action` on `review` now, in the order the workflow checks them;
    None if the action may be taken (its content is checked by the workflow)."""
    spec = ACTIONS[action]
    if review.status in ("decided", "stopped"):
        return Refusal("closed", "本次复核已办理")
    if review.status not in spec.states:
        if review.status == "waiting":
            return Refusal("wrong_stage", f"本次复核 {review.due_on} 到期，尚未到期")
        if action is OngoingAction.PROPOSE:
            return Refusal("wrong_stage", "本次复核已有待审批的复核意见，请等待审批")
        return Refusal("wrong_stage", "本次复核尚无待审批的复核意见")
    roles = spec.roles_at(review.level)
    if actor.role not in roles:
        if action is OngoingAction.DECIDE and review.level is Level.DISTRICT:
            return Refusal("wrong_role", REFERRED, roles)
        return spec.wrong_role(roles)
    if not within(actor.place_code, review.place):
        return Refusal("out_of_jurisdiction", "该保障对象不在您的辖区内")
    if actor.username in review.barred:
        return Refusal("recused", RECUSED)
    if action is OngoingAction.DECIDE and actor.username == review.proposer:
        return Refusal("own_proposal", OWN_PROPOSAL)
    return None


# The actions an actor may take on a review now, in the order of `OngoingAction`: (view, actor) -> actions.
available_actions = partial(available, OngoingAction, refusal)


# Only an `adjust` changes the amount: with written reasons, within the township's bounds, from the next month.
AMOUNT_ONLY_ADJUST = "只有「调整金额」可以填写调整后的金额，「继续保障」或「停发」不能填写金额"
ABOVE_CAP = "amount_above_cap"


def content_refusal(
    outcome: str,
    old_amount: Decimal,
    new_amount: Decimal | None,
    reasons: str,
    max_amount: Decimal | None = None,
) -> Refusal | None:
    """What a proposal lacks or carries wrongly: written reasons to change or stop, a new amount above 0 that
    differs from the old and is at most `max_amount` (the most the policy allows the household,
    `rules.roster.amount_cap`: the review's and the roster import's bound; None where it is not known), and no
    new amount on any outcome but `adjust` (a "continue" with an amount would change the benefit with no
    written decision and no township bounds)."""
    if new_amount is not None and outcome != "adjust":
        return Refusal("invalid", AMOUNT_ONLY_ADJUST)
    if outcome in ("adjust", "stop") and len(reasons.strip()) < 4:
        return Refusal("incomplete", "调整或停发须书面写明理由")
    if outcome == "adjust" and not new_amount:
        return Refusal("incomplete", "请填写调整后的金额（停发请选择「停发」）")
    if outcome == "adjust" and new_amount == old_amount:
        return Refusal("invalid", f"调整后的金额与现月保障金 {old_amount} 元相同，请选择「继续保障」")
    if outcome == "adjust" and new_amount and max_amount is not None and new_amount > max_amount:
        return Refusal(
            ABOVE_CAP,
            f"调整后的金额 {new_amount} 元超过该户月保障金上限 {max_amount} 元（政策标准按家庭人数计算），不能调整",
        )
    return None


def beyond_township(old_amount: Decimal, new_amount: Decimal, max_change: Decimal, max_ratio: Decimal) -> bool:
    """Whether changing the monthly amount from `old_amount` to `new_amount` exceeds what the township may decide:
    more than `max_change` yuan, or more than `max_ratio` of the old amount, either way."""
    change = abs(new_amount - old_amount)
    return change > max_change or change > old_amount * max_ratio


def overdue_due_by(cal: WorkCalendar, day: date, working_days: int) -> date:
    """The latest due day whose review is overdue on `day`: the close of its `working_days`-th working day after
    it (the workflow's deadline, `WorkCalendar.add_working_days`) has passed by `day`; every earlier one's too."""
    due = day - timedelta(days=working_days + 1)  # at best every day after it is a working day
    while cal.add_working_days(due, working_days).date >= day:
        due -= timedelta(days=1)
    return due


# The written decision (变更决定书) by kind of assistance: its title, and what the benefit is called in its text.
NOTICE_TITLES = {"dibao": "最低生活保障变更决定书", "tekun": "特困人员救助供养变更决定书"}
BENEFIT_NAMES = {"dibao": "您家的最低生活保障金", "tekun": "您的特困人员救助供养金"}


def notice(
    assistance_type: str, outcome: str, new_amount: Decimal | None, reasons: str, effective: date
) -> tuple[str, str]:
    """The written decision's title and text for a change (`adjust`) or a stop of the benefit: the month it takes
    effect (`effective`, the month after the decision's: `rules.payroll.first_payment_month`, as the payroll
    applies it), the reasons, and the right to administrative review (as the refusal notice says it)."""
    kind = assistance_type if assistance_type in NOTICE_TITLES else "dibao"
    what = "停发" if outcome == "stop" else f"调整为每月 {new_amount} 元"
    text = f"经复核，{BENEFIT_NAMES[kind]}自{effective:%Y年%m月}起{what}。理由：{reasons}。{APPEAL_RIGHT}"
    return NOTICE_TITLES[kind], text
