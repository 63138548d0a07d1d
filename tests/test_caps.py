"""The emergency-aid tiers at their boundaries."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from rules.caps import CapExceeded, Caps, Tier, Totals, check_payment, may_escalate, room

CAPS = Caps(village=D("1000"), township=D("2000"), village_township=D("3000"))


def test_village_boundary() -> None:
    check_payment(CAPS, Totals(), Tier.VILLAGE, D("1000.00"))
    with pytest.raises(CapExceeded, match="超出部分请申报乡镇"):
        check_payment(CAPS, Totals(), Tier.VILLAGE, D("1000.01"))
    with pytest.raises(CapExceeded, match="还可发放 200"):
        check_payment(CAPS, Totals(village=D("800")), Tier.VILLAGE, D("200.01"))


def test_township_boundary_and_combined_cap() -> None:
    after_village = Totals(village=D("1000"))
    check_payment(CAPS, after_village, Tier.TOWNSHIP, D("2000"))
    with pytest.raises(CapExceeded, match="区级"):
        check_payment(CAPS, after_village, Tier.TOWNSHIP, D("2000.01"))
    assert room(CAPS, Totals(village=D("1000"), township=D("1500")), Tier.TOWNSHIP) == D("500")


def test_district_has_no_cap_here() -> None:
    assert room(CAPS, Totals(village=D("1000"), township=D("2000")), Tier.DISTRICT) is None
    check_payment(CAPS, Totals(), Tier.DISTRICT, D("20000"))
    with pytest.raises(CapExceeded):
        check_payment(CAPS, Totals(), Tier.DISTRICT, D("0"))


def test_escalation_only_after_the_lower_tier_is_spent() -> None:
    assert "1000" in may_escalate(CAPS, Totals(village=D("800")), Tier.VILLAGE)
    assert may_escalate(CAPS, Totals(village=D("1000")), Tier.VILLAGE) is None
    assert "3000" in may_escalate(CAPS, Totals(village=D("1000"), township=D("1999.99")), Tier.TOWNSHIP)
    assert may_escalate(CAPS, Totals(village=D("1000"), township=D("2000")), Tier.TOWNSHIP) is None
    assert may_escalate(CAPS, Totals(), Tier.DISTRICT) == "已在区级临时救助，无法再上报"
