"""The review stage graph (审核确认流程) and who may act at each step. Pure data and functions.

Each staff action is written once, as an `ActionSpec`: its name is the API path segment, the workflow's
update name, the kind of the event it is recorded as and the key of its label. `refusal()` says why an
actor may not take an action now (the workflow's validators turn that into a Chinese refusal), and
`available_actions()` lists what an actor may take now, for the workflow's validators and the web app;
`open_steps()` (the case page's forms) and `tasks()` (the inbox) narrow it to what is still to be done.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from rules.access import within


class Stage(StrEnum):
    ACCEPTED = "accepted"
    INVESTIGATION = "investigation"
    HEARING = "hearing"
    DECISION = "decision"
    PUBLIC_NOTICE = "public_notice"
    ENROLLED = "enrolled"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"  # 撤回: at the applicant's request, before enrolment
    TERMINATED = "terminated"  # 终止: by the approver, with reasons, before enrolment

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]

    @property
    def closed(self) -> bool:
        return self in (Stage.ENROLLED, Stage.REFUSED, Stage.WITHDRAWN, Stage.TERMINATED)


STAGE_LABELS = {
    Stage.ACCEPTED: "已受理",
    Stage.INVESTIGATION: "调查核实（核对、入户调查、邻里走访）",
    Stage.HEARING: "民主评议",
    Stage.DECISION: "审核确认",
    Stage.PUBLIC_NOTICE: "公示",
    Stage.ENROLLED: "已纳入保障",
    Stage.REFUSED: "不予批准",
    Stage.WITHDRAWN: "已撤回",
    Stage.TERMINATED: "已终止",
}

# Where each stage may go next; the workflow's one `move()` refuses anything else. A complaint about the
# case sends it back from the hearing or the decision to the investigation, an objection during the
# public notice back to the investigation or the hearing. Until enrolment the case may be withdrawn or
# terminated, which closes it.
_ENDED_EARLY = frozenset({Stage.WITHDRAWN, Stage.TERMINATED})
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.ACCEPTED: frozenset({Stage.INVESTIGATION}),
    Stage.INVESTIGATION: frozenset({Stage.HEARING, Stage.DECISION}) | _ENDED_EARLY,
    Stage.HEARING: frozenset({Stage.DECISION, Stage.INVESTIGATION}) | _ENDED_EARLY,
    Stage.DECISION: frozenset({Stage.PUBLIC_NOTICE, Stage.REFUSED, Stage.INVESTIGATION}) | _ENDED_EARLY,
    Stage.PUBLIC_NOTICE: frozenset({Stage.ENROLLED, Stage.INVESTIGATION, Stage.HEARING}) | _ENDED_EARLY,
    Stage.ENROLLED: frozenset(),
    Stage.REFUSED: frozenset(),
    Stage.WITHDRAWN: frozenset(),
    Stage.TERMINATED: frozenset(),
}


# The stages a recorded step moves the case out of (`next_stage`), where the workflow waits for steps; the
# decision and the public notice have waits of their own in the workflow (the decision, the notice's end).
MOVED_BY_STEPS = frozenset({Stage.INVESTIGATION, Stage.HEARING})


def can_move(src: Stage, dst: Stage) -> bool:
    return dst in TRANSITIONS[src]


class Route(Protocol):
    """What of the policy shapes a case's way through the stages (its `review` section)."""

    @property
    def hearing_mandatory(self) -> bool: ...


def after_investigation(route: Route) -> Stage:
    """Nationally the hearing is optional; the Yu'an pilot makes it mandatory (a policy flag)."""
    return Stage.HEARING if route.hearing_mandatory else Stage.DECISION


def investigation_complete(
    *,
    verified: bool,
    home_visit: bool,
    neighbour_interview: bool,
    neighbour_interview_required: bool,
    district_visit: bool,
    district_visit_required: bool,
) -> bool:
    """The economic check is in, the household visited (by the district too where required) and the
    neighbours interviewed where the policy asks for it."""
    return (
        verified
        and home_visit
        and (neighbour_interview or not neighbour_interview_required)
        and (district_visit or not district_visit_required)
    )


def next_stage(stage: Stage, step: str, *, investigated: bool, route: Route, reinvestigate: bool) -> Stage | None:
    """Where a step recorded while the case is in `stage` takes it; None: it stays. A step is an action's
    name or `COMPLAINT`; `investigated` is `investigation_complete(...)` once the step is recorded, `route`
    the policy's review settings, `reinvestigate` an objection's route back (else it goes back to the hearing).
    The workflow waits for such steps in the stages of `MOVED_BY_STEPS`."""
    if stage is Stage.INVESTIGATION and step in INVESTIGATION_STEPS and investigated:
        return after_investigation(route)
    if stage is Stage.HEARING and step == Action.HEARING:
        return Stage.DECISION
    if stage in (Stage.HEARING, Stage.DECISION) and step == COMPLAINT:
        return Stage.INVESTIGATION
    if stage is Stage.PUBLIC_NOTICE and step == Action.OBJECTION:
        return Stage.INVESTIGATION if reinvestigate else Stage.HEARING
    if stage is Stage.PUBLIC_NOTICE and step == COMPLAINT:
        return Stage.INVESTIGATION  # a complaint or a 12349 objection during the notice: the district visits
    return None


# ---- actions ---------------------------------------------------------------------------------------


class Action(StrEnum):
    MISSING_MATERIALS = "missing_materials"
    MATERIALS_SUPPLIED = "materials_supplied"
    VERIFICATION_RESULT = "verification_result"
    HOME_VISIT = "home_visit"
    NEIGHBOUR_INTERVIEW = "neighbour_interview"
    HEARING = "hearing"
    DECISION = "decision"
    OBJECTION = "objection"
    TAKE_OVER = "take_over"
    EXTEND_DEADLINE = "extend_deadline"
    REFUSAL_DELIVERED = "refusal_delivered"
    WITHDRAW = "withdraw"
    TERMINATE = "terminate"

    @property
    def spec(self) -> ActionSpec:
        return ACTIONS[self]

    @property
    def label(self) -> str:
        return ACTIONS[self].label


# The steps of the investigation, and the one step that is not a staff action: a complaint about the case.
INVESTIGATION_STEPS = frozenset({Action.VERIFICATION_RESULT, Action.HOME_VISIT, Action.NEIGHBOUR_INTERVIEW})
COMPLAINT = "complaint"

TOWNSHIP_STAFF = frozenset({"township_caseworker", "township_approver"})
DISTRICT_OFFICER = "district_officer"


@dataclass(frozen=True)
class ActionSpec:
    """One staff action on a review case."""

    name: Action
    label: str
    stages: frozenset[Stage]
    roles: frozenset[str]  # while the township handles the case
    while_paused: bool = False  # may be taken while the clock waits for the applicant's materials
    approval: bool = False  # the approval itself: the district's alone where the district approves
    # Whose task list the step waits in while the township handles the case (some of `roles`; none: it is
    # never anyone's task, only something they may do).
    waits_on: frozenset[str] = frozenset()

    def allowed_roles(self, *, district_handles: bool) -> frozenset[str]:
        """Once the district handles the case (taken over, or it keeps the approval) its officers act for
        the township's staff, and the approval is theirs alone."""
        return self._district_stands_in(self.roles, district_handles)

    def waiting_roles(self, *, district_handles: bool) -> frozenset[str]:
        """`waits_on`, with the district's officers standing in for the township's staff as in `allowed_roles`."""
        return self._district_stands_in(self.waits_on, district_handles)

    def _district_stands_in(self, roles: frozenset[str], district_handles: bool) -> frozenset[str]:
        if not (district_handles and roles & TOWNSHIP_STAFF):
            return roles
        return frozenset({DISTRICT_OFFICER}) if self.approval else roles | {DISTRICT_OFFICER}


CASEWORKER, VILLAGE_CADRE, APPROVER = "township_caseworker", "village_cadre", "township_approver"
# The table's role sets: caseworker, village cadre, district officer, approver; the township's staff (caseworker
# and approver), and with the village cadres.
_CW, _VC, _DO = frozenset({CASEWORKER}), frozenset({VILLAGE_CADRE}), frozenset({DISTRICT_OFFICER})
_AP, _TS, _TSV = frozenset({APPROVER}), TOWNSHIP_STAFF, TOWNSHIP_STAFF | {VILLAGE_CADRE}
_NOBODY: frozenset[str] = frozenset()

_OPEN = frozenset({Stage.INVESTIGATION, Stage.HEARING, Stage.DECISION})
_UNTIL_ENROLLED = _OPEN | {Stage.PUBLIC_NOTICE}
_INVESTIGATION, _HEARING = frozenset({Stage.INVESTIGATION}), frozenset({Stage.HEARING})
_DECISION, _NOTICE, _REFUSED = frozenset({Stage.DECISION}), frozenset({Stage.PUBLIC_NOTICE}), frozenset({Stage.REFUSED})
PAUSED, APPROVAL = "while_paused", "approval"  # the flags of a row


def _row(
    name: Action, label: str, stages: frozenset[Stage], roles: frozenset[str], waits_on: frozenset[str], *flags: str
) -> ActionSpec:
    return ActionSpec(name, label, stages, roles, PAUSED in flags, APPROVAL in flags, waits_on)


# One row per action, in the order of `Action`: its name, label, the stages it may be taken in, the roles that
# may take it while the township handles the case, whose task it waits as (`_NOBODY`: never a task, only something
# they may do) and its flags (PAUSED: may be taken while the clock waits; APPROVAL: the approval itself). Closing
# a case before enrolment is the caseworker's at the applicant's signed request, the approver's with reasons.
ACTIONS: dict[Action, ActionSpec] = {
    s.name: s
    for s in (
        _row(Action.MISSING_MATERIALS, "一次性告知补正材料", _OPEN, _TS, _NOBODY),
        _row(Action.MATERIALS_SUPPLIED, "材料补齐，恢复计时", _OPEN, _TS, _CW, PAUSED),
        _row(Action.VERIFICATION_RESULT, "录入家庭经济状况核对结果", _INVESTIGATION, _DO, _DO, PAUSED),
        _row(Action.HOME_VISIT, "入户调查", _INVESTIGATION, _CW | _VC | _DO, _CW | _VC | _DO),  # `home_visit_by`
        _row(Action.NEIGHBOUR_INTERVIEW, "邻里走访", _INVESTIGATION, _CW | _VC, _CW | _VC),
        _row(Action.HEARING, "民主评议", _HEARING, _TSV, _CW),
        _row(Action.DECISION, "审核确认", _DECISION, _AP, _AP, APPROVAL),
        _row(Action.OBJECTION, "公示异议", _NOTICE, _TSV | _DO, _CW | _VC),
        _row(Action.TAKE_OVER, "区级接管", _UNTIL_ENROLLED, _DO, _DO, PAUSED),
        _row(Action.EXTEND_DEADLINE, "延长法定办理时限", _UNTIL_ENROLLED, _DO, _NOBODY, PAUSED),
        _row(Action.REFUSAL_DELIVERED, "登记不予批准通知书送达", _REFUSED, _TSV, _CW, PAUSED),
        _row(Action.WITHDRAW, "撤回申请", _UNTIL_ENROLLED, _CW, _NOBODY, PAUSED),
        _row(Action.TERMINATE, "终止审核", _UNTIL_ENROLLED, _AP, _NOBODY, PAUSED, APPROVAL),
    )
}

# Views of the table for readers that want one column of it.
ACTION_LABELS = {a: s.label for a, s in ACTIONS.items()}
ACTION_STAGES = {a: s.stages for a, s in ACTIONS.items()}
ACTION_ROLES = {a: s.roles for a, s in ACTIONS.items()}  # while the township handles the case


def allowed_roles(action: Action, *, district_handles: bool) -> frozenset[str]:
    return ACTIONS[action].allowed_roles(district_handles=district_handles)


@dataclass(frozen=True)
class CaseView:
    """What the rules need to know about a case to say who may act on it now."""

    stage: Stage
    place: str  # the village, or the township where there is none
    paused: bool = False
    handled_by: str = "township"
    district_approves: bool = False  # the policy's approval level for the case's township
    barred: frozenset[str] = frozenset()  # staff related to the household
    verified: bool = False  # the economic check's result is in
    escalated: bool = False  # the clock has escalated the case to the district
    # What is done of the investigation (for `step_open`; the workflow's validators do not ask).
    home_visit_done: bool = False  # the township's home visit, since any objection sent the case back
    neighbour_done: bool = False
    district_visit_due: bool = False  # a relatives match or complaint asks for the district's own visit, not made
    decided: bool = False  # this round's decision is taken (a new round opens only through an objection)
    extended: bool = False  # the statutory time limit has been extended
    delivered: bool = False  # the refusal notice's delivery is recorded

    def district_handles(self, spec: ActionSpec) -> bool:
        return self.handled_by == "district" or (spec.approval and self.district_approves)


@dataclass(frozen=True)
class ActorView:
    username: str
    role: str
    place_code: str


@dataclass(frozen=True)
class Refusal:
    """Why an action is refused: a code of `schemas.review.CaseError`; `reason` tells refusals with the
    same code apart, `roles` are those allowed when the code is `wrong_role`."""

    code: str
    reason: str = ""
    roles: frozenset[str] = frozenset()


def refusal(action: Action, case: CaseView, actor: ActorView) -> Refusal | None:
    """The first rule that refuses `actor` taking `action` on `case` now, in the order the workflow
    checks them; None if the action may be taken (its content is checked by the workflow)."""
    spec = ACTIONS[action]
    if action is Action.DECISION and case.decided:
        return Refusal("already_decided")
    if case.stage not in spec.stages:
        return Refusal("wrong_stage", "stage")
    roles = spec.allowed_roles(district_handles=case.district_handles(spec))
    if actor.role not in roles:
        return Refusal("wrong_role", roles=roles)
    if not within(actor.place_code, case.place):
        return Refusal("out_of_jurisdiction")
    if actor.username in case.barred:
        return Refusal("recused")
    if case.paused and not spec.while_paused:
        return Refusal("paused")
    if action is Action.MATERIALS_SUPPLIED and not case.paused:
        return Refusal("not_paused")
    if action is Action.VERIFICATION_RESULT and case.verified:
        return Refusal("wrong_stage", "verified")
    if action is Action.TAKE_OVER and not case.escalated:
        return Refusal("wrong_stage", "not_escalated")
    if action is Action.TAKE_OVER and case.handled_by == "district":
        return Refusal("wrong_stage", "taken_over")
    if action is Action.EXTEND_DEADLINE and case.extended:
        return Refusal("wrong_stage", "extended")
    if action is Action.REFUSAL_DELIVERED and case.delivered:
        return Refusal("wrong_stage", "delivered")
    return None


def available_actions(case: CaseView, actor: ActorView) -> list[Action]:
    """The actions `actor` may take on `case` now, in the order of `Action`."""
    return [a for a in Action if refusal(a, case, actor) is None]


# ---- what is still to do: the case page's forms and the inbox's tasks -------------------------------


def home_visit_by(case: CaseView, actor: ActorView) -> str | None:
    """Which home visit is still to be made by `actor`: the township's ("township": its staff, and district
    officers once the district handles the case), else the district's own ("district": after a relatives
    match or a complaint); None if neither."""
    officer = actor.role == DISTRICT_OFFICER
    if (not officer or case.handled_by == "district") and not case.home_visit_done:
        return "township"
    if officer and case.district_visit_due:
        return "district"
    return None


def step_open(action: Action, case: CaseView, actor: ActorView) -> bool:
    """Whether the step is still to be done by `actor`: a home visit or neighbour interview until it is
    recorded; any other action whenever `refusal` lets it through."""
    if action is Action.HOME_VISIT:
        return home_visit_by(case, actor) is not None
    if action is Action.NEIGHBOUR_INTERVIEW:
        return not case.neighbour_done
    return True


def open_steps(case: CaseView, actor: ActorView) -> list[Action]:
    """The actions `actor` may take now whose step is still to be done (the forms the case page offers)."""
    return [a for a in available_actions(case, actor) if step_open(a, case, actor)]


def tasks(case: CaseView, actor: ActorView) -> list[Action]:
    """The open steps that wait on `actor`'s role (the inbox): not what the role merely may do, such as a
    notice of missing materials or an approver's part in the hearing."""
    return [
        a
        for a in open_steps(case, actor)
        if actor.role in ACTIONS[a].waiting_roles(district_handles=case.district_handles(ACTIONS[a]))
    ]
