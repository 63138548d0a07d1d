"""The review's action rules and stage graph (`rules.stages`): pure, no server."""

from __future__ import annotations

import itertools

import pytest

from rules.stages import (
    ACTIONS,
    COMPLAINT,
    Action,
    ActorView,
    CaseView,
    Stage,
    available_actions,
    can_move,
    next_stage,
    refusal,
)
from schemas.policy import ReviewPolicy
from schemas.review import ACTION_PAYLOADS
from schemas.staff import Actor, Role
from webapp.review.case_forms import LAST, ORDER, defaults, fields

SHIPO = "341503106"
VILLAGE = "341503106201"
A = Action


def actor(role: str, username: str = "someone", place: str = SHIPO) -> ActorView:
    return ActorView(username=username, role=role, place_code=place)


def case(stage: Stage, **kw) -> CaseView:
    return CaseView(stage=stage, place=VILLAGE, **kw)


@pytest.mark.parametrize(
    "who, view, expected",
    [
        (actor("township_approver"), case(Stage.DECISION), [A.MISSING_MATERIALS, A.DECISION, A.TERMINATE]),
        (actor("township_approver"), case(Stage.DECISION, district_approves=True), [A.MISSING_MATERIALS]),
        (
            actor("district_officer", place="341503"),
            case(Stage.DECISION, district_approves=True),
            [A.DECISION, A.EXTEND_DEADLINE, A.TERMINATE],  # where the district approves, it terminates
        ),
        (
            actor("district_officer", place="341503"),
            case(Stage.DECISION, district_approves=True, decided=True, extended=True),
            [A.TERMINATE],
        ),
        (actor("township_caseworker"), case(Stage.REFUSED), [A.REFUSAL_DELIVERED]),
        (actor("township_caseworker"), case(Stage.REFUSED, delivered=True), []),
        (
            actor("district_officer", place="341503"),
            case(Stage.DECISION, handled_by="district"),
            [
                A.MISSING_MATERIALS,
                A.DECISION,
                A.EXTEND_DEADLINE,
                A.WITHDRAW,
                A.TERMINATE,
            ],
        ),
        (
            actor("township_caseworker"),
            case(Stage.INVESTIGATION),
            [
                A.MISSING_MATERIALS,
                A.HOME_VISIT,
                A.NEIGHBOUR_INTERVIEW,
                A.WITHDRAW,
            ],
        ),
        (
            actor("district_officer", place="341503"),
            case(Stage.INVESTIGATION),
            [A.VERIFICATION_RESULT, A.HOME_VISIT, A.EXTEND_DEADLINE],
        ),
        (
            actor("district_officer", place="341503"),
            case(Stage.INVESTIGATION, verified=True, escalated=True),
            [
                A.HOME_VISIT,
                A.TAKE_OVER,
                A.EXTEND_DEADLINE,
            ],
        ),
        (actor("township_caseworker"), case(Stage.INVESTIGATION, paused=True), [A.MATERIALS_SUPPLIED, A.WITHDRAW]),
        (actor("village_cadre", place=VILLAGE), case(Stage.PUBLIC_NOTICE), [A.OBJECTION]),
        (actor("village_cadre", place="341503106202"), case(Stage.PUBLIC_NOTICE), []),  # another village
        (actor("township_caseworker", "wang"), case(Stage.INVESTIGATION, barred=frozenset({"wang"})), []),
        (actor("district_supervisor", place="341503"), case(Stage.DECISION, handled_by="district"), []),
        (actor("township_caseworker"), case(Stage.ENROLLED), []),
    ],
)
def test_available_actions(who: ActorView, view: CaseView, expected: list[Action]) -> None:
    assert available_actions(view, who) == expected


def test_refusals_come_in_the_workflow_order() -> None:
    """Stage, then role, jurisdiction, recusal, the paused clock, then the action's own state."""
    barred = frozenset({"wang"})
    assert refusal(A.HEARING, case(Stage.INVESTIGATION), actor("district_supervisor", "wang")).code == "wrong_stage"
    wrong_role = refusal(A.DECISION, case(Stage.DECISION), actor("township_caseworker", place="341503104"))
    assert wrong_role.code == "wrong_role" and wrong_role.roles == {"township_approver"}
    assert refusal(A.HOME_VISIT, case(Stage.INVESTIGATION), actor("township_caseworker", place="341503104")).code == (
        "out_of_jurisdiction"
    )
    paused = case(Stage.INVESTIGATION, paused=True, barred=barred)
    assert refusal(A.HOME_VISIT, paused, actor("township_caseworker", "wang")).code == "recused"
    assert refusal(A.HOME_VISIT, paused, actor("township_caseworker")).code == "paused"
    assert refusal(A.MATERIALS_SUPPLIED, case(Stage.INVESTIGATION), actor("township_caseworker")).code == "not_paused"
    officer = actor("district_officer", place="341503")
    assert refusal(A.TAKE_OVER, case(Stage.HEARING), officer).reason == "not_escalated"
    assert refusal(A.TAKE_OVER, case(Stage.HEARING, escalated=True, handled_by="district"), officer).reason == (
        "taken_over"
    )
    assert refusal(A.VERIFICATION_RESULT, case(Stage.INVESTIGATION, verified=True), officer).reason == "verified"


def test_every_move_the_steps_make_is_in_the_stage_graph() -> None:
    steps = [*Action, COMPLAINT]
    routes = [ReviewPolicy(hearing_mandatory=mandatory) for mandatory in (True, False)]
    for stage, step, investigated, route, back in itertools.product(Stage, steps, (True, False), routes, (True, False)):
        target = next_stage(stage, step, investigated=investigated, route=route, reinvestigate=back)
        assert target is None or can_move(stage, target), (stage, step, target)
    pilot = ReviewPolicy(hearing_mandatory=True)
    assert next_stage(Stage.INVESTIGATION, A.HOME_VISIT, investigated=True, route=pilot, reinvestigate=False) is (
        Stage.HEARING
    )
    assert next_stage(Stage.INVESTIGATION, COMPLAINT, investigated=True, route=pilot, reinvestigate=False) is None
    assert not can_move(Stage.INVESTIGATION, Stage.PUBLIC_NOTICE)


def test_each_action_is_written_once() -> None:
    assert list(ACTIONS) == list(Action) and all(ACTIONS[a].name is a for a in Action)
    assert all(ACTIONS[a].stages and ACTIONS[a].roles and ACTIONS[a].label for a in Action)


def test_the_case_page_forms_follow_the_table_and_the_payloads() -> None:
    """A new action needs no line in webapp/review/case_forms.py: its form's fields are its payload's (the actor
    filled in by the server), every date defaults to today, and it takes its place in the table's order."""
    assert sorted(ORDER) == sorted(Action) and ORDER[-len(LAST) :] == LAST
    assert ORDER[:6] == (
        A.MATERIALS_SUPPLIED,
        A.VERIFICATION_RESULT,
        A.HOME_VISIT,
        A.NEIGHBOUR_INTERVIEW,
        A.HEARING,
        A.DECISION,
    )
    for a in Action:
        payload = set(ACTION_PAYLOADS[a.value].model_fields) - {"actor", "investigator_staff"}
        assert set(fields(a)) == payload | ({"items_other"} if a is A.MISSING_MATERIALS else set()), a
    me = Actor(username="shipo_cun1", full_name="村干部", role=Role.VILLAGE_CADRE, place_code="341503106201")
    assert defaults(A.HOME_VISIT, me, "2026-12-04") == {
        "visited_on": "2026-12-04",
        "investigators": [],
        "assistants": ["shipo_cun1"],
        "family_signatures": "",
        "findings": "",
    }
    assert defaults(A.WITHDRAW, me, "2026-12-04") == {
        "statement_signed_on": "2026-12-04",
        "statement_ref": "",
        "reason": "",
    }
