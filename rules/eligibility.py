"""Eligibility: the tekun criteria (特困人员认定, 民发〔2021〕43号) and the dibao means test, with their amounts.

Pure and stdlib only: facts in, criteria out. Every criterion carries a Chinese label and a reason that names
the person and the fact it rests on (never an ID number), as the approver reads and the refusal letter quotes
it. The numbers come from the case's policy version; the defaults here are the domain's (Yu'an / Lu'an).
Money is `Decimal` yuan, rounded to the fen half up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0")

# Relations (to the applicant) that owe support by law (Civil Code arts. 1059, 1067, 1074, 1075).
OBLIGATED_RELATIONS = frozenset({"spouse", "child", "parent", "grandparent", "grandchild", "sibling"})
SERIOUS_ILLNESS_MIN_CHARS = 4


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def age_on(born: date, day: date) -> int:
    """Full years (周岁) on `day`: the age rises on the birthday itself (on 1 March for 29 February)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


@dataclass(frozen=True)
class Criterion:
    code: str
    label: str
    holds: bool
    reason: str


@dataclass(frozen=True)
class PersonFacts:
    """One household member as the rules see them; `relation` is to the applicant ("self" for the applicant)."""

    name: str
    birth_date: date
    relation: str
    disability_kind: str | None = None
    disability_label: str = ""  # the kind's Chinese name (`schemas.people.DisabilityKind`), as reasons quote it
    disability_grade: int | None = None
    serious_illness: str = ""
    self_care: str | None = None  # "full" | "partial" | "none"; None = not assessed, counted as "full"
    able_to_work: bool = True
    own_monthly_income: Decimal = ZERO


@dataclass(frozen=True)
class SupporterFacts:
    """A legal supporter outside the household (法定赡养、抚养、扶养义务人)."""

    name: str
    relation: str
    able: bool
    reason: str = ""


@dataclass(frozen=True)
class AssetFacts:
    kind: str  # "deposit" | "securities" | "vehicle" | "house" | "business" | "other"
    value: Decimal


@dataclass(frozen=True)
class AssetRules:
    """The dibao asset limits of a policy version (`schemas.policy.AssetLimits`, where their values are set)."""

    deposit_months: int
    max_vehicles: int
    vehicle_max_value: Decimal
    max_houses: int
    business_allowed: bool
    override_max_ratio: Decimal


@dataclass(frozen=True)
class TekunRules:
    """Who counts as without working capacity, by a policy version (`schemas.policy.TekunPolicy`, where their
    values are set): under `adult_age`, from `old_age`, a disability of a kind in `disabilities` whose grade
    is at most the kind's number (grade 1 is the most severe), or, where `serious_illness_counts`, a serious
    illness described in at least `SERIOUS_ILLNESS_MIN_CHARS` characters."""

    adult_age: int
    old_age: int
    disabilities: Mapping[str, int]
    serious_illness_counts: bool


@dataclass(frozen=True)
class TekunAssessment:
    criteria: list[Criterion]
    qualifying: list[str]
    amount: Decimal
    per_person: list[tuple[str, Decimal]]

    @property
    def holds(self) -> bool:
        return all(c.holds for c in self.criteria)


@dataclass(frozen=True)
class DibaoAssessment:
    criteria: list[Criterion]
    amount: Decimal
    assets_ok: bool
    needs_district: bool
    max_override: Decimal

    @property
    def holds(self) -> bool:
        return all(c.holds for c in self.criteria)


# ---- tekun -------------------------------------------------------------------------------------------------


def incapacity(
    person: PersonFacts,
    on: date,
    rules: TekunRules,
) -> str | None:
    """Why `person` has no working capacity on `on` (the fact, in Chinese), or None if they have it."""
    adult_age, old_age, disabilities = rules.adult_age, rules.old_age, rules.disabilities
    age = age_on(person.birth_date, on)
    if age >= old_age:
        return f"{age} 岁（≥{old_age} 岁）"
    if age < adult_age:
        return f"{age} 岁（未满 {adult_age} 岁）"
    kind, grade = person.disability_kind, person.disability_grade
    if kind and grade and kind in disabilities and grade <= disabilities[kind]:
        return f"{_disability(person)}（{disabilities[kind]} 级以上属认定范围）"
    illness = person.serious_illness.strip()
    if rules.serious_illness_counts and len(illness) >= SERIOUS_ILLNESS_MIN_CHARS:
        return f"患重病：{illness}"
    return None


def _disability(person: PersonFacts) -> str:
    kind = person.disability_label or person.disability_kind or "类别未登记的"
    return f"{kind}残疾 {person.disability_grade} 级" if person.disability_grade else ""


def _capable(person: PersonFacts, on: date, rules: TekunRules) -> str:
    """Why a person has working capacity: their age, and why their disability or illness does not count."""
    facts = [f"{age_on(person.birth_date, on)} 岁（已满 {rules.adult_age} 岁、未满 {rules.old_age} 岁）"]
    if person.disability_grade:
        facts.append(f"{_disability(person)}不在认定范围")
    illness = person.serious_illness.strip()
    if illness and not rules.serious_illness_counts:
        facts.append(f"患重病“{illness}”，现行政策未将重病纳入无劳动能力认定范围")
    elif illness:
        facts.append(f"重病说明“{illness}”不足 {SERIOUS_ILLNESS_MIN_CHARS} 个字，不予认定")
    if not person.disability_grade and not illness:
        facts.append("无认定的残疾或重病")
    return "，".join(facts)


def _income(per_capita_income: Decimal, standard: Decimal) -> tuple[bool, str]:
    below = per_capita_income < standard
    relation = "低于" if below else "不低于"
    return below, f"家庭人均月收入 {money(per_capita_income)} 元，{relation}低保标准 {money(standard)} 元"


def _supporters(
    people: Sequence[PersonFacts], why: Sequence[str | None], supporters: Iterable[SupporterFacts], standard: Decimal
) -> Criterion:
    """No supporter able: declared supporters as declared; members who owe support by their capacity and income."""
    supporters = list(supporters)
    able = [f"义务人 {s.name} 有履行义务能力" for s in supporters if s.able]
    unable = [f"义务人 {s.name} 无履行义务能力（{s.reason.strip()}）" for s in supporters if not s.able]
    for person, lacking in zip(people, why, strict=True):
        if person.relation not in OBLIGATED_RELATIONS:
            continue
        income = f"月收入 {money(person.own_monthly_income)} 元"
        if lacking is not None:
            unable.append(f"家庭成员 {person.name} 无劳动能力：{lacking}")
        elif not person.able_to_work:
            unable.append(f"家庭成员 {person.name} 经认定无工作能力")
        elif person.own_monthly_income < standard:
            unable.append(f"家庭成员 {person.name} {income}，低于低保标准 {money(standard)} 元")
        else:
            able.append(f"家庭成员 {person.name} 有劳动能力，{income}，不低于低保标准 {money(standard)} 元")
    reason = "；".join(able or unable) or "无法定赡养、抚养、扶养义务人"
    return Criterion("no_supporter", "无法定赡养、抚养、扶养义务人或其无履行义务能力", not able, reason)


def tekun_assessment(
    people: Sequence[PersonFacts],
    supporters: Iterable[SupporterFacts],
    *,
    on: date,
    per_capita_income: Decimal,
    dibao_standard: Decimal,
    basic_standard: Decimal,
    care: Mapping[str, Decimal],
    assets_ok: bool,
    assets_reason: str = "",
    rules: TekunRules,
) -> TekunAssessment:
    """The three tekun criteria for the applicant, and the support of the members who qualify.

    Support per qualifying person = basic living standard + care standard by self-care (None counts as "full").
    Only members without working capacity qualify, and only when all three criteria hold for the applicant.
    `assets_reason` (the asset test's own reason, `dibao_assessment`) details the assets in `no_means`.
    """
    why = [incapacity(p, on, rules) for p in people]
    me = next(i for i, p in enumerate(people) if p.relation == "self")
    applicant, lacking = people[me], why[me]
    capacity = Criterion(
        "no_working_capacity",
        "无劳动能力",
        lacking is not None,
        f"申请人 {applicant.name} {lacking or _capable(applicant, on, rules)}",
    )
    below, income = _income(per_capita_income, dibao_standard)
    assets = assets_reason or ("财产状况符合规定" if assets_ok else "财产超出规定")
    means = Criterion("no_means", "无生活来源", below and assets_ok, f"{income}；{assets}")
    criteria = [capacity, means, _supporters(people, why, supporters, dibao_standard)]
    holds = all(c.holds for c in criteria)
    qualifying = [p for p, lacks in zip(people, why, strict=True) if holds and lacks is not None]
    per_person = [(p.name, money(basic_standard + care[p.self_care or "full"])) for p in qualifying]
    return TekunAssessment(
        criteria=criteria,
        qualifying=[p.name for p in qualifying],
        amount=money(sum((amount for _, amount in per_person), ZERO)),
        per_person=per_person,
    )


# ---- dibao -------------------------------------------------------------------------------------------------


def dibao_amount(standard: Decimal, per_capita_income: Decimal, people: int) -> Decimal:
    """差额补助: every member is topped up to the standard."""
    if people < 1:
        raise ValueError("a household has at least one member")
    return money(max(standard - per_capita_income, ZERO) * people)


def asset_problems(assets: Iterable[AssetFacts], *, standard: Decimal, people: int, limits: AssetRules) -> list[str]:
    """What exceeds the limits (empty when the assets are within them), in Chinese."""
    assets = list(assets)
    problems: list[str] = []
    savings = sum((a.value for a in assets if a.kind in ("deposit", "securities")), ZERO)
    cap = money(standard * limits.deposit_months * people)
    if savings > cap:
        problems.append(
            f"存款及有价证券合计 {money(savings)} 元，超过上限 {cap} 元"
            f"（{people} 人 × {limits.deposit_months} 个月 × 低保标准 {money(standard)} 元）"
        )
    vehicles = [a.value for a in assets if a.kind == "vehicle"]
    if len(vehicles) > limits.max_vehicles:
        problems.append(f"拥有车辆 {len(vehicles)} 辆，超过 {limits.max_vehicles} 辆")
    dear = [v for v in vehicles if v > limits.vehicle_max_value]
    if dear:
        problems.append(f"车辆价值 {money(max(dear))} 元，超过 {money(limits.vehicle_max_value)} 元")
    houses = sum(a.kind == "house" for a in assets)
    if houses > limits.max_houses:
        problems.append(f"拥有住房 {houses} 套，超过 {limits.max_houses} 套")
    if not limits.business_allowed and any(a.kind == "business" and a.value > 0 for a in assets):
        problems.append("登记有经营实体")
    return problems


def dibao_assessment(
    per_capita_income: Decimal,
    standard: Decimal,
    people: int,
    assets: Iterable[AssetFacts],
    limits: AssetRules,
    *,
    verified_assets_ok: bool | None = None,
) -> DibaoAssessment:
    """The dibao means test: income below the standard and assets within the limits; the proposed amount.

    `verified_assets_ok` is the district verification centre's finding (None: not yet reported); its False
    fails the assets criterion whatever was declared. A case whose assets fail or whose amount is 0 needs
    the district.
    """
    income = Criterion("income_below_standard", "家庭人均收入低于低保标准", *_income(per_capita_income, standard))
    problems = asset_problems(assets, standard=standard, people=people, limits=limits)
    if verified_assets_ok is False:
        problems.append("区核对中心核对：财产超出规定")
    assets_ok = not problems
    verified = "，经区核对中心核对" if verified_assets_ok else ""
    within = Criterion(
        "assets_within_limits",
        "家庭财产符合规定",
        assets_ok,
        "；".join(problems) or f"存款、车辆、住房及经营实体均在规定范围内{verified}",
    )
    amount = dibao_amount(standard, per_capita_income, people)
    return DibaoAssessment(
        criteria=[income, within],
        amount=amount,
        assets_ok=assets_ok,
        needs_district=not assets_ok or amount == 0,
        max_override=money(standard * people * limits.override_max_ratio),
    )
