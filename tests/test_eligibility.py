"""Eligibility: the tekun criteria (民发〔2021〕43号) and the dibao means test, as pure rules and through the
schemas' household (`workflows.eligibility.assess`). Fixed dates, exact amounts; no database, no Temporal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from rules.amounts import proposed_monthly_amount
from rules.eligibility import (
    AssetFacts,
    Criterion,
    PersonFacts,
    SupporterFacts,
    TekunAssessment,
    TekunRules,
    dibao_assessment,
    incapacity,
    tekun_assessment,
)
from schemas.people import (
    Asset,
    DisabilityKind,
    Household,
    Income,
    Member,
    Relation,
    SelfCare,
    Supporter,
)
from schemas.policy import AssetLimits, Policy, TekunPolicy
from schemas.review import Application, AssistanceType
from tests.support.factories import application, resident_id
from workflows.eligibility import assess, asset_rules, tekun_rules

ON = date(2026, 3, 1)
DIBAO_RURAL = Decimal("722.00")
TEKUN_RURAL = Decimal("938.00")
CARE = {"full": Decimal("0.00"), "partial": Decimal("300.00"), "none": Decimal("600.00")}
RULES = tekun_rules(Policy())  # the policy's defaults: 16, 60 and 民发〔2021〕43号's disability table
LIMITS = asset_rules(Policy())


def born(age: int, month: int = 1, day: int = 10) -> date:
    """A birthday that makes `age` full years on ON (before 1 March in the year)."""
    return date(ON.year - age, month, day)


def person(name: str, age: int, relation: str = "self", **facts) -> PersonFacts:
    """A member `age` on ON; a disability kind is given by its code, and carries its label as the workflow's."""
    if facts.get("disability_kind"):
        facts["disability_label"] = DisabilityKind(facts["disability_kind"]).label
    return PersonFacts(name=name, birth_date=born(age), relation=relation, **facts)


def tekun(
    people: list[PersonFacts],
    supporters: list[SupporterFacts] | None = None,
    *,
    per_capita: str = "0.00",
    assets_ok: bool = True,
) -> TekunAssessment:
    return tekun_assessment(
        people,
        supporters or [],
        on=ON,
        per_capita_income=Decimal(per_capita),
        dibao_standard=DIBAO_RURAL,
        basic_standard=TEKUN_RURAL,
        care=CARE,
        assets_ok=assets_ok,
        rules=RULES,
    )


def criterion(result, code: str):
    return next(c for c in result.criteria if c.code == code)


# ---- tekun: the domain's examples --------------------------------------------------------------------------


def test_an_old_applicant_with_an_able_spouse_without_income_qualifies_alone() -> None:
    result = tekun([person("张三", 70), person("李梅", 50, "spouse")])
    assert [c.code for c in result.criteria] == ["no_working_capacity", "no_means", "no_supporter"]
    assert all(c.holds for c in result.criteria) and result.holds
    assert result.criteria[0].label == "无劳动能力"
    assert result.criteria[0].reason == "申请人 张三 70 岁（≥60 岁）"
    assert criterion(result, "no_means").reason == "家庭人均月收入 0.00 元，低于低保标准 722.00 元；财产状况符合规定"
    assert criterion(result, "no_supporter").reason == "家庭成员 李梅 月收入 0.00 元，低于低保标准 722.00 元"
    assert result.qualifying == ["张三"]
    assert result.per_person == [("张三", Decimal("938.00"))]
    assert result.amount == Decimal("938.00")


@pytest.mark.parametrize(
    "self_care, amount", [(None, "938.00"), ("full", "938.00"), ("partial", "1238.00"), ("none", "1538.00")]
)
def test_the_care_standard_follows_self_care(self_care: str | None, amount: str) -> None:
    result = tekun([person("张三", 70, self_care=self_care), person("李梅", 50, "spouse")])
    assert result.amount == Decimal(amount)


def test_a_single_able_bodied_adult_has_working_capacity() -> None:
    result = tekun([person("李四", 35)])
    capacity = criterion(result, "no_working_capacity")
    assert not capacity.holds and not result.holds
    assert capacity.reason == "申请人 李四 35 岁（已满 16 岁、未满 60 岁），无认定的残疾或重病"
    assert result.qualifying == [] and result.per_person == [] and result.amount == Decimal("0.00")


def test_two_old_people_both_qualify() -> None:
    result = tekun([person("张三", 70), person("李梅", 70, "spouse")])
    assert result.qualifying == ["张三", "李梅"]
    assert result.amount == Decimal("1876.00") == 2 * TEKUN_RURAL


def test_members_with_working_capacity_are_not_tekun() -> None:
    result = tekun(
        [person("张三", 70, self_care="none"), person("张小", 12, "grandchild"), person("张二", 40, "other")]
    )
    assert result.qualifying == ["张三", "张小"]
    assert result.per_person == [("张三", Decimal("1538.00")), ("张小", Decimal("938.00"))]
    assert result.amount == Decimal("2476.00")


# ---- tekun: no working capacity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, grade, qualifies",
    [
        ("intellectual", 3, True),
        ("intellectual", 4, False),
        ("mental", 1, True),
        ("mental", 3, True),
        ("mental", 4, False),
        ("physical", 2, True),
        ("physical", 3, False),
        ("visual", 1, True),
        ("visual", 2, False),
        ("hearing", 1, False),
        ("hearing", 4, False),
        ("speech", 1, False),
        ("multiple", 1, False),
    ],
)
def test_the_disability_table(kind: str, grade: int, qualifies: bool) -> None:
    result = tekun([person("王五", 35, disability_kind=kind, disability_grade=grade)])
    capacity = criterion(result, "no_working_capacity")
    assert capacity.holds is qualifies
    if qualifies:
        assert result.qualifying == ["王五"]
        label = {"intellectual": "智力", "mental": "精神", "physical": "肢体", "visual": "视力"}[kind]
        assert capacity.reason.startswith(f"申请人 王五 {label}残疾 {grade} 级")
    else:
        assert "不在认定范围" in capacity.reason and result.amount == Decimal("0.00")


def test_a_grade_without_a_kind_does_not_qualify() -> None:
    capacity = criterion(tekun([person("王五", 35, disability_grade=1)]), "no_working_capacity")
    assert not capacity.holds
    assert capacity.reason == "申请人 王五 35 岁（已满 16 岁、未满 60 岁），类别未登记的残疾 1 级不在认定范围"


@pytest.mark.parametrize(
    "birthday, lacks, reason",
    [
        (date(1966, 3, 1), True, "60 岁（≥60 岁）"),  # turns 60 on the day
        (date(1966, 3, 2), False, "59 岁（已满 16 岁、未满 60 岁），无认定的残疾或重病"),
        (date(2010, 3, 1), False, "16 岁（已满 16 岁、未满 60 岁），无认定的残疾或重病"),  # turns 16 on the day
        (date(2010, 3, 2), True, "15 岁（未满 16 岁）"),
    ],
)
def test_age_boundaries_fall_on_the_birthday(birthday: date, lacks: bool, reason: str) -> None:
    result = tekun([PersonFacts(name="赵六", birth_date=birthday, relation="self")])
    expected = Criterion("no_working_capacity", "无劳动能力", lacks, f"申请人 赵六 {reason}")
    assert criterion(result, "no_working_capacity") == expected


def test_a_leap_day_birthday_counts_from_the_first_of_march() -> None:
    leap = PersonFacts(name="赵六", birth_date=date(1964, 2, 29), relation="self")
    on_28 = tekun_assessment([leap], [], on=date(2024, 2, 28), rules=RULES, **_money())
    on_29 = tekun_assessment([leap], [], on=date(2024, 2, 29), rules=RULES, **_money())
    assert (on_28.criteria[0].holds, on_29.criteria[0].holds) == (False, True)
    late = tekun_assessment([leap], [], on=date(2025, 2, 28), rules=RULES, **_money())
    assert late.criteria[0].holds  # 61 already; and in a common year 60 would be reached on 1 March


def _money() -> dict:
    return {
        "per_capita_income": Decimal("0"),
        "dibao_standard": DIBAO_RURAL,
        "basic_standard": TEKUN_RURAL,
        "care": CARE,
        "assets_ok": True,
    }


@pytest.mark.parametrize(
    "illness, counts",
    [("", False), ("白血病", False), ("  白血病  ", False), ("慢性肾衰", True), ("肺癌晚期，正在化疗", True)],
)
def test_serious_illness_needs_a_reason_of_four_characters(illness: str, counts: bool) -> None:
    capacity = criterion(tekun([person("钱七", 45, serious_illness=illness)]), "no_working_capacity")
    assert capacity.holds is counts
    if counts:
        assert capacity.reason == f"申请人 钱七 患重病：{illness}"
    elif illness:
        assert capacity.reason == "申请人 钱七 45 岁（已满 16 岁、未满 60 岁），重病说明“白血病”不足 4 个字，不予认定"


def test_where_the_policy_leaves_serious_illness_out_it_is_no_ground() -> None:
    """民发〔2021〕43号 leaves serious illness to the provinces: with the switch off, a 45-year-old whose only
    ground is a documented serious illness has working capacity, and as a member their illness does not make
    them unable to support either."""
    rules = replace(RULES, serious_illness_counts=False)
    ill = person("钱七", 45, serious_illness="尿毒症长期透析")
    result = tekun_assessment([ill], [], on=ON, rules=rules, **_money())
    assert result.criteria[0] == Criterion(
        "no_working_capacity",
        "无劳动能力",
        False,
        "申请人 钱七 45 岁（已满 16 岁、未满 60 岁），患重病“尿毒症长期透析”，现行政策未将重病纳入无劳动能力认定范围",
    )
    assert (result.holds, result.qualifying, result.amount) == (False, [], Decimal("0.00"))
    assert incapacity(ill, ON, rules) is None
    assert incapacity(ill, ON, RULES) == "患重病：尿毒症长期透析"  # switched on (the default), it counts
    # Age and disability still count with the switch off.
    assert incapacity(person("钱八", 61, serious_illness="尿毒症长期透析"), ON, rules) == "61 岁（≥60 岁）"
    son = person("钱九", 40, "child", serious_illness="肺癌晚期，正在化疗", own_monthly_income=Decimal("800.00"))
    off = tekun_assessment([person("钱老", 75), son], [], on=ON, rules=rules, **_money())
    assert off.criteria[2].reason == "家庭成员 钱九 有劳动能力，月收入 800.00 元，不低于低保标准 722.00 元"
    on = tekun_assessment([person("钱老", 75), son], [], on=ON, rules=RULES, **_money())
    assert on.criteria[2].reason == "家庭成员 钱九 无劳动能力：患重病：肺癌晚期，正在化疗"


def test_the_policy_can_move_the_ages_and_the_table() -> None:
    people = [person("孙八", 58, disability_kind="hearing", disability_grade=1)]
    rules = TekunRules(adult_age=16, old_age=58, disabilities={"hearing": 1}, serious_illness_counts=True)
    stricter = tekun_assessment(people, [], on=ON, rules=rules, **_money())
    assert stricter.criteria[0].reason == "申请人 孙八 58 岁（≥58 岁）"


# ---- tekun: no means, no supporter -------------------------------------------------------------------------


def test_income_at_the_dibao_standard_fails_no_means() -> None:
    result = tekun([person("张三", 70)], per_capita="722.00")
    means = criterion(result, "no_means")
    assert not means.holds and means.reason == "家庭人均月收入 722.00 元，不低于低保标准 722.00 元；财产状况符合规定"
    assert result.qualifying == [] and result.amount == Decimal("0.00")
    assert criterion(tekun([person("张三", 70)], per_capita="721.99"), "no_means").holds


def test_assets_beyond_the_limits_fail_no_means() -> None:
    result = tekun([person("张三", 70)], assets_ok=False)
    assert not criterion(result, "no_means").holds and criterion(result, "no_means").reason.endswith("财产超出规定")


def test_a_supporter_able_to_support_fails_no_supporter() -> None:
    declared = [
        SupporterFacts(name="张大", relation="child", able=True),
        SupporterFacts(name="张二", relation="child", able=False, reason="本人重残、无收入"),
    ]
    result = tekun([person("张三", 70)], declared)
    supporter = criterion(result, "no_supporter")
    assert not supporter.holds and supporter.reason == "义务人 张大 有履行义务能力"
    assert result.qualifying == [] and result.amount == Decimal("0.00")


def test_supporters_unable_to_support_are_named_with_their_reasons() -> None:
    declared = [SupporterFacts(name="张二", relation="child", able=False, reason="本人重残、无收入")]
    supporter = criterion(tekun([person("张三", 70)], declared), "no_supporter")
    assert supporter.holds and supporter.reason == "义务人 张二 无履行义务能力（本人重残、无收入）"
    assert criterion(tekun([person("张三", 70)]), "no_supporter").reason == "无法定赡养、抚养、扶养义务人"


def test_a_member_who_owes_support_and_earns_enough_is_able() -> None:
    son = person("张大", 40, "child", own_monthly_income=Decimal("722.00"))
    supporter = criterion(tekun([person("张三", 70), son], per_capita="361.00"), "no_supporter")
    assert not supporter.holds
    assert supporter.reason == "家庭成员 张大 有劳动能力，月收入 722.00 元，不低于低保标准 722.00 元"


@pytest.mark.parametrize(
    "member, reason",
    [
        (person("张大", 40, "child", own_monthly_income=Decimal("721.99")), "月收入 721.99 元，低于低保标准 722.00 元"),
        (person("张大", 40, "child", able_to_work=False, own_monthly_income=Decimal("900")), "经认定无工作能力"),
        (
            person(
                "张大", 40, "child", disability_kind="physical", disability_grade=1, own_monthly_income=Decimal("900")
            ),
            "无劳动能力：肢体残疾 1 级（2 级以上属认定范围）",
        ),
    ],
)
def test_members_who_cannot_support(member: PersonFacts, reason: str) -> None:
    supporter = criterion(tekun([person("张三", 70), member], per_capita="300.00"), "no_supporter")
    assert supporter.holds and supporter.reason == f"家庭成员 张大 {reason}"


def test_a_member_who_owes_no_support_is_not_a_supporter() -> None:
    lodger = person("刘九", 40, "other", own_monthly_income=Decimal("3000"))
    assert criterion(tekun([person("张三", 70), lodger], per_capita="700.00"), "no_supporter").holds


# ---- dibao -------------------------------------------------------------------------------------------------


def dibao(assets: Sequence[AssetFacts] = (), per_capita: str = "200.00", people: int = 3, limits=LIMITS, **kw):
    return dibao_assessment(Decimal(per_capita), DIBAO_RURAL, people, list(assets), limits, **kw)


def test_dibao_tops_up_to_the_standard() -> None:
    result = dibao()
    assert [c.code for c in result.criteria] == ["income_below_standard", "assets_within_limits"]
    assert result.holds and result.assets_ok and not result.needs_district
    assert result.amount == Decimal("1566.00")
    assert result.criteria[0].reason == "家庭人均月收入 200.00 元，低于低保标准 722.00 元"
    assert result.criteria[1].reason == "存款、车辆、住房及经营实体均在规定范围内"
    assert result.max_override == Decimal("2166.00")
    assert proposed_monthly_amount("dibao", DIBAO_RURAL, Decimal("200.00"), 3) == result.amount
    assert proposed_monthly_amount("tekun", TEKUN_RURAL, Decimal("200.00"), 3) == Decimal("2814.00")


def test_an_amount_of_zero_needs_the_district() -> None:
    result = dibao(per_capita="722.00")
    assert not result.criteria[0].holds and result.criteria[0].reason.endswith("不低于低保标准 722.00 元")
    assert result.amount == Decimal("0.00") and result.needs_district and result.assets_ok


def test_deposits_exactly_at_the_limit_pass_and_a_fen_more_fails() -> None:
    at_limit = [AssetFacts("deposit", Decimal("40000.00")), AssetFacts("securities", Decimal("11984.00"))]
    assert dibao(at_limit).assets_ok  # 3 × 24 × 722.00 = 51984.00
    above = [*at_limit, AssetFacts("deposit", Decimal("0.01"))]
    result = dibao(above)
    assert not result.assets_ok and result.needs_district and not result.holds
    assert result.criteria[1].reason == (
        "存款及有价证券合计 51984.01 元，超过上限 51984.00 元（3 人 × 24 个月 × 低保标准 722.00 元）"
    )


def test_a_second_house_fails() -> None:
    one = [AssetFacts("house", Decimal("200000.00"))]
    assert dibao(one).assets_ok
    result = dibao([*one, AssetFacts("house", Decimal("80000.00"))])
    assert not result.assets_ok and result.criteria[1].reason == "拥有住房 2 套，超过 1 套"


def test_vehicles_beyond_one_low_value_working_vehicle_fail() -> None:
    assert dibao([AssetFacts("vehicle", Decimal("30000.00"))]).assets_ok
    dear = dibao([AssetFacts("vehicle", Decimal("30000.01"))])
    assert not dear.assets_ok and dear.criteria[1].reason == "车辆价值 30000.01 元，超过 30000.00 元"
    two = dibao([AssetFacts("vehicle", Decimal("5000.00")), AssetFacts("vehicle", Decimal("3000.00"))])
    assert not two.assets_ok and two.criteria[1].reason == "拥有车辆 2 辆，超过 1 辆"


def test_a_registered_business_fails_unless_allowed() -> None:
    shop = [AssetFacts("business", Decimal("50000.00"))]
    assert dibao(shop).criteria[1].reason == "登记有经营实体"
    assert dibao(shop, limits=replace(LIMITS, business_allowed=True)).assets_ok


def test_the_verification_centre_has_the_last_word_on_assets() -> None:
    result = dibao(verified_assets_ok=False)
    assert not result.assets_ok and result.needs_district
    assert result.criteria[1].reason == "区核对中心核对：财产超出规定"
    assert (
        dibao(verified_assets_ok=True).criteria[1].reason
        == "存款、车辆、住房及经营实体均在规定范围内，经区核对中心核对"
    )
    both = dibao([AssetFacts("house", Decimal("1")), AssetFacts("house", Decimal("1"))], verified_assets_ok=False)
    assert both.criteria[1].reason == "拥有住房 2 套，超过 1 套；区核对中心核对：财产超出规定"


def test_max_override_is_the_standard_times_the_household_times_the_ratio() -> None:
    assert dibao(people=2).max_override == Decimal("1444.00")
    assert dibao(people=3, limits=replace(LIMITS, override_max_ratio=Decimal("1.5"))).max_override == Decimal("3249.00")


# ---- schemas: additive, old payloads still valid ----------------------------------------------------------


def test_old_payloads_still_validate() -> None:
    old_member = {"name": "王大山", "id_number": resident_id(date(1968, 3, 2)), "relation": "self"}
    member = Member.model_validate(old_member)
    assert (member.disability_kind, member.self_care, member.serious_illness) == (None, None, "")
    old_household = {"township_code": "341503106", "address": "王家庄", "hukou_type": "rural", "members": [old_member]}
    assert Household.model_validate(old_household).supporters == []
    old_policy = Policy().model_dump(mode="json")
    del old_policy["tekun"], old_policy["assets"]
    assert Policy.model_validate(old_policy) == Policy()
    # A version stored before the serious-illness switch existed counts serious illness, as it did then.
    stored = Policy().model_dump(mode="json")
    del stored["tekun"]["serious_illness_counts"]
    assert Policy.model_validate(stored).tekun.serious_illness_counts is True
    assert tekun_rules(Policy.model_validate(stored)).serious_illness_counts is True
    assert Policy.model_validate_json(Policy().model_dump_json()) == Policy()


def test_policy_defaults() -> None:
    p = Policy()
    assert (p.tekun.care_full, p.tekun.care_partial, p.tekun.care_none) == (
        Decimal("0.00"),
        Decimal("300.00"),
        Decimal("600.00"),
    )
    assert (p.tekun.adult_age, p.tekun.old_age) == (16, 60)
    assert p.tekun.qualifying_disabilities == {"intellectual": 3, "mental": 3, "physical": 2, "visual": 1}
    assert p.tekun.serious_illness_counts is True  # "provinces may add serious illness": counted unless switched off
    assert p.assets == AssetLimits(
        deposit_months=24, max_vehicles=1, vehicle_max_value=Decimal("30000.00"), max_houses=1, business_allowed=False
    )
    assert p.assets.override_max_ratio == Decimal("1")


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"adult_age": 60, "old_age": 60}, "未成年年龄"),
        ({"qualifying_disabilities": {"hearing": 5}}, "1-4"),
        ({"qualifying_disabilities": {"deaf": 1}}, "deaf"),
        ({"care_partial": "700.00"}, "递增"),
        ({"serious_illness_counts": "maybe"}, "serious_illness_counts"),
        ({"serious_illness_counts": None}, "serious_illness_counts"),
    ],
)
def test_invalid_tekun_policies_are_refused(body: dict, fragment: str) -> None:
    with pytest.raises(ValidationError) as e:
        TekunPolicy.model_validate(body)
    assert fragment in str(e.value)


def test_labels() -> None:
    assert [k.label for k in DisabilityKind] == ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
    assert SelfCare.FULL.label == "全自理" and SelfCare.NONE.label.startswith("全护理")


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"name": "张二", "relation": "child", "able_to_support": False, "reason": "残疾"}, "至少4个字"),
        ({"name": "张二", "relation": "self", "able_to_support": True}, "本人"),
    ],
)
def test_a_supporter_unable_to_support_says_why(body: dict, fragment: str) -> None:
    with pytest.raises(ValidationError) as e:
        Supporter.model_validate(body)
    assert fragment in str(e.value)


def test_a_supporter_is_outside_the_household() -> None:
    me = Member(name="张三", id_number=resident_id(date(1956, 1, 10)), relation=Relation.SELF)
    with pytest.raises(ValidationError, match="已是家庭成员"):
        Household(
            township_code="341503106",
            address="王家庄",
            hukou_type="rural",
            members=[me],
            supporters=[Supporter(name="张三", id_number=me.id_number, relation="child", able_to_support=True)],
        )


# ---- the glue: an application under its policy -------------------------------------------------------------


def tekun_application(*members: Member, incomes=(), assets=(), supporters=()) -> Application:
    return Application(
        application_id="tk-2026-001",
        assistance_type=AssistanceType.TEKUN,
        household=Household(
            township_code="341503106",
            village_code="341503106201",
            address="石婆店镇示范村一 张家湾 3 号",
            hukou_type="rural",
            members=list(members),
            incomes=list(incomes),
            assets=list(assets),
            supporters=list(supporters),
        ),
    )


OLD = Member(name="张三", id_number=resident_id(date(1956, 1, 10)), relation=Relation.SELF)
SPOUSE = Member(name="李梅", id_number=resident_id(date(1976, 1, 10)), relation=Relation.SPOUSE)


def judge(app: Application, income: str | None = None, assets_ok: bool | None = None, policy: Policy = Policy()):
    verified = None if income is None else Decimal(income)
    return assess(app, policy, on=ON, verified_monthly_income=verified, verified_assets_ok=assets_ok)


def test_assess_tekun() -> None:
    result = judge(tekun_application(OLD, SPOUSE))
    assert [(c.code, c.holds) for c in result.criteria] == [
        ("no_working_capacity", True),
        ("no_means", True),
        ("no_supporter", True),
    ]
    assert result.criteria[0].reason == "申请人 张三 70 岁（≥60 岁）"
    assert result.holds and result.qualifying == ["张三"] and result.amount == Decimal("938.00")
    assert not result.needs_district and result.max_override == Decimal("938.00")
    assert result.model_dump(mode="json")["amount"] == "938.00"


def test_assess_tekun_uses_self_care_and_the_policy_care_standard() -> None:
    partial = OLD.model_copy(update={"self_care": SelfCare.PARTIAL})
    assert judge(tekun_application(partial, SPOUSE)).amount == Decimal("1238.00")
    policy = Policy(tekun=TekunPolicy(care_partial=Decimal("450.00"), care_none=Decimal("900.00")))
    assert judge(tekun_application(partial, SPOUSE), policy=policy).amount == Decimal("1388.00")


def test_assess_tekun_counts_a_members_own_income() -> None:
    wage = Income(member_id_number=SPOUSE.id_number, source="wage", monthly_amount=Decimal("1000.00"))
    result = judge(tekun_application(OLD, SPOUSE, incomes=[wage]))
    assert [c.holds for c in result.criteria] == [True, True, False]  # per capita 500.00 < 722.00, but she earns
    assert result.criteria[2].reason == "家庭成员 李梅 有劳动能力，月收入 1000.00 元，不低于低保标准 722.00 元"
    assert not result.holds and result.amount == Decimal("0.00") and result.qualifying == []


def test_assess_tekun_with_a_declared_supporter() -> None:
    son = Supporter(name="张大", relation=Relation.CHILD, able_to_support=True)
    result = judge(tekun_application(OLD, supporters=[son]))
    assert result.criteria[2].reason == "义务人 张大 有履行义务能力" and not result.holds
    poor = Supporter(name="张大", relation=Relation.CHILD, able_to_support=False, reason="本人重残、无收入")
    assert judge(tekun_application(OLD, supporters=[poor])).holds


@pytest.mark.parametrize(
    "counts, holds, reason, amount",
    [
        (True, True, "申请人 钱七 患重病：慢性肾衰竭透析", Decimal("938.00")),
        (
            False,
            False,
            "申请人 钱七 45 岁（已满 16 岁、未满 60 岁），"
            "患重病“慢性肾衰竭透析”，现行政策未将重病纳入无劳动能力认定范围",
            Decimal("0.00"),
        ),
    ],
    ids=["illness-counts", "illness-left-out"],
)
def test_assess_tekun_follows_the_policys_serious_illness_switch(
    counts: bool, holds: bool, reason: str, amount: Decimal
) -> None:
    ill = Member(
        name="钱七", id_number=resident_id(date(1981, 1, 10)), relation=Relation.SELF, serious_illness="慢性肾衰竭透析"
    )
    policy = Policy(tekun=TekunPolicy(serious_illness_counts=counts))
    result = judge(tekun_application(ill), policy=policy)
    assert result.criteria[0].model_dump() == {
        "code": "no_working_capacity",
        "label": "无劳动能力",
        "holds": holds,
        "reason": reason,
    }
    assert (result.holds, result.qualifying, result.amount) == (holds, ["钱七"] if holds else [], amount)


def test_assess_tekun_disability_and_assets() -> None:
    disabled = Member(
        name="王五",
        id_number=resident_id(date(1990, 6, 1)),
        relation=Relation.SELF,
        disability_kind=DisabilityKind.INTELLECTUAL,
        disability_grade=3,
    )
    assert judge(tekun_application(disabled)).criteria[0].reason == "申请人 王五 智力残疾 3 级（3 级以上属认定范围）"
    houses = [Asset(kind="house", value=Decimal("1")), Asset(kind="house", value=Decimal("1"))]
    result = judge(tekun_application(disabled, assets=houses))
    assert result.criteria[1].reason == "家庭人均月收入 0.00 元，低于低保标准 722.00 元；拥有住房 2 套，超过 1 套"
    assert not result.holds and not result.needs_district
    assert (
        judge(tekun_application(disabled), assets_ok=False).criteria[1].reason.endswith("区核对中心核对：财产超出规定")
    )


def test_assess_dibao() -> None:
    app = application("db-2026-001")  # rural, 3 members, declared 600.00 a month
    result = judge(app)
    assert [c.code for c in result.criteria] == ["income_below_standard", "assets_within_limits"]
    assert result.holds and result.amount == Decimal("1566.00") and result.max_override == Decimal("2166.00")
    assert result.qualifying == ["王大山", "王小1", "王小2"] and not result.needs_district


def test_assess_dibao_with_the_verified_income_and_assets() -> None:
    app = application("db-2026-002")
    assert judge(app, income="900.00").amount == Decimal("1266.00")  # 300.00 per capita
    nothing = judge(app, income="2166.00")
    assert nothing.amount == Decimal("0.00") and nothing.needs_district and not nothing.holds
    assert nothing.qualifying == []
    refused = judge(app, income="600.00", assets_ok=False)
    assert refused.needs_district and refused.criteria[1].reason == "区核对中心核对：财产超出规定"
    urban = Application.model_validate(
        app.model_dump() | {"household": app.household.model_dump() | {"hukou_type": "urban"}}
    )
    assert judge(urban).amount == Decimal("2133.00")  # (911.00 − 200.00) × 3
