"""The review stage graph (审核确认流程) and who may act at each step. Pure data and functions."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    ACCEPTED = "accepted"
    INVESTIGATION = "investigation"
    HEARING = "hearing"
    DECISION = "decision"
    PUBLIC_NOTICE = "public_notice"
    ENROLLED = "enrolled"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]

    @property
    def closed(self) -> bool:
        return self in (Stage.ENROLLED, Stage.REFUSED)


STAGE_LABELS = {
    Stage.ACCEPTED: "已受理",
    Stage.INVESTIGATION: "调查核实（核对、入户调查、邻里走访）",
    Stage.HEARING: "民主评议",
    Stage.DECISION: "审核确认",
    Stage.PUBLIC_NOTICE: "公示",
    Stage.ENROLLED: "已纳入保障",
    Stage.REFUSED: "不予批准",
}

# Where each stage may go next; the workflow refuses anything else.
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    Stage.ACCEPTED: frozenset({Stage.INVESTIGATION}),
    Stage.INVESTIGATION: frozenset({Stage.HEARING, Stage.DECISION}),
    Stage.HEARING: frozenset({Stage.DECISION}),
    Stage.DECISION: frozenset({Stage.PUBLIC_NOTICE, Stage.REFUSED}),
    Stage.PUBLIC_NOTICE: frozenset({Stage.ENROLLED, Stage.INVESTIGATION, Stage.HEARING}),
    Stage.ENROLLED: frozenset(),
    Stage.REFUSED: frozenset(),
}


def can_move(src: Stage, dst: Stage) -> bool:
    return dst in TRANSITIONS[src]


def after_investigation(hearing_mandatory: bool) -> Stage:
    """Nationally the hearing is optional; the Yu'an pilot makes it mandatory (a policy flag)."""
    return Stage.HEARING if hearing_mandatory else Stage.DECISION


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

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS = {
    Action.MISSING_MATERIALS: "一次性告知补正材料",
    Action.MATERIALS_SUPPLIED: "材料补齐，恢复计时",
    Action.VERIFICATION_RESULT: "录入家庭经济状况核对结果",
    Action.HOME_VISIT: "入户调查",
    Action.NEIGHBOUR_INTERVIEW: "邻里走访",
    Action.HEARING: "民主评议",
    Action.DECISION: "审核确认",
    Action.OBJECTION: "公示异议",
    Action.TAKE_OVER: "区级接管",
}

# The stages in which each action may be taken.
ACTION_STAGES: dict[Action, frozenset[Stage]] = {
    Action.MISSING_MATERIALS: frozenset({Stage.INVESTIGATION, Stage.HEARING, Stage.DECISION}),
    Action.MATERIALS_SUPPLIED: frozenset({Stage.INVESTIGATION, Stage.HEARING, Stage.DECISION}),
    Action.VERIFICATION_RESULT: frozenset({Stage.INVESTIGATION}),
    Action.HOME_VISIT: frozenset({Stage.INVESTIGATION}),
    Action.NEIGHBOUR_INTERVIEW: frozenset({Stage.INVESTIGATION}),
    Action.HEARING: frozenset({Stage.HEARING}),
    Action.DECISION: frozenset({Stage.DECISION}),
    Action.OBJECTION: frozenset({Stage.PUBLIC_NOTICE}),
    Action.TAKE_OVER: frozenset({Stage.INVESTIGATION, Stage.HEARING, Stage.DECISION, Stage.PUBLIC_NOTICE}),
}

TOWNSHIP_STAFF = frozenset({"township_caseworker", "township_approver"})

# Roles allowed for each action while the township handles the case.
ACTION_ROLES: dict[Action, frozenset[str]] = {
    Action.MISSING_MATERIALS: TOWNSHIP_STAFF,
    Action.MATERIALS_SUPPLIED: TOWNSHIP_STAFF,
    Action.VERIFICATION_RESULT: frozenset({"district_officer"}),
    Action.HOME_VISIT: frozenset({"township_caseworker", "village_cadre", "district_officer"}),
    Action.NEIGHBOUR_INTERVIEW: frozenset({"township_caseworker", "village_cadre"}),
    Action.HEARING: frozenset({"township_caseworker", "township_approver", "village_cadre"}),
    Action.DECISION: frozenset({"township_approver"}),
    Action.OBJECTION: frozenset({"township_caseworker", "township_approver", "village_cadre", "district_officer"}),
    Action.TAKE_OVER: frozenset({"district_officer"}),
}


def allowed_roles(action: Action, *, district_handles: bool) -> frozenset[str]:
    """Once the district takes a case over (or keeps approval), its officers act for the township."""
    roles = ACTION_ROLES[action]
    if district_handles and roles & TOWNSHIP_STAFF:
        roles = roles | {"district_officer"}
        if action is Action.DECISION:
            roles = frozenset({"district_officer"})
    return roles
