"""Policy versions: validation, effective dates, the version in force."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from db import policy_repo
from db.pool import connect
from schemas.policy import ApprovalLevel, Policy, ReviewPolicy


def test_defaults_follow_the_domain_rules() -> None:
    p = Policy()
    assert p.review.promised_working_days == 20
    assert p.review.statutory_working_days == 30
    assert [(r.days_left, r.audience) for r in p.review.reminders] == [
        (5, "township_approver"),
        (2, "district_officer"),
    ]
    assert p.review.notice_length == 7 and p.review.notice_unit == "calendar_days"
    assert p.review.hearing_mandatory is True
    assert p.emergency.village_cap == Decimal("1000.00")
    assert p.emergency.village_township_total_cap == Decimal("3000.00")


def test_the_default_delegates_approval_to_the_pilot_units_only() -> None:
    """石婆店镇, 顺河镇 and 鼓楼街道 approve their own cases; the district approves every other township's."""
    review = Policy().review
    assert review.default_approval_level is ApprovalLevel.DISTRICT
    assert review.approval_level_by_township == {
        "341503106": ApprovalLevel.TOWNSHIP,
        "341503104": ApprovalLevel.TOWNSHIP,
        "341503001": ApprovalLevel.TOWNSHIP,
    }
    for pilot in ("341503106", "341503104", "341503001"):
        assert review.approval_level(pilot) is ApprovalLevel.TOWNSHIP
    for other in ("341503002", "341503105", "341503107", "341503112"):
        assert review.approval_level(other) is ApprovalLevel.DISTRICT


def test_a_version_lists_its_townships_levels_in_full() -> None:
    """A version's map replaces the default's: delegating one more township names the pilot units too."""
    p = Policy.model_validate({"review": {"approval_level_by_township": {"341503107": "township"}}})
    assert p.review.approval_level("341503107") is ApprovalLevel.TOWNSHIP
    assert p.review.approval_level("341503106") is ApprovalLevel.DISTRICT
    # A version stored with the old default (every township approves) reads as it was stored.
    old = Policy.model_validate({"review": {"default_approval_level": "township", "approval_level_by_township": {}}})
    assert old.review.approval_level("341503107") is ApprovalLevel.TOWNSHIP
    kept = {"default_approval_level": "township", "approval_level_by_township": {"341503105": "district"}}
    p = Policy.model_validate({"review": kept})
    assert p.review.approval_level("341503105") is ApprovalLevel.DISTRICT
    assert p.review.approval_level("341503106") is ApprovalLevel.TOWNSHIP


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"review": {"notice_unit": "weeks"}}, "notice_unit"),
        ({"review": {"promised_working_days": 0}}, "promised_working_days"),
        ({"standards": {"tekun_rural": "700.00"}}, "1.3"),
        ({"emergency": {"village_township_total_cap": "500"}}, "累计封顶"),
        ({"emergency": {"village_cap": "1000.001"}}, "village_cap"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"tekun": {"serious_illness_counts": "maybe"}}, "serious_illness_counts"),
    ],
)
def test_invalid_policies_are_refused(body: dict, fragment: str) -> None:
    with pytest.raises(ValidationError) as e:
        Policy.model_validate(body)
    assert fragment in str(e.value)


PROMISED_TOO_LONG = "承诺办结时限（31 个工作日）不得长于法定办结时限（30 个工作日）"
EXTENSION_SHORTER = "法定延长办结时限（25 个工作日）不得短于法定办结时限（30 个工作日）"


@pytest.mark.parametrize(
    "limits, message",
    [
        ({"promised_working_days": 31}, PROMISED_TOO_LONG),
        ({"statutory_extended_working_days": 25}, EXTENSION_SHORTER),
        (
            {"promised_working_days": 31, "statutory_extended_working_days": 25},
            f"{PROMISED_TOO_LONG}；{EXTENSION_SHORTER}",
        ),
    ],
)
def test_the_review_limits_are_promised_statutory_extended_in_order(limits: dict, message: str) -> None:
    """promised ≤ statutory ≤ statutory extended: an "extension" that shortens the limit, or a promise beyond
    the law's limit, is refused with the fields named in Chinese."""
    with pytest.raises(ValidationError) as e:
        Policy.model_validate({"review": limits})
    assert [(err["loc"], err["type"], err["msg"]) for err in e.value.errors()] == [
        (("review",), "value_error", f"Value error, {message}")
    ]
    equal = ReviewPolicy(promised_working_days=30, statutory_working_days=30, statutory_extended_working_days=30)
    assert (equal.promised_working_days, equal.statutory_extended_working_days) == (30, 30)


async def test_version_in_force_follows_effective_dates(db_url: str) -> None:
    conn = await connect(db_url)
    try:
        assert (await policy_repo.in_force(conn, date(2026, 1, 1))).version == 1
        stricter = Policy.model_validate(
            {
                "version": 2,
                "effective_from": "2027-01-01",
                "note": "2027 起公示按工作日计",
                "review": {"notice_unit": "working_days", "notice_length": 5},
            }
        )
        await policy_repo.add(conn, stricter, "admin")
        assert (await policy_repo.in_force(conn, date(2026, 12, 31))).version == 1
        current = await policy_repo.in_force(conn, date(2027, 1, 1))
        assert current.version == 2 and current.review.notice_unit == "working_days"
        assert (await policy_repo.get(conn, 1)).review.notice_unit == "calendar_days"  # old cases keep theirs
        with pytest.raises(LookupError):
            await policy_repo.in_force(conn, date(2020, 12, 31))
        assert not await policy_repo.ensure_default(conn)
    finally:
        await conn.close()
