"""The action tables of emergency aid and the front door (`rules.emergency_actions`, `rules.frontdoor_actions`):
each names the same actions as the workflows' updates and the payloads of `schemas`, allows the roles the web
app's authorisation table lets through to them, and refuses with the codes the API has always answered. Pure,
no server (the refusals through the workflows and HTTP: test_emergency_*, test_frontdoor_*, tests/security/)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest
from pydantic import BaseModel
from temporalio import workflow

from rules.actions import ActionSpec, ActorView, Refusal
from rules.caps import Caps, Tier, Totals
from rules.emergency_actions import ACTIONS as EMERGENCY_ACTIONS
from rules.emergency_actions import EmergencyAction, EventView, available_actions, refusal
from rules.frontdoor_actions import (
    COMPLAINT_ACTIONS,
    REFERRAL_ACTIONS,
    REQUEST_ACTIONS,
    ComplaintAction,
    ComplaintView,
    ReferralAction,
    ReferralView,
    RequestAction,
    RequestView,
    available_complaint_actions,
    available_referral_actions,
    available_request_actions,
    complaint_refusal,
    referral_refusal,
    request_refusal,
)
from schemas.documents import RECORD_DOCUMENT
from schemas.emergency import EMERGENCY_PAYLOADS, EmergencyNames
from schemas.frontdoor import (
    COMPLAINT_PAYLOADS,
    REFERRAL_PAYLOADS,
    REQUEST_PAYLOADS,
    ComplaintNames,
    IntakeNames,
    ReferralNames,
)
from schemas.staff import Role
from webapp.authz import who
from workflows.complaint import ComplaintWorkflow
from workflows.emergency import EmergencyWorkflow
from workflows.intake import IntakeWorkflow
from workflows.referral import ReferralWorkflow

VILLAGE, SHIPO, SHUNHE, DISTRICT = "341503106201", "341503106", "341503104", "341503"
CAPS = Caps(Decimal("1000"), Decimal("2000"), Decimal("3000"))
E, Rq, Rf, C = EmergencyAction, RequestAction, ReferralAction, ComplaintAction

# Each table: its actions, their payloads, the workflow that takes them, and the names clients call them by.
TABLES = [
    pytest.param(EMERGENCY_ACTIONS, EMERGENCY_PAYLOADS, EmergencyWorkflow, EmergencyNames, id="emergency"),
    pytest.param(REQUEST_ACTIONS, REQUEST_PAYLOADS, IntakeWorkflow, IntakeNames, id="request"),
    pytest.param(REFERRAL_ACTIONS, REFERRAL_PAYLOADS, ReferralWorkflow, ReferralNames, id="referral"),
    pytest.param(COMPLAINT_ACTIONS, COMPLAINT_PAYLOADS, ComplaintWorkflow, ComplaintNames, id="complaint"),
]


def actor(role: str, place: str = SHIPO, username: str = "someone", **kw: str) -> ActorView:
    return ActorView(username=username, role=role, place_code=place, **kw)


def names(refused: Refusal) -> str:
    return refused.worded(lambda r: Role(r).label, "township_caseworker", "区医保局")


@pytest.mark.parametrize("actions, payloads, defn, client_names", TABLES)
def test_each_action_is_written_once_and_is_an_update_with_a_validator(
    actions: Mapping[str, ActionSpec], payloads: dict[str, type[BaseModel]], defn: type, client_names: type
) -> None:
    assert list(actions) == list(payloads) and all(actions[a].name == a for a in actions)
    assert all(s.label and s.states and s.roles and s.kind for s in actions.values())
    # a file's uploads are recorded by the shared `record_document` (workflows/documents.py), not a table's action
    updates = {k: v for k, v in workflow._Definition.must_from_class(defn).updates.items() if k != RECORD_DOCUMENT}
    assert {s.update for s in actions.values()} == set(updates)
    # clients name the workflow and its query from schemas, its updates only from the specs
    assert {k for k in vars(client_names) if k.isupper()} == {"WORKFLOW", "STATE"}
    for action, spec in actions.items():
        update = updates[spec.update]
        assert update.validator is not None, f"{spec.update}: refusals are a validator's, at once"
        assert update.arg_types == [payloads[action]], f"{spec.update} takes the payload of {action}"
        assert "actor" in payloads[action].model_fields, f"{action}: every action carries the acting person"


def test_the_roles_are_those_the_web_app_lets_through() -> None:
    """The API lets the callers of its permission through to the workflow, which refuses by the table's roles:
    each action's roles are among them, and every one of them has something to do."""
    emergency = {s.name: s.roles for s in EMERGENCY_ACTIONS.values()}
    assert set().union(*emergency.values()) == who("emergency.act")
    assert emergency[E.APPROVE] == {"village_cadre", "township_approver", "district_officer"}  # a payer per tier
    assert all(s.roles == who("request.handle") for s in REQUEST_ACTIONS.values())
    assert all(s.roles == who("complaint.handle") for s in COMPLAINT_ACTIONS.values())
    assert REFERRAL_ACTIONS[Rf.SUPPLY_INFO].roles == who("referral.supply")
    for bureau_action in (Rf.ACCEPT, Rf.REQUEST_INFO, Rf.RESULT):
        assert REFERRAL_ACTIONS[bureau_action].roles == who("referral.answer")


# ---- emergency aid ---------------------------------------------------------------------------------------------


def event(tier: Tier = Tier.VILLAGE, **kw) -> EventView:
    return EventView(**({"status": "open", "tier": tier, "place": VILLAGE, "caps": CAPS} | kw))


def test_emergency_refusals_come_in_the_workflow_order_with_its_codes() -> None:
    cadre, caseworker = actor("village_cadre", VILLAGE), actor("township_caseworker")
    assert refusal(E.APPROVE, event(caps=None), cadre).code == "not_ready"
    assert refusal(E.APPROVE, event(status="closed"), caseworker).code == "closed"
    assert refusal(E.CLOSE, event(status="closed"), cadre) == Refusal("closed", "该急难事件已办结")
    wrong = refusal(E.APPROVE, event(), caseworker)
    assert (wrong.code, names(wrong)) == (
        "wrong_role",
        "「村（社区）救急难互助社审批发放」须由村（社区）干部办理，您是乡镇经办人",
    )
    wrong = refusal(E.APPROVE, event(), actor("township_approver"), tier=Tier.TOWNSHIP)
    assert wrong.code == "wrong_tier" and "当前在村（社区）救急难互助社办理" in wrong.message
    assert refusal(E.APPROVE, event(), actor("village_cadre", "341503104201")).code == "out_of_jurisdiction"
    assert refusal(E.ESCALATE, event(), caseworker).code == "cannot_escalate"  # the village cap not reached
    reached = event(totals=Totals(village=Decimal("1000")))
    assert refusal(E.ESCALATE, reached, caseworker) is None
    district = event(Tier.DISTRICT, totals=Totals(Decimal("1000"), Decimal("2000")))
    assert refusal(E.ESCALATE, district, caseworker).code == "wrong_role"
    assert refusal(E.ESCALATE, district, actor("district_officer", DISTRICT)).code == "cannot_escalate"
    assert refusal(E.DOCUMENTS, event(), caseworker).code == "nothing_paid"
    missing = refusal(E.CLOSE, event(paid=True), caseworker)
    assert (missing.code, missing.message) == (
        "documents_missing",
        "先行救助的材料尚未补齐（每一笔发放都须补齐材料，或经区民政局书面决定免于补齐），不能办结",
    )
    assert refusal(E.DOCUMENTS, event(paid=True, documents_done=True), caseworker).code == "documents_complete"
    officer = actor("district_officer", DISTRICT)
    assert refusal(E.EXEMPT, event(), officer).code == "nothing_paid"
    assert refusal(E.EXEMPT, event(paid=True, documents_done=True), officer).code == "documents_complete"
    assert refusal(E.EXEMPT, event(paid=True), officer) is None
    wrong = refusal(E.EXEMPT, event(paid=True), caseworker)
    assert (wrong.code, names(wrong)) == (
        "wrong_role",
        "「书面决定免于补齐材料」须由区民政局工作人员办理，您是乡镇经办人",
    )
    assert refusal(E.EXEMPT, event(paid=True), actor("district_supervisor", DISTRICT)).code == "wrong_role"
    assert refusal(E.CLOSE, event(paid=True, documents_done=True, paying=True), caseworker).code == "payment_in_flight"
    assert refusal(E.CLOSE, event(), actor("district_supervisor", DISTRICT)).code == "wrong_role"


@pytest.mark.parametrize(
    "who_, view, expected",
    [
        (actor("village_cadre", VILLAGE), event(), [E.APPROVE, E.CLOSE]),
        (actor("township_caseworker"), event(), [E.CLOSE]),
        (actor("township_approver"), event(Tier.TOWNSHIP, paid=True), [E.APPROVE, E.DOCUMENTS]),
        (
            actor("township_approver"),
            event(totals=Totals(village=Decimal("1000")), paid=True),
            [E.ESCALATE, E.DOCUMENTS],
        ),
        (
            actor("district_officer", DISTRICT),
            event(Tier.DISTRICT, paid=True, documents_done=True),
            [E.APPROVE, E.CLOSE],
        ),
        (actor("district_officer", DISTRICT), event(Tier.DISTRICT, paid=True), [E.APPROVE, E.DOCUMENTS, E.EXEMPT]),
        (actor("township_caseworker"), event(Tier.TOWNSHIP, paid=True), [E.DOCUMENTS]),
        (actor("district_supervisor", DISTRICT), event(), []),
        (actor("village_cadre", VILLAGE), event(status="closed"), []),
    ],
)
def test_emergency_available_actions(who_: ActorView, view: EventView, expected: list[EmergencyAction]) -> None:
    assert available_actions(view, who_) == expected


# ---- the front door ------------------------------------------------------------------------------------------------


def test_request_refusals() -> None:
    help_ = RequestView(status="received", kind="help", township=SHIPO)
    desk = actor("township_caseworker")
    assert request_refusal(Rq.TRIAGE, RequestView("closed", "help", SHIPO), desk).code == "closed"
    wrong = request_refusal(Rq.TRIAGE, help_, actor("village_cadre", VILLAGE))
    assert (wrong.code, names(wrong)) == ("wrong_role", "12349 诉求由乡镇（街道）或区民政局工作人员分办")
    assert request_refusal(Rq.TRIAGE, help_, actor("township_caseworker", SHUNHE)).code == "out_of_jurisdiction"
    assert request_refusal(Rq.TRIAGE, RequestView("received", "help", SHIPO, ready=False), desk).code == "wrong_stage"
    assert request_refusal(Rq.TRIAGE, RequestView("triaged", "help", SHIPO), desk).message == "该诉求已分办"
    assert request_refusal(Rq.TRIAGE, help_, actor("district_officer", DISTRICT)) is None
    assert request_refusal(Rq.ANSWER, help_, desk).message == "只有咨询需要直接答复"
    answered = RequestView("received", "enquiry", SHIPO, answered=True)
    assert request_refusal(Rq.ANSWER, answered, desk).message == "该咨询已答复"
    triaged = RequestView("triaged", "help", SHIPO, review_needs={"low_income": False, "tekun": True})
    assert request_refusal(Rq.LINK_CASE, triaged, desk, need="low_income") is None
    assert request_refusal(Rq.LINK_CASE, triaged, desk, need="tekun").code == "wrong_stage"
    assert request_refusal(Rq.LINK_CASE, triaged, desk, need="medical_costs").code == "invalid"
    assert available_request_actions(triaged, desk) == [Rq.LINK_CASE]
    assert available_request_actions(help_, desk) == [Rq.TRIAGE]
    assert available_request_actions(RequestView("received", "enquiry", SHIPO), desk) == [Rq.ANSWER]


def test_referral_refusals() -> None:
    medical = actor("bureau_staff", DISTRICT, bureau="medical")
    delivered = ReferralView(status="delivered", bureau="medical", township=SHIPO)
    assert referral_refusal(Rf.ACCEPT, ReferralView("delivered", "medical", SHIPO, ready=False), medical).code == (
        "wrong_stage"
    )
    assert referral_refusal(Rf.RESULT, ReferralView("answered", "medical", SHIPO), medical).code == "closed"
    wrong = referral_refusal(Rf.ACCEPT, delivered, actor("township_caseworker"))
    assert (wrong.code, wrong.message) == ("wrong_role", "只有承办部门的工作人员可以办理转介")
    other = referral_refusal(Rf.ACCEPT, delivered, actor("bureau_staff", DISTRICT, bureau="education"))
    assert (other.code, names(other)) == ("wrong_bureau", "该转介由区医保局承办")
    assert referral_refusal(Rf.RESULT, delivered, medical).message == "请先签收转介，再反馈结果"
    assert referral_refusal(Rf.REQUEST_INFO, delivered, medical).code == "wrong_stage"
    asked = ReferralView("info_requested", "medical", SHIPO)
    # The desk of another township is refused as a role that may not supply information (it always was).
    assert referral_refusal(Rf.SUPPLY_INFO, asked, actor("township_caseworker", SHUNHE)).code == "wrong_role"
    assert referral_refusal(Rf.SUPPLY_INFO, delivered, actor("township_caseworker")).code == "wrong_stage"
    assert available_referral_actions(delivered, medical) == [Rf.ACCEPT]
    assert available_referral_actions(asked, medical) == [Rf.RESULT]
    assert available_referral_actions(ReferralView("accepted", "medical", SHIPO), medical) == [
        Rf.REQUEST_INFO,
        Rf.RESULT,
    ]
    assert available_referral_actions(asked, actor("district_officer", DISTRICT)) == [Rf.SUPPLY_INFO]


def test_complaint_refusals() -> None:
    registered = ComplaintView(status="registered", unit=SHIPO, about_person="李娟")
    li = actor("township_caseworker", username="shipo_jingban", full_name="石婆店镇经办人 李娟")
    wang = actor("township_caseworker", username="shipo_diaocha", full_name="石婆店镇经办人 王强")
    assert complaint_refusal(C.ACCEPT, ComplaintView("concluded", SHIPO), wang).code == "closed"
    unread = ComplaintView("registered", SHIPO, case_handlers=None)  # the workflow has not read the case's yet
    assert complaint_refusal(C.ACCEPT, unread, wang) == Refusal("not_ready", "投诉正在登记，请稍后再试")
    assert available_complaint_actions(unread, actor("district_officer", DISTRICT)) == []
    assert complaint_refusal(C.ACCEPT, registered, actor("village_cadre", VILLAGE)).code == "wrong_role"
    assert complaint_refusal(C.ACCEPT, registered, actor("township_caseworker", SHUNHE)).code == "out_of_jurisdiction"
    assert complaint_refusal(C.ACCEPT, registered, li).code == "recused"
    assert complaint_refusal(C.CONCLUDE, registered, wang).message == "请先受理投诉，再办结"
    assert (
        complaint_refusal(C.ACCEPT, ComplaintView("registered", DISTRICT), actor("district_officer", DISTRICT)) is None
    )
    assert available_complaint_actions(registered, wang) == [C.ACCEPT]
    assert available_complaint_actions(ComplaintView("accepted", SHIPO), wang) == [C.CONCLUDE]
    assert available_complaint_actions(registered, li) == []
