"""The payroll pages: the payrolls and open payment tasks of the jurisdiction (`/payroll`), one 发放花名册 with its
forms (`/payroll/{id}`: the township's check, the district's confirmation, the bank file, the bank's return file),
a supplementary run, and a recipient's payment account (`/cases/{case_id}/payment-account`). The forms call
`webapp.payroll.service`, as the API does, so they refuse alike; a refusal is shown on the page it came from."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from db import accounts_repo, payroll_views_repo
from rules.payroll import ACTION_LABELS
from schemas.bank import HOLDER_LABELS, KIND_LABELS
from schemas.identity import mask_id
from schemas.staff import Actor
from webapp import access_log, authz
from webapp.access_log import Kind
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.errors import ApiError
from webapp.payroll import service
from webapp.payroll.api import decoded
from webapp.payroll.service import AccountIn, RunIn
from webapp.render import form_model, render, render_error
from webapp.supervision.common import beijing, valid_month, yuan

router = APIRouter(include_in_schema=False)

STATUS_LABELS = {"draft": "待乡镇审核", "checked": "待区民政局确认", "confirmed": "已确认"}
RESULT_LABELS = {"paid": "成功", "failed": "失败"}
TASK_LABELS = {"failed": "银行发放失败", "no_account": "无发放账户"}
NOTHING = {True: "没有需要补充发放的记录（失败或暂缓的发放须先更正账户）", False: "该月没有需要发放的保障对象"}
DONE = {
    "check": "花名册已审核，待区民政局确认",
    "confirm": "发放已确认，可下载银行发放文件",
    "return": "银行回盘已导入",
    "account": "发放账户已登记",
}


def _page(request: Request, template: str, context: dict[str, Any], actor: Actor, status: int = 200) -> Response:
    helpers = {
        "yuan": yuan,
        "bj": beijing,
        "status_labels": STATUS_LABELS,
        "result_labels": RESULT_LABELS,
        "task_labels": TASK_LABELS,
        "mask_id": mask_id,
        "may": lambda action: authz.may(actor, action),
    }
    return render(request, template, helpers | context, status=status, actor=actor)


@router.get("/payroll")
async def payrolls(request: Request, actor: PageActor, db: Db, month: str | None = None, error: str = "") -> Response:
    if not authz.may(actor, "payroll.view"):
        return render_error(request, 403, authz.denied(actor, "payroll.view"), actor)
    return await _list(request, actor, db, month)


async def _list(request: Request, actor: Actor, db, month: str | None, error: str | None = None, status: int = 200):
    wanted = valid_month(month)
    first = date.fromisoformat(wanted + "-01") if wanted else None
    context = {
        "payrolls": await payroll_views_repo.payrolls_within(db, actor.place_code, first),
        "tasks": await payroll_views_repo.open_tasks(db, actor.place_code),
        "month": wanted or "",
        "township": actor.place_code if len(actor.place_code) == 9 else "",
        "error": error,
    }
    return _page(request, "payroll/list.html", context, actor, status)


@router.get("/payroll/{payroll_id}")
async def payroll(request: Request, payroll_id: int, actor: PageActor, db: Db, done: str | None = None) -> Response:
    return await _one(request, actor, db, payroll_id, done=DONE.get(done or ""))


async def _one(request, actor: Actor, db, payroll_id: int, *, done=None, error=None, status=200) -> Response:
    try:
        p = await service.payroll_row(db, actor, payroll_id)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    lines = await payroll_views_repo.lines(db, payroll_id)
    await access_log.record(request, actor, Kind.PAYROLL, p.workflow_id)
    context = {"p": p, "lines": lines, "done": done, "error": error, "labels": ACTION_LABELS}
    return _page(request, "payroll/payroll.html", context, actor, status)


async def _step(request, actor, db, temporal, payroll_id: int, action: str, note: str) -> Response:
    try:
        await service.act(db, temporal, actor, payroll_id, action, note)  # type: ignore[arg-type]
    except ApiError as exc:
        return await _one(request, actor, db, payroll_id, error=exc.message, status=exc.status)
    return RedirectResponse(f"/payroll/{payroll_id}?done={action}", status_code=303)


def _step_route(action: str) -> None:
    """`POST /payroll/{id}/check` and `/confirm`: one form each, the same handling."""

    async def step(
        request: Request,
        payroll_id: int,
        actor: PageActor,
        db: Db,
        temporal: MaybeTemporal,
        note: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        return await _step(request, actor, db, temporal, payroll_id, action, note)

    router.add_api_route(f"/payroll/{{payroll_id}}/{action}", step, methods=["POST"], name=action)


_step_route("check")
_step_route("confirm")


@router.post("/payroll/{payroll_id}/bank-return")
async def bank_return(
    request: Request,
    payroll_id: int,
    actor: PageActor,
    db: Db,
    temporal: MaybeTemporal,
    file_name: Annotated[str, Form()] = "",
    content_base64: Annotated[str, Form()] = "",
) -> Response:
    """The page reads the chosen file in the browser and posts it in Base64 (a multipart upload does not get
    past the CSRF middleware; see webapp/admin/calendar.py)."""
    try:
        await service.payroll_row(db, actor, payroll_id, "payroll.bank")  # role and jurisdiction before the form
        if not content_base64:
            raise ApiError(422, "invalid", "请选择银行回盘文件（.csv 或 .xlsx）")
        await service.bank_return(db, temporal, actor, payroll_id, file_name, decoded(content_base64))
    except ApiError as exc:
        return await _one(request, actor, db, payroll_id, error=exc.message, status=exc.status)
    return RedirectResponse(f"/payroll/{payroll_id}?done=return", status_code=303)


def _start_route(path: str, *, supplementary: bool) -> None:
    """`POST /payroll/run` and `/payroll/supplementary`: the same form, a regular or a supplementary run."""

    async def start(
        request: Request,
        actor: PageActor,
        db: Db,
        temporal: MaybeTemporal,
        township_code: Annotated[str, Form()] = "",
        month: Annotated[str, Form()] = "",
    ) -> Response:
        return await _start(request, actor, db, temporal, township_code, month, supplementary=supplementary)

    router.add_api_route(path, start, methods=["POST"], name=path.rsplit("/", 1)[1])


_start_route("/payroll/run", supplementary=False)
_start_route("/payroll/supplementary", supplementary=True)


async def _start(request, actor, db, temporal, township_code: str, month: str, *, supplementary: bool) -> Response:
    action = "payroll.supplementary" if supplementary else "payroll.draft"
    if not authz.may(actor, action):
        return render_error(request, 403, authz.denied(actor, action), actor)
    if not valid_month(month) or len(township_code) != 9:
        return await _list(request, actor, db, None, "请填写乡镇（街道）代码和发放月份", 422)
    try:
        body = RunIn(township_code=township_code, month=month)
        state = await service.start_run(db, temporal, actor, body, supplementary=supplementary)
    except ApiError as exc:
        return await _list(request, actor, db, None, exc.message, exc.status)
    if state.payroll_id is None:
        return await _list(request, actor, db, month, NOTHING[supplementary], 200)
    return RedirectResponse(f"/payroll/{state.payroll_id}", status_code=303)


# ---- payment accounts ----------------------------------------------------------------------------------


@router.get("/cases/{case_id}/payment-account")
async def account_page(request: Request, case_id: str, actor: PageActor, db: Db, done: str | None = None) -> Response:
    return await _account(request, actor, db, case_id, done=DONE.get(done or ""))


async def _account(request, actor, db, case_id, *, done=None, error=None, form=None, status=200) -> Response:
    try:
        r = await service.recipient_in_scope(db, actor, case_id, "account.view")
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    await access_log.record(request, actor, Kind.PAYMENT_ACCOUNT, case_id)
    context = {
        "r": r,
        "history": await accounts_repo.history(db, case_id),
        "kind_labels": KIND_LABELS,
        "holder_labels": HOLDER_LABELS,
        "done": done,
        "error": error,
        "form": form or {},
    }
    return _page(request, "payroll/account.html", context, actor, status)


AccountForm = form_model(
    "AccountForm", "bank_name account_number holder_name reason", kind="bank_card", holder_relation="self"
)


@router.post("/cases/{case_id}/payment-account")
async def account_set(
    request: Request, case_id: str, actor: PageActor, db: Db, fields: Annotated[AccountForm, Form()]
) -> Response:
    form = fields.model_dump(exclude={"account_number"})  # the account number is not echoed back
    reason, bank_name = fields.reason, fields.bank_name
    try:
        await service.recipient_in_scope(db, actor, case_id, "account.set")  # role, row and jurisdiction first
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)
    try:
        if len(reason.strip()) < 2:
            raise ApiError(422, "invalid", "请填写变更原因（至少2个字）")
        if len(bank_name.strip()) < 2:
            raise ApiError(422, "invalid", "请填写开户银行")
        body = AccountIn.model_validate(fields.model_dump())
        await service.set_account(db, actor, case_id, body)
    except ApiError as exc:
        return await _account(request, actor, db, case_id, error=exc.message, form=form, status=exc.status)
    except ValueError:
        return await _account(request, actor, db, case_id, error="账户类型或户名关系不正确", form=form, status=422)
    return RedirectResponse(f"/cases/{case_id}/payment-account?done=account", status_code=303)
