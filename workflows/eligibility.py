"""An application's eligibility under its policy version: the schemas' household turned into the facts of
`rules.eligibility`, and its assessment back into `schemas.review.Eligibility`.

Deterministic (no clock, no I/O): the review workflow calls it with the case's policy version, the date of
the assessment and the verification centre's findings once they are in.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from rules.eligibility import (
    AssetFacts,
    AssetRules,
    Criterion,
    PersonFacts,
    SupporterFacts,
    TekunRules,
    dibao_assessment,
    money,
    tekun_assessment,
)
from schemas.identity import id_birth_date
from schemas.people import Household
from schemas.policy import Policy
from schemas.review import Application, AssistanceType, CriterionState, Eligibility


def person_facts(household: Household) -> list[PersonFacts]:
    """Each member with their birth date from the ID and their own income (the incomes in their name)."""
    return [
        PersonFacts(
            name=m.name,
            birth_date=id_birth_date(m.id_number),
            relation=m.relation.value,
            disability_kind=m.disability_kind.value if m.disability_kind else None,
            disability_label=m.disability_kind.label if m.disability_kind else "",
            disability_grade=m.disability_grade,
            serious_illness=m.serious_illness,
            self_care=m.self_care.value if m.self_care else None,
            able_to_work=m.able_to_work,
            own_monthly_income=sum(
                (i.monthly_amount for i in household.incomes if i.member_id_number == m.id_number), Decimal("0")
            ),
        )
        for m in household.members
    ]


def asset_rules(policy: Policy) -> AssetRules:
    """The policy version's asset limits as the rules take them (the same fields by the same names)."""
    return AssetRules(**dict(policy.assets))


def tekun_rules(policy: Policy) -> TekunRules:
    """The policy version's tekun incapacity rules as the rules take them (disability kinds by their codes)."""
    tekun = policy.tekun
    return TekunRules(
        adult_age=tekun.adult_age,
        old_age=tekun.old_age,
        disabilities={kind.value: grade for kind, grade in tekun.qualifying_disabilities.items()},
        serious_illness_counts=tekun.serious_illness_counts,
    )


def _states(criteria: list[Criterion]) -> list[CriterionState]:
    return [CriterionState(code=c.code, label=c.label, holds=c.holds, reason=c.reason) for c in criteria]


def assess(
    application: Application,
    policy: Policy,
    *,
    on: date,
    verified_monthly_income: Decimal | None,
    verified_assets_ok: bool | None,
) -> Eligibility:
    """Dibao: the means test and the top-up amount. Tekun: the three criteria on top of the same asset test,
    and basic + care standard for each member without working capacity.

    Household income is the verified monthly income once the verification centre has answered, the declared
    one before; per capita over all members. For dibao, `qualifying` is every member when the criteria hold
    (the household is enrolled). For tekun, `needs_district` is False (a failed criterion is simply not
    approvable) and `max_override` is the assessed amount × `override_max_ratio`.
    """
    household = application.household
    people = len(household.members)
    income = household.monthly_income() if verified_monthly_income is None else verified_monthly_income
    per_capita = income / people  # unrounded: the amount is rounded once, at the end (as it always was)
    hukou = household.hukou_type.value
    dibao_standard: Decimal = getattr(policy.standards, f"dibao_{hukou}")
    limits = asset_rules(policy)
    dibao = dibao_assessment(
        per_capita,
        dibao_standard,
        people,
        [AssetFacts(kind=a.kind.value, value=a.value) for a in household.assets],
        limits,
        verified_assets_ok=verified_assets_ok,
    )
    if application.assistance_type is AssistanceType.DIBAO:
        return Eligibility(
            criteria=_states(dibao.criteria),
            amount=dibao.amount,
            qualifying=[m.name for m in household.members] if dibao.holds else [],
            holds=dibao.holds,
            needs_district=dibao.needs_district,
            max_override=dibao.max_override,
        )
    assessment = tekun_assessment(
        person_facts(household),
        [
            SupporterFacts(name=s.name, relation=s.relation.value, able=s.able_to_support, reason=s.reason)
            for s in household.supporters
        ],
        on=on,
        per_capita_income=per_capita,
        dibao_standard=dibao_standard,
        basic_standard=getattr(policy.standards, f"tekun_{hukou}"),
        care=policy.tekun.care(),
        assets_ok=dibao.assets_ok,
        assets_reason=next(c.reason for c in dibao.criteria if c.code == "assets_within_limits"),
        rules=tekun_rules(policy),
    )
    return Eligibility(
        criteria=_states(assessment.criteria),
        amount=assessment.amount,
        qualifying=assessment.qualifying,
        holds=assessment.holds,
        needs_district=False,
        max_override=money(assessment.amount * limits.override_max_ratio),
    )
