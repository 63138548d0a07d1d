"""Policy parameters as versioned data: every number of the rules, with the date it takes effect.

A case records the version it was accepted under and keeps it; a new version only affects new cases.
Defaults follow domain.md (Yu'an pilot; Lu'an 2025 standards).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.money import Money
from schemas.people import DisabilityKind

# The signal a calendar import sends every open workflow with a working-day deadline (`infra.calendar_news`): its
# deadlines are counted again.
CALENDAR_CHANGED = "calendar_changed"


def provisional_flag(limit: str) -> Any:
    """The field of a row (and the API's answer) saying that its `limit` (named in words) is provisional, 暂定: it
    runs through a year whose holiday notice is not in the calendar yet, and is counted again once it is."""
    return Field(default=False, description=f"{limit}为暂定（该年度放假安排尚未录入日历，录入后重算）")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reminder(_Strict):
    """A reminder when `days_left` working days remain before the deadline."""

    days_left: int = Field(ge=0)
    audience: Literal["township_approver", "township_caseworker", "district_officer"]
    severity: Literal["reminder", "warning"]


class ApprovalLevel(StrEnum):
    TOWNSHIP = "township"
    DISTRICT = "district"


# The plan's pilot units, to which the approval (审核确认) is delegated first: 石婆店镇, 顺河镇, 鼓楼街道. Every
# other township's cases are approved by the district (区民政局) until the roll-out (`/dashboard/rollout`)
# publishes a version that delegates to it too.
PILOT_TOWNSHIPS: tuple[str, ...] = ("341503106", "341503104", "341503001")


def _pilots_first() -> dict[str, ApprovalLevel]:
    return dict.fromkeys(PILOT_TOWNSHIPS, ApprovalLevel.TOWNSHIP)


class ReviewPolicy(_Strict):
    promised_working_days: int = Field(20, ge=1, description="承诺时限（裕安：20个工作日）")
    statutory_working_days: int = Field(30, ge=1, description="法定时限")
    statutory_extended_working_days: int = Field(45, ge=1, description="法定延长时限")
    verification_start_working_days: int = Field(3, ge=0, description="受理后几个工作日内发起核对")
    verification_result_working_days: int = Field(10, ge=1, description="核对结果等待时限")
    reminders: tuple[Reminder, ...] = (
        Reminder(days_left=5, audience="township_approver", severity="reminder"),
        Reminder(days_left=2, audience="district_officer", severity="warning"),
    )
    min_investigators: int = Field(2, ge=1)
    neighbour_interview_required: bool = True
    hearing_mandatory: bool = True
    notice_length: int = Field(7, ge=1)
    notice_unit: Literal["calendar_days", "working_days"] = "calendar_days"
    notice_counts_in_limit: bool = True
    refusal_notice_working_days: int = Field(3, ge=1)
    default_approval_level: ApprovalLevel = Field(
        ApprovalLevel.DISTRICT, description="未单列的乡镇（街道）由谁审核确认"
    )
    approval_level_by_township: dict[str, ApprovalLevel] = Field(
        default_factory=_pilots_first, description="按乡镇（街道）代码单列的审核确认层级（默认：试点单位下放）"
    )

    @model_validator(mode="after")
    def _limits_in_order(self) -> ReviewPolicy:
        """The promise is within the statutory limit, and the extension lengthens it: promised ≤ statutory ≤
        statutory extended (working days)."""
        promised, statutory = self.promised_working_days, self.statutory_working_days
        extended = self.statutory_extended_working_days
        problems = []
        if promised > statutory:
            problems.append(f"承诺办结时限（{promised} 个工作日）不得长于法定办结时限（{statutory} 个工作日）")
        if extended < statutory:
            problems.append(f"法定延长办结时限（{extended} 个工作日）不得短于法定办结时限（{statutory} 个工作日）")
        if problems:
            raise ValueError("；".join(problems))
        return self

    def approval_level(self, township_code: str) -> ApprovalLevel:
        return self.approval_level_by_township.get(township_code, self.default_approval_level)


class Standards(_Strict):
    """Monthly amounts per person, yuan."""

    dibao_urban: Money = Decimal("911.00")
    dibao_rural: Money = Decimal("722.00")
    tekun_urban: Money = Decimal("1184.00")
    tekun_rural: Money = Decimal("938.00")
    tekun_min_ratio: Decimal = Field(Decimal("1.3"), ge=1)

    @model_validator(mode="after")
    def _tekun_at_least_ratio(self) -> Standards:
        for kind in ("urban", "rural"):
            dibao, tekun = getattr(self, f"dibao_{kind}"), getattr(self, f"tekun_{kind}")
            if tekun < dibao * self.tekun_min_ratio - Decimal("1"):
                where = {"urban": "城市", "rural": "农村"}[kind]
                raise ValueError(f"{where}特困供养标准低于{where}低保标准的 {self.tekun_min_ratio} 倍")
        return self


class Category(_Strict):
    code: str = Field(min_length=1, max_length=8)
    name: str
    description: str = ""


class EmergencyPolicy(_Strict):
    village_cap: Money = Decimal("1000.00")
    township_cap: Money = Decimal("2000.00")
    village_township_total_cap: Money = Decimal("3000.00")
    documentation_working_days: int = Field(5, ge=1, description="先行救助后补齐材料的时限")
    documentation_reminder_days_left: int = Field(2, ge=0)
    payment_hours: int = Field(24, ge=1, description="登记后应在该时数内发放首笔救助；过半提醒，届满上报乡镇（街道）")
    payment_district_hours: int = Field(24, ge=1, description="超过发放时限后再过该时数仍未发放，上报区民政局")
    caps_per: Literal["event", "person_period"] = Field(
        "event",
        description="封顶口径：event 每次急难事件分别封顶（默认）；person_period 同一人在统计周期内累计封顶",
    )
    period_months: int = Field(12, ge=1, le=60, description="统计同一人已获救助的周期（月），审批时显示")
    repeat_needs_township: bool = Field(
        True, description="按事件封顶时，周期内已获救助的人再次发生急难，村级发放前须经乡镇（街道）审批同意"
    )


class FrontDoorPolicy(_Strict):
    answer_working_days: int = Field(5, ge=1)
    referral_accept_working_days: int = Field(3, ge=1)
    referral_result_working_days: int = Field(15, ge=1)
    complaint_accept_days: int = Field(15, ge=1)
    complaint_conclude_days: int = Field(60, ge=1)


class OngoingReviewPolicy(_Strict):
    stable_months: int = Field(12, ge=1)
    irregular_months: int = Field(6, ge=1)
    stable_categories: tuple[str, ...] = Field(("A",), description="按年复核的低保类别；其余每半年")
    sample_share: Decimal = Field(Decimal("0.05"), gt=0, le=1)
    # Who decides an ongoing review's outcome (domain.md: proposed by the caseworker, decided by the township
    # as in the review): the township's approver, within these bounds of a change of the monthly amount; a
    # larger change, up or down, is a new determination of the amount and goes on to the district (区民政局).
    # Stopping is the township's decision (with written reasons). Placeholders for the district to set.
    township_max_change: Money = Field(
        Decimal("200.00"), ge=0, description="乡镇（街道）可直接决定的月保障金调整额（元，增减均计）；超出报区决定"
    )
    township_max_change_ratio: Decimal = Field(
        Decimal("0.30"), ge=0, description="乡镇（街道）可直接决定的调整幅度（占原月保障金的比例）；超出报区民政局决定"
    )
    # A review not concluded this many working days after its due day (no proposal, or one not yet decided) is
    # overdue: the township's approvers and the district are told (workflows/ongoing.py), and the daily digest
    # lists it. Domain.md sets no figure: the default is the review's promised time limit.
    overdue_working_days: int = Field(
        20,
        ge=1,
        le=60,
        description="复核到期后超过此工作日数仍未办结（未提出复核意见或复核意见未审批）的，提醒乡镇审批人并上报区民政局",
    )

    def cadence_months(self, assistance_type: str, category: str | None) -> int:
        """How often a recipient household is reviewed: yearly for tekun and the stable dibao categories, else
        every `irregular_months`."""
        stable = assistance_type == "tekun" or category in self.stable_categories
        return self.stable_months if stable else self.irregular_months


class TekunPolicy(_Strict):
    """特困人员认定 (民发〔2021〕43号): who has no working capacity, and the care standard on top of the basic
    living standard (`Standards.tekun_*`) by self-care ability."""

    care_full: Money = Field(
        Decimal("0.00"),
        description="全自理人员照料护理标准（元/人·月）。占位默认值，由区民政局按六安市公布的标准设置",
    )
    care_partial: Money = Field(
        Decimal("300.00"),
        description="半护理（部分丧失生活自理能力）照料护理标准（元/人·月）。占位默认值，由区民政局设置",
    )
    care_none: Money = Field(
        Decimal("600.00"),
        description="全护理（完全丧失生活自理能力）照料护理标准（元/人·月）。占位默认值，由区民政局设置",
    )
    adult_age: int = Field(16, ge=1, description="未满此年龄视为无劳动能力")
    old_age: int = Field(60, ge=1, description="年满此年龄视为无劳动能力")
    qualifying_disabilities: dict[DisabilityKind, int] = Field(
        default_factory=lambda: {
            DisabilityKind.INTELLECTUAL: 3,
            DisabilityKind.MENTAL: 3,
            DisabilityKind.PHYSICAL: 2,
            DisabilityKind.VISUAL: 1,
        },
        description="视为无劳动能力的残疾类别及其最低等级（1 级最重；等级数不大于此值即符合，民发〔2021〕43号）",
    )
    # 民发〔2021〕43号 leaves serious illness to the provinces. True keeps what every version stored before this
    # field existed meant (a documented serious illness counted), so those versions read as they were stored.
    serious_illness_counts: bool = Field(
        True,
        description="患重病（写明病名及证明，不少于 4 个字）是否视为无劳动能力。"
        "民发〔2021〕43号：省级民政部门可将重病纳入认定范围；选“否”则仅按年龄和残疾认定",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TekunPolicy:
        if self.adult_age >= self.old_age:
            raise ValueError("特困认定：未成年年龄须小于老年年龄")
        if any(not 1 <= grade <= 4 for grade in self.qualifying_disabilities.values()):
            raise ValueError("特困认定：残疾等级须为 1-4 级")
        if not self.care_full <= self.care_partial <= self.care_none:
            raise ValueError("照料护理标准须按全自理、半护理、全护理递增")
        return self

    def care(self) -> dict[str, Decimal]:
        """The care standard by self-care code (`schemas.people.SelfCare`)."""
        return {"full": self.care_full, "partial": self.care_partial, "none": self.care_none}


class AssetLimits(_Strict):
    """低保家庭财产限定 (each province sets them; Anhui-style defaults). A case keeps its policy version's limits."""

    deposit_months: int = Field(
        24, ge=0, description="人均存款及有价证券不超过当地月低保标准的月数（默认 24 个月，即两年的低保标准）"
    )
    max_vehicles: int = Field(1, ge=0, description="最多拥有的车辆数（仅限低值的生产经营、代步用车）")
    vehicle_max_value: Money = Field(
        Decimal("30000.00"), description="可保留车辆的最高价值（元），超过即不符合；默认为低值营运车辆的估值"
    )
    max_houses: int = Field(1, ge=0, description="最多拥有的住房套数（有第二套住房即不符合）")
    business_allowed: bool = Field(False, description="是否允许登记有经营实体（有价值的工商登记）")
    override_max_ratio: Decimal = Field(
        Decimal("1"), gt=0, description="审批人调整后的月保障金最多为 低保标准 × 家庭人数 × 此倍数"
    )


class DocumentType(_Strict):
    """One kind of material (材料类型) a document is filed as."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    name: str = Field(min_length=1, max_length=32)


DocumentOwner = Literal["dibao", "tekun", "emergency"]


class DocumentPolicy(_Strict):
    """The fixed list of material types documents are uploaded as, and which of them each kind of assistance
    requires before its file is complete (the case page lists the missing ones; 补正 pre-fills from them).
    Names follow what a township window receives (`webapp.review.common.COMMON_MATERIALS`)."""

    types: tuple[DocumentType, ...] = (
        DocumentType(code="id_card", name="居民身份证"),
        DocumentType(code="hukou", name="户口簿"),
        DocumentType(code="authorization", name="家庭经济状况核对授权书"),
        DocumentType(code="income", name="收入证明"),
        DocumentType(code="disability", name="残疾人证"),
        DocumentType(code="medical", name="疾病诊断证明"),
        DocumentType(code="housing", name="房屋产权或租赁证明"),
        DocumentType(code="proxy", name="代办委托书"),
        DocumentType(code="home_visit", name="入户调查记录"),
        DocumentType(code="notice_photo", name="公示照片"),
        DocumentType(code="incident", name="急难情况证明"),
        DocumentType(code="expense", name="支出票据"),
        DocumentType(code="receipt", name="救助金领取凭证"),
        DocumentType(code="other", name="其他材料"),
    )
    required: dict[DocumentOwner, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "dibao": ("id_card", "hukou", "authorization", "income"),
            "tekun": ("id_card", "hukou", "authorization"),
            "emergency": ("id_card", "incident", "receipt"),
        },
        description="各救助类型必备的材料类型（代码）",
    )

    @model_validator(mode="after")
    def _known_codes(self) -> DocumentPolicy:
        codes = [t.code for t in self.types]
        if len(set(codes)) != len(codes):
            raise ValueError("材料类型代码不得重复")
        unknown = sorted({c for need in self.required.values() for c in need} - set(codes))
        if unknown:
            raise ValueError(f"必备材料中有未定义的材料类型：{'、'.join(unknown)}")
        return self

    def name_of(self, code: str) -> str:
        return next((t.name for t in self.types if t.code == code), code)


class PayrollPolicy(_Strict):
    """The monthly payroll of dibao and tekun (发放): the day each month's payroll is drafted (a Temporal
    Schedule, Beijing time) and the arrears a new recipient gets with the first payment (rules/payroll.py)."""

    payroll_day: int = Field(10, ge=1, le=28, description="每月生成发放花名册的日期（北京时间，1-28日）")
    arrears: Literal["none", "when_late", "always"] = Field(
        "when_late",
        description="新纳入对象首次发放时的补发：none 不补发（自决定次月起）；when_late 审批超过承诺时限的，"
        "补发自受理次月起至决定当月；always 一律补发自受理次月起",
    )
    unpaid_escalation_months: int = Field(2, ge=1, le=12, description="连续几个月未发放成功即上报区民政局")


def _assisted_by() -> dict[str, tuple[str, ...]]:
    return dict.fromkeys(
        ("large_medical", "severe_disability", "unemployed", "poor_student", "disaster"), ("dibao", "tekun")
    )


class DiscoveryPolicy(_Strict):
    """主动发现: the partner bureaus' lists of people with a signal (schemas.discovery.SignalKind)."""

    visit_working_days: int = Field(10, ge=1, description="发现任务：乡镇（街道）应在该工作日数内入户核实")
    dedup_days: int = Field(90, ge=1, description="同一人同一类信号在该天数内只生成一个任务")
    retention_days: int = Field(180, ge=1, description="部门推送名单（身份证号、姓名）的保存天数，届满删除")
    assisted_by: dict[str, tuple[str, ...]] = Field(
        default_factory=_assisted_by, description="按信号类别：已享受哪些救助即视为已救助（只计数，不生成任务）"
    )
    review_prompt_kinds: tuple[str, ...] = Field(
        ("large_medical", "severe_disability"),
        description="已救助对象出现这些信号时，提示乡镇（街道）考虑启动动态管理复核",
    )


class Policy(_Strict):
    version: int = Field(1, ge=1)
    effective_from: date = date(2021, 1, 1)
    note: str = "裕安区社会救助综合改革试点默认参数"
    review: ReviewPolicy = ReviewPolicy()
    standards: Standards = Standards()
    categories: tuple[Category, ...] = (
        Category(code="A", name="A类", description="重病、重残等长期困难家庭"),
        Category(code="B", name="B类", description="收入不稳定的困难家庭"),
        Category(code="C", name="C类", description="其他低保家庭"),
    )
    emergency: EmergencyPolicy = EmergencyPolicy()
    front_door: FrontDoorPolicy = FrontDoorPolicy()
    ongoing_review: OngoingReviewPolicy = OngoingReviewPolicy()
    tekun: TekunPolicy = TekunPolicy()
    assets: AssetLimits = AssetLimits()
    documents: DocumentPolicy = DocumentPolicy()
    payroll: PayrollPolicy = PayrollPolicy()

    discovery: DiscoveryPolicy = DiscoveryPolicy()

    @model_validator(mode="after")
    def _caps_consistent(self) -> Policy:
        e = self.emergency
        if e.village_township_total_cap < max(e.village_cap, e.township_cap):
            raise ValueError("村、乡两级累计封顶不得低于单级封顶")
        return self


# The monthly standards (元/人·月) of a version. A new version gives each as a positive amount (全自理's care standard
# aside: its default is 0, no care being needed), and one that moves by more than `LARGE_CHANGE` against the version
# in force (a zero too many: 1184 -> 11840) is stored only when the administrator confirms it.
STANDARD_FIELDS: tuple[str, ...] = (
    "standards.dibao_urban",
    "standards.dibao_rural",
    "standards.tekun_urban",
    "standards.tekun_rural",
    "tekun.care_full",
    "tekun.care_partial",
    "tekun.care_none",
)
MAY_BE_ZERO = frozenset({"tekun.care_full"})
LARGE_CHANGE = Decimal("0.5")


def standard_amount(policy: Policy, path: str) -> Decimal:
    section, name = path.split(".")
    return getattr(getattr(policy, section), name)


def zero_standards(policy: Policy) -> list[str]:
    """The standards (paths) of `policy` that are not positive and must be."""
    return [p for p in STANDARD_FIELDS if p not in MAY_BE_ZERO and standard_amount(policy, p) <= 0]


def large_standard_changes(base: Policy, new: Policy) -> list[tuple[str, Decimal, Decimal]]:
    """`(path, before, after)` of each standard that `new` moves by more than `LARGE_CHANGE` of its amount in `base`
    (the version in force); a standard that was 0 is not compared (no amount to be a share of)."""
    changes = []
    for path in STANDARD_FIELDS:
        before, after = standard_amount(base, path), standard_amount(new, path)
        if before > 0 and abs(after - before) > before * LARGE_CHANGE:
            changes.append((path, before, after))
    return changes


def effective_date_problem(effective_from: date, today: date, latest: date | None) -> str | None:
    """Why a new version may not take effect on `effective_from`, if it may not: a version applies from a day to come
    (days already begun were dealt with under the version then in force) and after the latest version's day (which
    version applied on a day is never rewritten afterwards)."""
    if effective_from <= today:
        return f"生效日期须晚于今天（{today}）：已经开始的日子仍按当时施行的版本办理"
    if latest is not None and effective_from <= latest:
        return f"生效日期须晚于现行最新版本（{latest}）"
    return None
