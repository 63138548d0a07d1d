"""Monthly benefit amounts: the proposal the approver confirms or overrides."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def proposed_monthly_amount(
    assistance_type: str, standard: Decimal, per_capita_income: Decimal, people: int
) -> Decimal:
    """Dibao tops every member up to the standard (差额补助); tekun pays the support standard per person."""
    if people < 1:
        raise ValueError("a household has at least one member")
    if assistance_type == "tekun":
        per_person = standard
    else:
        per_person = max(standard - per_capita_income, Decimal("0"))
    return (per_person * people).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
