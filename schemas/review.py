"""The dibao / tekun review: what starts a case, every staff action on it, and its queryable state.

These models cross the Temporal data converter and the HTTP API unchanged.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from schemas.money import Money
from schemas.people import Household
from schemas.policy import CALENDAR_CHANGED
from schemas.relatives import DeclaredRelative, FiledRelative, Namesake
from schemas.review_closure import Termination, Withdrawal
from schemas.staff import Actor, StaffRef

APPLICATION_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"


def workflow_id_for(application_id: str) -> str:
    return f"review-{application_id}"


class AssistanceType(StrEnum):
    DIBAO = "dibao"
    TEKUN = "tekun"

    @property
    def label(self) -> str:
        return {"dibao": "最低生活保障", "tekun": "特困人员供养"}[self.value]


class Channel(StrEnum):
    COUNTER = "counter"  # 窗口申请
    ONLINE = "online"  # 12349 平台
    PROXY = "proxy"  # 村（居）委会代办


class Application(BaseModel):
    application_id: str = Field(pattern=APPLICATION_ID)
    assistance_type: AssistanceType
    channel: Channel = Channel.COUNTER
    household: Household
    declared_relatives: list[DeclaredRelative] = Field(default_factory=list)
    attachments: list[str] = Field(default_factory=list, description="已收材料清单")


class ReviewStart(BaseModel):
    application: Application
    accepted_by: Actor


# ---- actions (workflow updates); every one carries the acting person -------------------------------


class MissingMaterials(BaseModel):
    actor: Actor
    items: list[str] = Field(min_length=1, description="一次性告知：需补正的全部材料")
    note: str = ""


class MaterialsSupplied(BaseModel):
    actor: Actor
    note: str = ""


class VerificationResult(BaseModel):
    actor: Actor
    verified_monthly_income: Money = Field(description="核对后的家庭月收入")
    assets_within_limits: bool
    findings: str = Field(min_length=2, max_length=2000)
    report_ref: str = Field(default="", max_length=100)


class HomeVisit(BaseModel):
    actor: Actor
    visited_on: date
    investigators: list[str] = Field(description="调查人员用户名（乡镇经办人或区民政局工作人员，至少2人）")
    family_signatures: list[str] = Field(description="在场家庭成员签字")
    findings: str = Field(max_length=4000)
    assistants: list[str] = Field(default_factory=list, description="协助调查的村（社区）干部用户名（不计入调查人员）")
    investigator_staff: list[StaffRef] = Field(
        default_factory=list,
        description="由服务器按用户名填写的调查人员和协助人员（角色、辖区）；客户端提交的值不予采用",
    )


class NeighbourInterview(BaseModel):
    actor: Actor
    interviewed_on: date
    interviewees: list[str]
    findings: str = Field(max_length=4000)
    evidence_requests: list[str] = Field(default_factory=list, description="信函索证")


class Hearing(BaseModel):
    actor: Actor
    held_on: date
    kind: Literal["democratic_review", "hearing"] = "democratic_review"
    participants: list[str]
    opinion: Literal["agree", "disagree"]
    summary: str = Field(max_length=4000)


class Decision(BaseModel):
    actor: Actor
    approve: bool
    category: str | None = None
    monthly_amount: Money | None = Field(default=None, description="留空则按测算金额")
    override_reason: str = ""
    reasons: str = Field(default="", description="不予批准的书面理由")


class Objection(BaseModel):
    actor: Actor
    objector: str = Field(min_length=1, max_length=60)
    content: str = Field(min_length=4, max_length=4000)
    route: Literal["reinvestigate", "hearing"] = "reinvestigate"


class TakeOver(BaseModel):
    actor: Actor
    reason: str = Field(min_length=2, max_length=1000)


class DeadlineExtension(BaseModel):
    """区民政局 extends the statutory time limit (30 working days) to its maximum, with written reasons."""

    actor: Actor
    reasons: str = Field(min_length=4, max_length=2000)


class DeliveryMethod(StrEnum):
    IN_PERSON = "in_person"  # 直接送达
    VIA_VILLAGE = "via_village"  # 委托村（居）委会送达
    POST = "post"  # 邮寄送达
    ELECTRONIC = "electronic"  # 电子送达（申请人同意）

    @property
    def label(self) -> str:
        return {
            "in_person": "直接送达",
            "via_village": "委托村（居）委会送达",
            "post": "邮寄送达",
            "electronic": "电子送达",
        }[self.value]


class RefusalDelivered(BaseModel):
    """The refusal notice's delivery record: how, when and to whom (by whom: the actor)."""

    actor: Actor
    method: DeliveryMethod
    delivered_on: date
    recipient: str = Field(min_length=1, max_length=60, description="签收人")
    note: str = Field(default="", max_length=500)


class ObjectionFiled(BaseModel):
    """An objection or complaint about a case that reached the 12349 front door (not the counter)."""

    ref: str = Field(min_length=1, max_length=64, description="12349 编号")
    kind: Literal["complaint", "objection"] = "complaint"
    objector: str = Field(default="12349 来件", max_length=60)
    content: str = Field(default="", max_length=4000)


class ActionAck(BaseModel):
    """What an accepted action returns: the new stage and the event it was recorded as."""

    stage: str
    event_key: str
    deadline: date | None
    paused: bool


# ---- state (workflow query) -------------------------------------------------------------------------


class TimelineEntry(BaseModel):
    event_key: str
    kind: str
    stage: str
    actor: str | None
    actor_role: str | None
    at: datetime
    summary: str
    payload: dict = Field(default_factory=dict)


class Escalation(BaseModel):
    kind: Literal["overdue", "statutory_overdue", "verification_overdue", "refusal_delivery_overdue"]
    at: datetime
    deadline: date
    taken_over_by: str | None = None


class ClockState(BaseModel):
    accepted_on: date
    limit_working_days: int
    deadline: date | None
    provisional: bool
    paused: bool
    paused_since: date | None
    paused_periods: list[tuple[date, date]]
    paused_working_days: int
    stopped: bool
    reminders_sent: list[int]
    overdue: bool
    # The statutory limit beside the promised one: 30 working days, 45 once the district extends it.
    statutory_working_days: int | None = None
    statutory_deadline: date | None = None
    statutory_overdue: bool = False
    extended: bool = False
    excluded_periods: list[tuple[date, date]] = Field(default_factory=list, description="不计入时限的公示期")


class CaseState(BaseModel):
    case_id: str
    workflow_id: str
    assistance_type: AssistanceType
    township_code: str
    village_code: str | None
    applicant_name: str
    stage: str
    stage_label: str
    policy_version: int | None
    clock: ClockState | None
    handled_by: Literal["township", "district"]
    barred_staff: list[str]
    relatives_match: bool
    district_visit_required: bool
    district_visit_done: bool
    verification_done: bool
    home_visit_done: bool
    neighbour_interview_done: bool
    hearing_done: bool
    investigators: list[str]
    proposed_amount: Money | None
    decision: Decision | None
    notice_ends_at: datetime | None
    objections: int
    escalations: list[Escalation]
    timeline: list[TimelineEntry]
    namesakes: list[Namesake] = Field(default_factory=list, description="同名提示")
    relatives_filed: list[FiledRelative] = Field(default_factory=list, description="无账号的申报近亲属（备案）")
    eligibility: Eligibility | None = None  # the criteria and the amount the rules give
    district_approval: bool = False  # the township referred the approval to the district
    refusal_deliver_by: date | None = None  # the refusal notice is to be delivered by then
    refusal_provisional: bool = False  # that day runs through a year whose holiday notice is not in the calendar yet
    refusal_delivery: RefusalDelivered | None = None


class CriterionState(BaseModel):
    """One eligibility criterion (`rules.eligibility.Criterion`): whether it holds and why, in Chinese."""

    code: str
    label: str
    holds: bool
    reason: str


class Eligibility(BaseModel):
    """The assessment of an application under its policy version (`workflows.eligibility.assess`)."""

    criteria: list[CriterionState] = Field(default_factory=list)
    amount: Money = Field(description="测算月保障金")
    qualifying: list[str] = Field(default_factory=list, description="符合条件的人员姓名")
    holds: bool = Field(description="全部条件均符合")
    needs_district: bool = Field(default=False, description="须报区民政局（财产超出规定或测算金额为0）")
    max_override: Money | None = Field(default=None, description="审批人调整金额的上限")


class CaseOutcome(BaseModel):
    case_id: str
    stage: str
    monthly_amount: Money | None = None
    first_payment_month: date | None = None


# ---- activity payloads -------------------------------------------------------------------------------


class DeadlineRequest(BaseModel):
    accepted_on: date
    working_days: int
    paused: list[tuple[date, date]] = Field(default_factory=list)
    reminders: list[int] = Field(default_factory=list, description="剩余工作日提醒点")
    also: list[int] = Field(default_factory=list, description="同时计算的其他工作日时限（如法定时限）")
    # `working_days` counts calendar days instead, and a period ending on a day off runs to the next working
    # day (Civil Code art. 203)
    calendar_days: bool = False


class DeadlineInfo(BaseModel):
    deadline: date
    provisional: bool
    reminder_days: dict[int, date]
    paused_working_days: int
    also: dict[int, date] = Field(default_factory=dict)


class CaseEvent(BaseModel):
    """One row of a case's event log, as any writer of it hands it to `db.cases_repo.append_events`."""

    case_id: str
    event_key: str
    kind: str
    stage: str | None = Field(default=None, description="空：写入时案件所处阶段")
    actor: str | None = None
    actor_role: str | None = None
    payload: dict = Field(default_factory=dict)
    occurred_at: datetime | None = Field(default=None, description="空：写入时（数据库时钟）")
    recorded_at: datetime | None = None


class NotificationIn(BaseModel):
    idempotency_key: str
    case_id: str | None
    audience: str
    kind: str
    subject: str
    body: str
    deliver_by: date | None = None


class CaseError(StrEnum):
    """Machine-readable codes of refused actions (the API returns them with a Chinese message)."""

    WRONG_STAGE = "wrong_stage"
    WRONG_ROLE = "wrong_role"
    OUT_OF_JURISDICTION = "out_of_jurisdiction"
    RECUSED = "recused"
    INCOMPLETE = "incomplete"
    PAUSED = "paused"
    NOT_PAUSED = "not_paused"
    INVESTIGATOR_APPROVER = "investigator_approver"
    INVALID = "invalid"
    ALREADY_DECIDED = "already_decided"
    CRITERIA_NOT_MET = "criteria_not_met"


class ReviewNames:
    """Names of the review workflow's handlers: the web app calls them by name, never by import. Each staff
    action's update is named by the action (`rules.stages.Action`, the keys of `ACTION_PAYLOADS`)."""

    WORKFLOW = "ReviewWorkflow"
    STATE = "state"
    CALENDAR_CHANGED = CALENDAR_CHANGED
    COMPLAINT_FILED = "complaint_filed"
    RESOLVE_NAMESAKE = "resolve_namesake"  # a staff update outside the action table: a namesake warning settled
    OBJECTION_FILED = "objection_filed"


# The payload of each staff action by the action's name (its API path, update name and event kind): the names of
# `rules.stages.Action` written out, as schemas import nothing of ours; a test keeps the two lists equal.
ACTION_PAYLOADS: dict[str, type[BaseModel]] = {
    "missing_materials": MissingMaterials,
    "materials_supplied": MaterialsSupplied,
    "verification_result": VerificationResult,
    "home_visit": HomeVisit,
    "neighbour_interview": NeighbourInterview,
    "hearing": Hearing,
    "decision": Decision,
    "objection": Objection,
    "take_over": TakeOver,
    "extend_deadline": DeadlineExtension,
    "refusal_delivered": RefusalDelivered,
    "withdraw": Withdrawal,
    "terminate": Termination,
}
