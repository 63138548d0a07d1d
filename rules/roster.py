"""Rules of the roster import (pure): the most a household's monthly amount may be under the policy's standard,
and when an imported household's next ongoing review (动态管理) falls.

Amount: the roster has no incomes, so the amount cannot be recomputed; it must lie within what the policy could
have decided for the household's size: dibao at most the standard × people (`rules.amounts` at zero income)
× the approver's override ratio; tekun at least one person's support standard and at most (the support standard
+ the highest care standard) × people.

Reviews: a household whose last review is known is next reviewed one cadence later. One whose review is unknown,
or overdue by then, is spread evenly over the next `cadence` months (from the month after the import): ordered
by a stable hash of its key, the households of one cadence go round the months in turn and, within a month,
round the days 1-28. So N households of cadence C get N // C or N // C + 1 reviews a month (1,200 yearly ones:
exactly 100 a month) and no day of a month gets more than one more than any other.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rules.amounts import proposed_monthly_amount
from rules.eligibility import money
from rules.months import add_months

ZERO = Decimal("0")
DAYS_USED = 28  # every month has them


def amount_cap(
    assistance_type: str, standard: Decimal, people: int, *, care_max: Decimal, override_ratio: Decimal
) -> Decimal:
    """The largest monthly amount the policy allows the household (yuan)."""
    base = proposed_monthly_amount(assistance_type, standard, ZERO, people)
    if assistance_type == "tekun":
        return money(base + care_max * people)
    return money(base * override_ratio)


def amount_problem(
    assistance_type: str,
    amount: Decimal,
    standard: Decimal,
    people: int,
    *,
    care_max: Decimal,
    override_ratio: Decimal,
) -> str | None:
    """Why the amount does not match the policy's standard (Chinese), or None. Tekun pays at least one person's
    support standard (only members who qualify are paid, the applicant among them)."""
    if assistance_type == "tekun" and amount < standard:
        return f"月保障金{money(amount)}元低于特困人员基本生活标准{money(standard)}元（至少一人）"
    cap = amount_cap(assistance_type, standard, people, care_max=care_max, override_ratio=override_ratio)
    if amount > cap:
        label = "特困人员基本生活标准" if assistance_type == "tekun" else "低保标准"
        care = f"+照料护理标准{money(care_max)}元" if assistance_type == "tekun" else ""
        return f"月保障金{money(amount)}元超过政策标准上限{cap}元（{label}{money(standard)}元{care}×{people}人）"
    return None


@dataclass(frozen=True)
class ReviewDue:
    key: str  # stable: the household's key (applicant's ID number and kind of assistance)
    cadence_months: int
    last_review: date | None


def stable_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def next_reviews(households: Iterable[ReviewDue], today: date) -> dict[str, date]:
    """The next review date of each household, by key."""
    out: dict[str, date] = {}
    spread: dict[int, list[str]] = {}
    for h in households:
        due = add_months(h.last_review, h.cadence_months) if h.last_review else None
        if due is not None and due > today:
            out[h.key] = due
        else:
            spread.setdefault(h.cadence_months, []).append(h.key)
    first = today.replace(day=1)
    for cadence, keys in spread.items():
        for i, key in enumerate(sorted(keys, key=lambda k: (stable_hash(k), k))):
            month = add_months(first, 1 + i % cadence)
            out[key] = month.replace(day=1 + (i // cadence) % DAYS_USED)
    return out
