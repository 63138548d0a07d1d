"""What the case row keeps of the event log for the inbox (`rules.progress`): the district steps a case waits for."""

from __future__ import annotations

from datetime import datetime, timedelta

from rules.progress import CaseProgress, after_event
from rules.stages import Action

T0 = datetime.fromisoformat("2026-11-02T09:30:00+08:00")


def fold(*events: tuple[str, dict]) -> CaseProgress:
    p = CaseProgress()
    for i, (kind, payload) in enumerate(events):
        p = after_event(p, kind, payload, T0 + timedelta(minutes=i))
    return p


def test_a_complaint_asks_for_a_new_district_visit_even_after_one() -> None:
    visited = fold((Action.HOME_VISIT.value, {"by_district": True}))
    assert (visited.district_visit_required, visited.district_visit_done) == (False, True)
    for kind in ("district_visit_required", "complaint_filed"):
        p = fold((Action.HOME_VISIT.value, {"by_district": True}), (kind, {}))
        assert (p.district_visit_required, p.district_visit_done, p.relatives_match) == (True, False, False)
    p = fold(("district_visit_required", {}), (Action.HOME_VISIT.value, {"by_district": True}))
    assert (p.district_visit_required, p.district_visit_done) == (True, True)


def test_an_objection_through_12349_asks_for_the_districts_visit_one_at_the_counter_does_not() -> None:
    via = fold((Action.OBJECTION.value, {"route": "reinvestigate", "via": "12349"}))
    assert (via.district_visit_required, via.reinvestigate_at) == (True, T0)
    counter = fold((Action.OBJECTION.value, {"route": "reinvestigate"}))
    assert (counter.district_visit_required, counter.reinvestigate_at) == (False, T0)


def test_a_namesake_is_kept_away_until_the_warning_is_settled() -> None:
    warned = ("relatives_namesake", {"namesakes": [{"username": "shipo_diaocha"}, {"username": "shunhe_jingban"}]})
    p = fold(warned)
    assert (p.barred_users, p.relatives_match, p.district_visit_required) == (
        ("shipo_diaocha", "shunhe_jingban"),
        True,
        True,
    )
    p = fold(warned, ("namesake_dismissed", {"username": "shunhe_jingban"}))
    assert p.barred_users == ("shipo_diaocha",)
    matched = ("relatives_matched", {"barred": [{"username": "shipo_diaocha"}], "namesake": "shipo_diaocha"})
    p = fold(warned, matched, ("namesake_dismissed", {"username": "shunhe_jingban"}))
    assert p.barred_users == ("shipo_diaocha",)


def test_a_referral_makes_the_decision_the_districts() -> None:
    assert fold(("referred_to_district", {"reason": "存款略超"})).district_approval is True
    assert fold((Action.DECISION.value, {"approve": True})).district_approval is False
