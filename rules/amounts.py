"""Monthly benefit amounts: the proposal the approver confirms or overrides."""

from __future__ import annotations

from decimal import Decimal

from rules.eligibility import dibao_amount, money


def proposed_monthly_amount(
    assistance_type: str, standard: Decimal, per_capita_income: Decimal, people: int
) -> Decimal:
    """Dibao tops every member up to the standard (差额补助); tekun pays the support standard per person (the
    whole tekun amount, with care standards and only the members who qualify, is `rules.eligibility`'s)."""
    if people < 1:
        raise ValueError("a household has at least one member")
    if assistance_type == "tekun":
        return money(standard * people)
    return dibao_amount(standard, per_capita_income, people)
