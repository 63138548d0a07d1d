"""Whom a case, event, request or referral waits on (`rules.waiting`): the one rule behind the pages' "等待…"
lines and the inbox's 等待他人, derived from the action tables. Pure, no server (the pages: tests/ui/test_waiting_*)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from itertools import product

import pytest

from rules.caps import Caps, Tier, Totals
from rules.emergency_actions import EventView
from rules.frontdoor_actions import ComplaintView, ReferralView, RequestView
from rules.stages import ActorView, CaseView, Stage, tasks
from rules.waiting import (
    APPLICANT,
    CASE_ROLES,
    NOTICE,
    SYSTEM,
    Wait,
    case_waits,
    complaint_waits,
    event_waits,
    referral_waits,
    request_waits,
    seat,
    waits_on_role,
)

VILLAGE, SHIPO, DISTRICT = "341503106201", "341503106", "341503"
CW, CADRE, APPROVER, OFFICER = "township_caseworker", "village_cadre", "township_approver", "district_officer"
CAPS = Caps(Decimal("1000"), Decimal("2000"), Decimal("3000"))

FIELD_WORK = ("home_visit", "neighbour_interview")
FRESH = CaseView(stage=Stage.INVESTIGATION, place=VILLAGE)


def who(waits: list[Wait]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(w.who, w.place, w.steps) for w in waits]


def test_after_the_home_visit_and_the_interview_the_case_waits_for_the_district_check() -> None:
    """The issue's first finding: the caseworker's page offered only a notice of missing materials."""
    done = replace(FRESH, home_visit_done=True, neighbour_done=True)
    [wait] = case_waits(done)
    assert (wait.who, wait.place, wait.steps, wait.labels) == (
        OFFICER,
        DISTRICT,
        ("verification_result",),
        ("录入家庭经济状况核对结果",),
    )
    assert not waits_on_role(done, CW) and waits_on_role(done, OFFICER)


@pytest.mark.parametrize(
    "case, expected",
    [
        pytest.param(
            FRESH,
            [(CW, SHIPO, FIELD_WORK), (CADRE, VILLAGE, FIELD_WORK), (OFFICER, DISTRICT, ("verification_result",))],
            id="investigation",
        ),
        pytest.param(  # a case of the township itself has no village cadre
            replace(FRESH, place=SHIPO, verified=True),
            [(CW, SHIPO, FIELD_WORK)],
            id="no-village",
        ),
        pytest.param(
            replace(FRESH, verified=True, home_visit_done=True, neighbour_done=True, district_visit_due=True),
            [(OFFICER, DISTRICT, ("home_visit",))],
            id="district-visit",
        ),
        pytest.param(
            replace(FRESH, paused=True),
            [(APPLICANT, "", ("materials_supplied",)), (OFFICER, DISTRICT, ("verification_result",))],
            id="paused",
        ),
        pytest.param(replace(FRESH, stage=Stage.HEARING, verified=True), [(CW, SHIPO, ("hearing",))], id="hearing"),
        pytest.param(
            replace(FRESH, stage=Stage.DECISION, verified=True), [(APPROVER, SHIPO, ("decision",))], id="decision"
        ),
        pytest.param(
            replace(FRESH, stage=Stage.DECISION, verified=True, district_approves=True),
            [(OFFICER, DISTRICT, ("decision",))],
            id="district-approves",
        ),
        pytest.param(
            replace(FRESH, stage=Stage.HEARING, verified=True, handled_by="district"),
            [(CW, SHIPO, ("hearing",)), (OFFICER, DISTRICT, ("hearing",))],
            id="taken-over",
        ),
        pytest.param(
            replace(FRESH, stage=Stage.DECISION, verified=True, escalated=True),
            [(APPROVER, SHIPO, ("decision",)), (OFFICER, DISTRICT, ("take_over",))],
            id="overdue",
        ),
        pytest.param(replace(FRESH, stage=Stage.PUBLIC_NOTICE, verified=True), [(NOTICE, "", ())], id="notice"),
        pytest.param(
            replace(FRESH, stage=Stage.REFUSED, verified=True), [(CW, SHIPO, ("refusal_delivered",))], id="refused"
        ),
        pytest.param(replace(FRESH, stage=Stage.REFUSED, verified=True, delivered=True), [], id="delivered"),
        pytest.param(replace(FRESH, stage=Stage.ENROLLED, verified=True), [], id="enrolled"),
        pytest.param(replace(FRESH, stage=Stage.ACCEPTED), [(SYSTEM, "", ())], id="accepted"),
    ],
)
def test_whom_a_case_waits_on(case: CaseView, expected: list) -> None:
    assert who(case_waits(case)) == expected


def test_the_applicant_and_the_notice_are_named_with_what_is_awaited() -> None:
    assert case_waits(replace(FRESH, paused=True, verified=True))[0].labels == ("补正材料",)
    assert case_waits(replace(FRESH, stage=Stage.PUBLIC_NOTICE))[0].labels == ("公示",)


@pytest.mark.parametrize("stage", [s for s in Stage if s not in (Stage.ACCEPTED, Stage.PUBLIC_NOTICE)])
def test_a_case_waits_on_a_role_exactly_when_it_is_in_its_task_list(stage: Stage) -> None:
    """Derived, not a second table: for every combination of progress, the roles waited on are those whose task
    list (`rules.stages.tasks`, the inbox's rule) holds the case, except the applicant's materials."""
    for paused, verified, visited, interviewed, district_due, handled, approves, escalated in product(
        [False, True], repeat=8
    ):
        case = CaseView(
            stage=stage,
            place=VILLAGE,
            paused=paused,
            verified=verified,
            home_visit_done=visited,
            neighbour_done=interviewed,
            district_visit_due=district_due,
            handled_by="district" if handled else "township",
            district_approves=approves,
            escalated=escalated,
        )
        for role in CASE_ROLES:
            steps = [
                a
                for a in tasks(case, ActorView("someone", role, seat(role, VILLAGE)))
                if not paused or a != "materials_supplied"
            ]
            assert waits_on_role(case, role) == bool(steps), (case, role)


def test_seats() -> None:
    assert [seat(r, VILLAGE) for r in (CADRE, CW, APPROVER, OFFICER, "bureau_staff")] == [
        VILLAGE,
        SHIPO,
        SHIPO,
        DISTRICT,
        DISTRICT,
    ]


# ---- emergency events ---------------------------------------------------------------------------------

EVENT = EventView(status="open", tier=Tier.VILLAGE, place=VILLAGE, caps=CAPS)


@pytest.mark.parametrize(
    "event, expected",
    [
        pytest.param(EVENT, [(CADRE, VILLAGE, ("approve",))], id="village-pays"),
        pytest.param(replace(EVENT, tier=Tier.TOWNSHIP), [(APPROVER, SHIPO, ("approve",))], id="township-pays"),
        pytest.param(replace(EVENT, tier=Tier.DISTRICT), [(OFFICER, DISTRICT, ("approve",))], id="district-pays"),
        pytest.param(
            replace(EVENT, repeat_pending=True), [(APPROVER, SHIPO, ("approve_repeat",))], id="repeat-needs-township"
        ),
        pytest.param(
            replace(EVENT, namesakes_pending=True),
            [(CW, SHIPO, ("resolve_namesake",)), (OFFICER, DISTRICT, ("resolve_namesake",))],
            id="namesake",
        ),
        pytest.param(
            replace(EVENT, paid=True, totals=Totals(village=Decimal("800"))),
            [(CADRE, VILLAGE, ("documents",))],
            id="documents-owed",
        ),
        pytest.param(
            replace(EVENT, tier=Tier.TOWNSHIP, paid=True, documents_done=True),
            [(APPROVER, SHIPO, ("close",))],
            id="to-close",
        ),
        pytest.param(replace(EVENT, caps=None), [(SYSTEM, "", ())], id="registering"),
        pytest.param(replace(EVENT, paid=True, paying=True), [(SYSTEM, "", ())], id="paying"),
        pytest.param(replace(EVENT, status="closed"), [], id="closed"),
    ],
)
def test_whom_an_emergency_event_waits_on(event: EventView, expected: list) -> None:
    assert who(event_waits(event)) == expected


def test_an_event_names_its_step() -> None:
    assert event_waits(EVENT)[0].labels == ("审批发放",)


# ---- the front door -----------------------------------------------------------------------------------

HELP = RequestView(status="received", kind="help", township=SHIPO)


@pytest.mark.parametrize(
    "request_, expected",
    [
        pytest.param(HELP, [(CW, SHIPO, ("triage",)), (APPROVER, SHIPO, ("triage",))], id="to-triage"),
        pytest.param(
            replace(HELP, kind="enquiry"), [(CW, SHIPO, ("answer",)), (APPROVER, SHIPO, ("answer",))], id="enquiry"
        ),
        pytest.param(
            replace(HELP, status="triaged", review_needs={"dibao": False}),
            [(CW, SHIPO, ("link-case",)), (APPROVER, SHIPO, ("link-case",))],
            id="to-link",
        ),
        pytest.param(replace(HELP, ready=False), [(SYSTEM, "", ())], id="registering"),
        pytest.param(replace(HELP, status="closed"), [], id="closed"),
    ],
)
def test_whom_a_request_waits_on(request_: RequestView, expected: list) -> None:
    assert who(request_waits(request_)) == expected


REFERRAL = ReferralView(status="delivered", bureau="medical", township=SHIPO)


@pytest.mark.parametrize(
    "referral, expected",
    [
        pytest.param(REFERRAL, [("bureau_staff", DISTRICT, ("accept",), "medical")], id="to-accept"),
        pytest.param(
            replace(REFERRAL, status="accepted"), [("bureau_staff", DISTRICT, ("result",), "medical")], id="to-answer"
        ),
        pytest.param(
            replace(REFERRAL, status="info_requested"),
            [(CW, SHIPO, ("supply-info",), None), (APPROVER, SHIPO, ("supply-info",), None)],
            id="info-requested",
        ),
        pytest.param(replace(REFERRAL, ready=False), [(SYSTEM, "", (), None)], id="delivering"),
        pytest.param(replace(REFERRAL, status="answered"), [], id="answered"),
    ],
)
def test_whom_a_referral_waits_on(referral: ReferralView, expected: list) -> None:
    assert [(w.who, w.place, w.steps, w.bureau) for w in referral_waits(referral)] == expected


COMPLAINT = ComplaintView(status="registered", unit=SHIPO, about_person="李娟")


@pytest.mark.parametrize(
    "complaint, expected",
    [
        pytest.param(COMPLAINT, [(CW, SHIPO, ("accept",)), (APPROVER, SHIPO, ("accept",))], id="to-accept"),
        pytest.param(
            replace(COMPLAINT, status="accepted"),
            [(CW, SHIPO, ("conclude",)), (APPROVER, SHIPO, ("conclude",))],
            id="to-conclude",
        ),
        pytest.param(replace(COMPLAINT, unit=DISTRICT), [(OFFICER, DISTRICT, ("accept",))], id="the-district's"),
        pytest.param(replace(COMPLAINT, status="concluded"), [], id="concluded"),
    ],
)
def test_whom_a_complaint_waits_on(complaint: ComplaintView, expected: list) -> None:
    assert who(complaint_waits(complaint)) == expected


def test_whom_and_what_a_wait_names_have_english() -> None:
    """The pages say whom and what in the reader's language (ui/_waiting.html): every role-at-place label, the
    bureaus and every step a wait can name have an English entry."""
    from rules import emergency_actions as em
    from rules import frontdoor_actions as fd
    from rules import stages
    from schemas.staff import Bureau
    from tests.support.i18n import repeated, untranslated
    from webapp.waiting import _AT_PLACE, _OTHERS, DISTRICT_OFFICE

    steps = [*stages.ACTIONS.values(), *em.ACTIONS.values()]
    steps += [*fd.REQUEST_ACTIONS.values(), *fd.REFERRAL_ACTIONS.values(), *fd.COMPLAINT_ACTIONS.values()]
    whom = [*_AT_PLACE.values(), DISTRICT_OFFICE, _OTHERS[APPLICANT], *(b.label for b in Bureau)]
    assert untranslated([*whom, *(s.label for s in steps), "补正材料"], "en") == []
    assert repeated("en", "waiting-labels.po") == {}
