"""The access log's one entrance (issue 16, point 9): what the routes record when someone reads a case file,
looks up a household, exports a list, logs in or changes a user, stored append-only by db/access_log_repo.py
and searched by the district supervisor (webapp/supervision/access_log.py).

A row holds who (user name and role; for a log-in, the name tried), what kind of access (`Kind`), which
record (a case, event or request number, a user name, an export's name), when (the database's clock) and from
which address. An ID number is never stored: a household look-up records `household_ref`, a keyed hash of the
number (the same number always gives the same reference, so the supervisor can search for it by typing the
number), and its masked form as the detail.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from fastapi import Request

from db import access_log_repo
from schemas.identity import mask_id
from schemas.staff import Actor


class Kind(StrEnum):
    CASE_PAGE = "case.page"
    CASE_API = "case.api"
    CASE_PDF = "case.pdf"
    CASE_HISTORY = "case.history"
    CASE_FILE_PDF = "case.casefile_pdf"
    CASE_NOTICE = "case.notice"
    HOUSEHOLD = "household.lookup"
    EXPORT_CASES = "export.cases"
    EXPORT_DECLARATION = "export.declaration"
    PAYROLL = "payroll.view"
    EXPORT_BANK_FILE = "export.bank_file"
    PAYMENT_ACCOUNT = "account.view"
    EXPORT_LEDGER = "export.ledger"
    EMERGENCY = "emergency.view"
    REQUEST = "request.view"
    COMPLAINT = "complaint.view"
    REFERRAL = "referral.view"
    DOCUMENT = "document.view"
    DOCUMENT_UPLOAD = "document.upload"
    DISCOVERY = "discovery.view"
    LOGIN_OK = "login.ok"
    LOGIN_FAILED = "login.failed"
    PASSWORD_CHANGED = "password.changed"
    USER_CREATED = "user.create"
    USER_EDITED = "user.edit"
    USER_ROLE = "user.role"
    USER_DEACTIVATED = "user.deactivate"
    USER_REACTIVATED = "user.reactivate"
    USER_RESET = "user.reset"
    USER_SESSIONS_ENDED = "user.sessions_end"
    ROSTER_CHECK = "roster.check"
    ROSTER_IMPORT = "roster.import"
    ROSTER_ERRORS = "roster.errors"
    WORKFLOW_DECODE = "workflow.decode"


# The Chinese names of the kinds, for the supervisor's page (webapp/locale: "access.<kind>" is not needed, the
# page shows these through _()).
LABELS: dict[Kind, str] = {
    Kind.CASE_PAGE: "查看案件页面",
    Kind.CASE_API: "通过接口读取案件",
    Kind.CASE_PDF: "下载审批表 PDF",
    Kind.CASE_HISTORY: "查看案件历史",
    Kind.CASE_FILE_PDF: "下载案卷 PDF",
    Kind.CASE_NOTICE: "打印公示",
    Kind.HOUSEHOLD: "查询家庭信息",
    Kind.EXPORT_CASES: "导出案件列表",
    Kind.EXPORT_DECLARATION: "导出资金申报",
    Kind.PAYROLL: "查看发放花名册",
    Kind.EXPORT_BANK_FILE: "下载银行发放文件",
    Kind.PAYMENT_ACCOUNT: "查看发放账户",
    Kind.EXPORT_LEDGER: "导出救助资金台账",
    Kind.EMERGENCY: "查看急难事件",
    Kind.REQUEST: "查看 12349 诉求",
    Kind.COMPLAINT: "查看投诉",
    Kind.REFERRAL: "查看转介",
    Kind.DOCUMENT: "查看或下载材料",
    Kind.DOCUMENT_UPLOAD: "上传材料",
    Kind.DISCOVERY: "查看主动发现任务",
    Kind.LOGIN_OK: "登录成功",
    Kind.LOGIN_FAILED: "登录失败",
    Kind.PASSWORD_CHANGED: "修改本人密码",
    Kind.USER_CREATED: "创建用户",
    Kind.USER_EDITED: "修改用户信息",
    Kind.USER_ROLE: "变更角色或辖区",
    Kind.USER_DEACTIVATED: "停用用户",
    Kind.USER_REACTIVATED: "重新启用用户",
    Kind.USER_RESET: "重置密码（发放一次性登录码）",
    Kind.USER_SESSIONS_ENDED: "结束用户会话",
    Kind.ROSTER_CHECK: "试导入救助对象名册",
    Kind.ROSTER_IMPORT: "导入救助对象名册",
    Kind.ROSTER_ERRORS: "下载名册错误清单",
    Kind.WORKFLOW_DECODE: "解密工作流数据（Temporal 界面）",
}

HOUSEHOLD_PREFIX = "hh:"


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def household_ref(request: Request, id_number: str) -> str:
    """The log's reference for a household looked up by `id_number`: an HMAC of the (upper-cased) number under
    the app's signing secret, so the log does not hold the number and a copy of the log cannot be searched by
    guessing numbers without the secret."""
    key = request.app.state.keys.secret.encode()
    digest = hmac.new(key, id_number.strip().upper().encode(), hashlib.sha256).hexdigest()
    return HOUSEHOLD_PREFIX + digest[:32]


async def record(
    request: Request,
    actor: Actor | None,
    kind: Kind,
    record: str | None,
    *,
    detail: str | None = None,
    username: str | None = None,
) -> None:
    """Append one row for `actor` (or, for a failed log-in, the `username` tried) from `request`'s address."""
    await access_log_repo.record(
        request.app.state.pool,
        username=actor.username if actor else username,
        role=actor.role.value if actor else None,
        kind=kind.value,
        record=record,
        detail=detail,
        client_ip=client_ip(request),
    )


async def household(request: Request, actor: Actor, id_number: str) -> None:
    """A household look-up: the keyed hash and the masked number, never the number."""
    await record(request, actor, Kind.HOUSEHOLD, household_ref(request, id_number), detail=mask_id(id_number))
