"""Households, their members, incomes and assets: what a caseworker records at acceptance."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, model_validator

from schemas.identity import Phone, ResidentId
from schemas.labels import LabelledEnum
from schemas.money import Money, yuan


class Relation(LabelledEnum):
    """A member's relation to the applicant (户主/申请人)."""

    SELF = "self", "本人"
    SPOUSE = "spouse", "配偶"
    CHILD = "child", "子女"
    PARENT = "parent", "父母"
    SIBLING = "sibling", "兄弟姐妹"
    GRANDPARENT = "grandparent", "祖父母/外祖父母"
    GRANDCHILD = "grandchild", "孙子女/外孙子女"
    OTHER = "other", "其他"


# Each relation's label, to look up by a stored value (a member hashes as its value).
RELATION_LABELS = {r: r.label for r in Relation}


class HukouType(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class DisabilityKind(LabelledEnum):
    """残疾类别 (GB/T 26341), as on the disability certificate (残疾人证)."""

    VISUAL = "visual", "视力"
    HEARING = "hearing", "听力"
    SPEECH = "speech", "言语"
    PHYSICAL = "physical", "肢体"
    INTELLECTUAL = "intellectual", "智力"
    MENTAL = "mental", "精神"
    MULTIPLE = "multiple", "多重"


class SelfCare(LabelledEnum):
    """生活自理能力, which sets a tekun person's care standard (照料护理标准)."""

    FULL = "full", "全自理"
    PARTIAL = "partial", "半护理（部分丧失生活自理能力）"
    NONE = "none", "全护理（完全丧失生活自理能力）"


class Member(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    id_number: ResidentId
    relation: Relation
    disability_grade: int | None = Field(default=None, ge=1, le=4, description="残疾等级 1-4")
    disability_kind: DisabilityKind | None = Field(default=None, description="残疾类别")
    able_to_work: bool = True
    self_care: SelfCare | None = Field(default=None, description="生活自理能力；未评估按全自理")
    serious_illness: str = Field(
        default="",
        max_length=500,
        description="患重病（省定重病）的病名与依据；至少4个字才视为无劳动能力",
    )


class Supporter(BaseModel):
    """A legal supporter (法定赡养、抚养、扶养义务人) of the applicant living outside the household."""

    name: str = Field(min_length=1, max_length=30)
    id_number: ResidentId | None = None
    relation: Relation
    able_to_support: bool
    reason: str = Field(default="", max_length=500, description="无赡养、抚养、扶养能力的理由")

    @model_validator(mode="after")
    def _reasoned(self) -> Supporter:
        if self.relation is Relation.SELF:
            raise ValueError("义务人不能是申请人本人")
        if not self.able_to_support and len(self.reason.strip()) < 4:
            raise ValueError(f"义务人 {self.name} 无履行义务能力，须写明理由（至少4个字）")
        return self


class IncomeSource(LabelledEnum):
    WAGE = "wage", "工资性收入"
    BUSINESS = "business", "经营性收入"
    AGRICULTURE = "agriculture", "农业生产收入"
    PENSION = "pension", "养老金"
    TRANSFER = "transfer", "转移性收入"
    OTHER = "other", "其他收入"


class Income(BaseModel):
    member_id_number: ResidentId | None = None
    source: IncomeSource
    monthly_amount: Money
    note: str = Field(default="", max_length=200)


class AssetKind(LabelledEnum):
    DEPOSIT = "deposit", "存款"
    HOUSE = "house", "房产"
    VEHICLE = "vehicle", "车辆"
    SECURITIES = "securities", "有价证券"
    BUSINESS = "business", "经营实体（工商登记）"
    OTHER = "other", "其他财产"


class Asset(BaseModel):
    kind: AssetKind
    description: str = Field(default="", max_length=200)
    value: Money


class Household(BaseModel):
    township_code: str = Field(pattern=r"^\d{9}$")
    village_code: str | None = Field(default=None, pattern=r"^\d{12}$")
    address: str = Field(min_length=2, max_length=200)
    hukou_type: HukouType
    phone: Phone | None = None
    members: list[Member] = Field(min_length=1, max_length=30)
    incomes: list[Income] = Field(default_factory=list)
    assets: list[Asset] = Field(default_factory=list)
    supporters: list[Supporter] = Field(default_factory=list, description="户外的法定赡养、抚养、扶养义务人")

    @model_validator(mode="after")
    def _consistent(self) -> Household:
        if sum(m.relation is Relation.SELF for m in self.members) != 1:
            raise ValueError("家庭成员中必须有且只有一名申请人（本人）")
        ids = [m.id_number for m in self.members]
        if len(set(ids)) != len(ids):
            raise ValueError("家庭成员身份证号码重复")
        for inc in self.incomes:
            if inc.member_id_number and inc.member_id_number not in ids:
                raise ValueError("收入所属成员不在家庭成员中")
        for sup in self.supporters:
            if sup.id_number and sup.id_number in ids:
                raise ValueError(f"义务人 {sup.name} 已是家庭成员，无需另列")
        if self.village_code and not self.village_code.startswith(self.township_code):
            raise ValueError("村（社区）不属于所选乡镇（街道）")
        return self

    @property
    def applicant(self) -> Member:
        return next(m for m in self.members if m.relation is Relation.SELF)

    def monthly_income(self) -> Decimal:
        return sum((i.monthly_amount for i in self.incomes), Decimal("0"))

    def per_capita_income(self) -> Decimal:
        return yuan(self.monthly_income() / len(self.members))
