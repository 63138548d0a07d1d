"""Who may do what in the web app: one table, role × action × scope, read by the routes and their page guards
and by tests/security/test_authz_matrix.py.

Each action a route or page guards has a `Permission`: the roles that may, the scope its rows are confined to
(`in_scope`, asked where a row is loaded: `case_row`, `request_row`, …; the lists apply the same rule in
their SQL), and the Chinese refusal (403 `wrong_role`), with its own words for a role where one is told
something more useful.
`by="workflow"` marks what the web app only offers (forms, buttons) to those roles: the workflow's update
validator has the last word on role and stage (the action tables: rules/stages.py, rules/emergency_actions.py,
rules/frontdoor_actions.py, whose roles tests/test_action_tables.py keeps within these), and the API lets the
call through to it. The role sets are named here once; the two the action rules check as well (the desk, the
casework roles) come from rules/actions.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from rules.access import DISTRICT_CODE, within
from rules.actions import CASE_STAFF, DESK
from schemas.staff import Actor, Role
from webapp.errors import forbidden

VC, CW, AP = Role.VILLAGE_CADRE, Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER
OFF, SUP, BU, A = Role.DISTRICT_OFFICER, Role.DISTRICT_SUPERVISOR, Role.BUREAU_STAFF, Role.ADMIN

ALL_ROLES = frozenset(Role)
CIVIL_AFFAIRS = ALL_ROLES - {BU}  # everyone but the partner bureaus, who get referrals, not civil affairs' files
# Who reads case files (cases, events, requests, complaints, referrals, households, exports): civil affairs'
# staff, never the administrator, who manages users, places, calendar and policy (least privilege, issue 16.9).
FILE_READERS = CIVIL_AFFAIRS - {A}
NO_FILES = "系统管理员管理用户、区划、日历和政策，不查看案件材料"
TOWNSHIP_STAFF = frozenset({CW, AP})
DISTRICT_ROLES = frozenset({OFF, SUP})
# The township window and the 12349 hotline (they see whole ID numbers), and those who act on cases and events
# (supervisors read, bureaus and the administrator do other work): the sets the action rules check too.
DESK_ROLES = frozenset(map(Role, DESK))
CASEWORK = frozenset(map(Role, CASE_STAFF))
REGISTRARS = frozenset({VC, CW, AP})  # who register emergencies on the spot
HOUSEHOLD_READERS = TOWNSHIP_STAFF | DISTRICT_ROLES
DASHBOARD_ROLES = DISTRICT_ROLES | {A}
OFFICERS = frozenset({OFF})
ADMINS = frozenset({A})


class Scope(StrEnum):
    ANY = "any"  # nothing to confine: the role is enough
    OWN = "own"  # the actor's own account and records
    JURISDICTION = "jurisdiction"  # rows whose most precise place lies within the actor's place
    BUREAU = "bureau"  # bureau staff: their own bureau's rows; everyone else: the jurisdiction
    UNIT = "unit"  # complaints: the handling unit within the jurisdiction (never one about the actor: rows.about)
    # district-wide pages of the district this deployment serves (rules.access.DISTRICT_CODE): the staff of
    # another district may not see or change them, whatever their role (403 `out_of_jurisdiction`)
    DISTRICT = "district"


@dataclass(frozen=True)
class Permission:
    roles: frozenset[Role]
    scope: Scope
    denied: str = ""
    denied_for: Mapping[Role, str] = field(default_factory=dict)
    by: Literal["web", "workflow"] = "web"


P = Permission
J = Scope.JURISDICTION
NO_ACTION = "您的角色不办理此类事项"  # refused before the workflow, which would name the stage
D = Scope.DISTRICT
OTHER_DISTRICT = "此页面为本区（县）的全区汇总与管理，不在您的辖区内"

PERMISSIONS: dict[str, Permission] = {
    # ---- account ----
    "account": P(ALL_ROLES, Scope.OWN),
    "ids.full": P(DESK_ROLES, J),  # whole ID numbers (requests, households, case pages, forms): those who open cases
    # ---- review (dibao / tekun cases) ----
    "case.read": P(FILE_READERS, J, "部门工作人员无权查看低保、特困审核案件", {A: NO_FILES}),
    "case.accept": P(
        TOWNSHIP_STAFF,
        J,
        "只有乡镇（街道）经办人或审批人可以受理申请",
        {VC: "村（社区）干部不能受理申请，代办申请请交乡镇（街道）录入"},
    ),
    "case.act": P(CASEWORK, J, NO_ACTION, {SUP: "监督员只能查看案件，不能办理"}),
    "case.inbox": P(CASEWORK, J, "您的角色没有待办案件"),
    "case.history": P(HOUSEHOLD_READERS, J, "案件历史仅限区民政局工作人员、监督员和本乡镇（街道）工作人员查看"),
    # the Temporal Web UI's codec calls (webapp/codec/api.py): a workflow's decrypted data, as its history
    "workflow.decode": P(HOUSEHOLD_READERS, J, "工作流数据仅限区民政局工作人员、监督员和本乡镇（街道）工作人员查看"),
    # … and the payloads bound to no workflow (the codec's `encode`, and anything of no one place): the district's
    "workflow.decode_unbound": P(DISTRICT_ROLES, D, "该工作流的数据仅限区级人员查看"),
    "calendar.announce": P(ADMINS, Scope.ANY, "只有系统管理员可以发布日历变更"),
    # links to the Temporal Web UI: a developer's tool that shows whole ID numbers and can cancel a workflow
    "temporal.ui": P(ADMINS, Scope.ANY, "Temporal Web UI 仅供系统管理员使用"),
    # ---- emergency aid ----
    "emergency.read": P(FILE_READERS, J, "部门工作人员无权查看救急难事件", {A: NO_FILES}),
    "emergency.register": P(REGISTRARS, J, "急难事件由村（社区）干部或乡镇（街道）工作人员登记"),
    "emergency.act": P(CASEWORK, J, NO_ACTION, {SUP: "监督员只能查看，不能办理"}),
    # a fund's ledger (its income and payments by event number), and who keeps the books of each level's fund
    "fund.read": P(CIVIL_AFFAIRS, J, "部门工作人员无权查看救助资金台账"),
    "fund.income.village": P(frozenset({VC, A}), J, "您无权为该资金账户入账"),
    "fund.income.township": P(frozenset({AP, A}), J, "您无权为该资金账户入账"),
    "fund.income.district": P(frozenset({OFF, A}), J, "您无权为该资金账户入账"),
    # ---- 12349 front door ----
    "request.read": P(FILE_READERS, J, "部门工作人员只能查看转介给本部门的事项", {A: NO_FILES}),
    "request.register": P(DESK_ROLES, J, "只有乡镇（街道）经办人、审批人或区民政局工作人员可以代为登记"),
    "request.handle": P(DESK_ROLES, J, by="workflow"),  # triage, link a case, answer an enquiry
    # confirm that a portal request in someone's name was filed by them (a fact of the row, no workflow)
    "request.verify_identity": P(DESK_ROLES, J, "只有乡镇（街道）经办人、审批人或区民政局工作人员可以核实身份"),
    "referral.read": P(ALL_ROLES - {VC, A}, Scope.BUREAU, "村（社区）干部不查看转介", {A: NO_FILES}),
    "referral.answer": P(frozenset({BU}), Scope.BUREAU, by="workflow"),  # accept, ask for information, result
    "referral.supply": P(DESK_ROLES, J, by="workflow"),  # the information a bureau asked for
    "complaint.read": P(
        FILE_READERS - {VC}, Scope.UNIT, "只有乡镇（街道）和区民政局工作人员可以查看投诉", {A: NO_FILES}
    ),
    "complaint.register": P(DESK_ROLES, J, "只有乡镇（街道）经办人、审批人或区民政局工作人员可以登记投诉"),
    "complaint.handle": P(DESK_ROLES, Scope.UNIT, by="workflow"),  # accept, conclude
    "frontdoor.overview": P(DISTRICT_ROLES, D, "只有区民政局工作人员和监督员可以查看督办汇总"),
    "household.view": P(HOUSEHOLD_READERS, J, "只有乡镇（街道）经办人、审批人和区民政局工作人员可以查看家庭信息"),
    # ---- documents (webapp/documents): read as their case, event or request is; uploaded by those who act ----
    "document.upload": P(CASEWORK, J, "您的角色不能上传材料", {SUP: "监督员只能查看材料，不能上传"}),
    "document.upload.request": P(DESK_ROLES, J, "只有乡镇（街道）经办人、审批人或区民政局工作人员可以上传诉求材料"),
    # ---- discovery (主动发现): bureaus send lists, townships visit, the district sees the coverage ----
    "discovery.upload": P(frozenset({BU}), Scope.ANY, "只有合作部门工作人员可以推送主动发现名单"),
    "discovery.read": P(HOUSEHOLD_READERS, J, "主动发现任务由乡镇（街道）和区民政局工作人员查看"),
    "discovery.act": P(DESK_ROLES, J, by="workflow"),  # record the visit's outcome
    "discovery.coverage": P(DISTRICT_ROLES, J, "主动发现覆盖情况仅供区民政局工作人员和监督员查看"),
    # ---- district supervision ----
    "dashboard.view": P(DASHBOARD_ROLES, J, "总览仅供区民政局工作人员、监督员和系统管理员查看"),
    "rollout.view": P(DASHBOARD_ROLES, D, "试点推进情况仅区级人员可见"),
    "rollout.switch": P(frozenset({OFF, A}), D, "只有区民政局工作人员或管理员可以调整审批权限"),
    "overdue.view": P(DISTRICT_ROLES, J, "超期与上报案件仅供区民政局工作人员和监督员查看"),
    "sampling.view": P(DISTRICT_ROLES, J, "抽查复核仅限区民政局工作人员和监督员查看"),
    "sampling.draw": P(OFFICERS, D, "只有区民政局工作人员可以抽取复核样本"),
    "recheck.record": P(OFFICERS, J, "抽查复核结论由区民政局工作人员录入"),
    # close the correction an irregular re-check opened, with a written outcome (a fact of the row, no workflow)
    "correction.close": P(frozenset({AP, OFF}), J, "纠错由本乡镇（街道）审批人或区民政局工作人员办结"),
    "reviews.view": P(HOUSEHOLD_READERS, J, "动态管理由乡镇（街道）和区民政局工作人员办理"),
    "reviews.record": P(DESK_ROLES, J, "复核由本乡镇（街道）或区民政局工作人员办理"),
    "digest.view": P(HOUSEHOLD_READERS, J, "每日提醒发送给乡镇（街道）和区民政局工作人员"),
    # the access log (webapp/access_log.py): the district supervisor searches who read what
    "access_log.view": P(frozenset({SUP}), D, "访问日志仅供区民政局监督员查询"),
    "conflicts.view": P(DISTRICT_ROLES, J, "回避与利益冲突监督仅限区民政局工作人员和监督员查看"),
    # the monthly payroll (rules/payroll.py has the workflow's own rules: who checks, who confirms, two people)
    "payroll.view": P(HOUSEHOLD_READERS, J, "发放花名册由乡镇（街道）和区民政局工作人员查看"),
    "payroll.check": P(frozenset({AP, OFF}), J, "只有乡镇（街道）审批人或区民政局工作人员可以审核花名册"),
    "payroll.confirm": P(OFFICERS, J, "只有区民政局工作人员可以确认发放"),
    "payroll.bank": P(OFFICERS, J, "只有区民政局工作人员可以下载银行发放文件、导入银行回盘"),
    "payroll.draft": P(OFFICERS, J, "只有区民政局工作人员可以生成发放花名册（每月发放日自动生成）"),
    "payroll.supplementary": P(frozenset({AP, OFF}), J, "只有乡镇（街道）审批人或区民政局工作人员可以发起补充发放"),
    "account.view": P(HOUSEHOLD_READERS, J, "发放账户由乡镇（街道）和区民政局工作人员查看"),
    "account.set": P(frozenset({CW, AP, OFF}), J, "只有乡镇（街道）经办人、审批人或区民政局工作人员可以登记发放账户"),
    "declarations.view": P(DISTRICT_ROLES, D, "资金申报仅限区民政局工作人员和监督员查看"),
    "declarations.draft": P(OFFICERS, D, "只有区民政局工作人员可以生成资金申报"),
    "declarations.confirm": P(OFFICERS, D, "只有区民政局工作人员可以确认资金申报"),
    # ---- administration ----
    "admin": P(ADMINS, Scope.ANY, "只有系统管理员可以使用系统管理功能"),
}


def who(action: str) -> frozenset[Role]:
    """The roles that may do `action`."""
    return PERMISSIONS[action].roles


def may(actor: Actor | Role, action: str) -> bool:
    """Whether the role may do `action`; for an actor, where the action is the district's as a whole (Scope.DISTRICT),
    also whether they belong to that district."""
    role = actor.role if isinstance(actor, Actor) else actor
    return role in PERMISSIONS[action].roles and (isinstance(actor, Role) or _in_district(actor, action))


def _in_district(actor: Actor, action: str) -> bool:
    return PERMISSIONS[action].scope is not Scope.DISTRICT or within(actor.place_code, DISTRICT_CODE)


def denied(actor: Actor, action: str) -> str:
    """What `actor` is told when refused `action`."""
    rule = PERMISSIONS[action]
    if actor.role in rule.roles and not _in_district(actor, action):
        return OTHER_DISTRICT
    return rule.denied_for.get(actor.role, rule.denied)


def require(actor: Actor, action: str) -> None:
    """403 unless `actor` may do `action`: `wrong_role` with the table's Chinese refusal, `out_of_jurisdiction` for
    the right role of another district on a district-wide action."""
    if not may(actor, action):
        code = "wrong_role" if actor.role not in PERMISSIONS[action].roles else "out_of_jurisdiction"
        raise forbidden(denied(actor, action), code)


def in_scope(actor: Actor, action: str, place: str, *, bureau: str | None = None) -> bool:
    """Whether a row at `place` (its most precise place: village, else township; a complaint's handling unit)
    lies in `actor`'s scope for `action`: within the jurisdiction; for bureau staff where it is, the row's
    `bureau` theirs. (A complaint about the actor is invisible to them whatever the scope: webapp.frontdoor.rows
    `about`, the complaint workflow's own recusal rule.)"""
    match PERMISSIONS[action].scope:
        case Scope.ANY:
            return True
        case Scope.DISTRICT:
            return _in_district(actor, action)
        case Scope.BUREAU if actor.role is BU:
            return actor.bureau is not None and bureau == actor.bureau.value
        case _:
            return within(actor.place_code, place)
