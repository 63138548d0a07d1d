"""The re-check sample: stratified, reproducible, risky cases always in."""

from __future__ import annotations

from rules.sampling import Candidate, draw

CANDIDATES = (
    [Candidate(f"A{i:03d}", "341503106") for i in range(40)]
    + [Candidate(f"B{i:03d}", "341503104") for i in range(10)]
    + [Candidate("C001", "341503001", always_reason="relatives_match"), Candidate("C002", "341503001")]
)


def test_same_seed_same_sample_other_seed_other_sample() -> None:
    first = draw(CANDIDATES, 0.1, "2026-11")
    assert first == draw(list(reversed(CANDIDATES)), 0.1, "2026-11")
    assert first != draw(CANDIDATES, 0.1, "2026-12")


def test_stratified_by_township_with_risky_cases_always_in() -> None:
    sample = draw(CANDIDATES, 0.1, "2026-11")
    per_township = {}
    for d in sample:
        per_township.setdefault(d.township_code, []).append(d)
    assert len(per_township["341503106"]) == 4 and len(per_township["341503104"]) == 1
    assert {d.case_id: d.reason for d in per_township["341503001"]}["C001"] == "relatives_match"
    assert all(d.reason == "random" for d in per_township["341503106"])
