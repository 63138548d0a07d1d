"""The monthly payroll over HTTP: payrolls within the caller's jurisdiction, one roster (accounts and ID numbers
masked), the township's check and the district's confirmation, the bank file (district officers, confirmed
payrolls only), the bank's return file, a supplementary run, and a recipient's payment account. Errors are
`{"code","message"}`; every POST takes an `Idempotency-Key` (the Temporal update's id)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from db import accounts_repo, payroll_views_repo
from schemas.bank import HOLDER_LABELS, KIND_LABELS
from schemas.identity import mask_id
from schemas.payroll import Month, PayrollState
from schemas.review import APPLICATION_ID
from webapp import access_log, authz, uploads
from webapp.access_log import Kind
from webapp.deps import CurrentActor, Db, MaybeTemporal
from webapp.errors import ApiError, error_responses
from webapp.payroll import bankfile, service
from webapp.payroll.service import AccountIn, RunIn, StepIn

router = APIRouter(prefix="/api", tags=["发放"])
PayrollId = Path(ge=1, le=2**62, description="花名册编号")
CaseId = Path(pattern=APPLICATION_ID, description="保障对象的案件编号")
_ERRORS = error_responses(
    {
        401: "未登录",
        403: "角色或辖区不允许；审核人不能再确认（same_person）",
        404: "不存在",
        409: "状态不允许：尚未审核、已确认…",
        422: "数据不合法（中文提示）",
    }
)


class PayrollSummary(BaseModel):
    id: int
    township_code: str
    township_name: str
    month: str
    seq: int
    status: str
    lines: int
    amount_fen: int
    held_lines: int
    held_fen: int
    paid: int
    failed: int
    checked_by: str | None
    checked_at: datetime | None
    confirmed_by: str | None
    confirmed_at: datetime | None

    @classmethod
    def of(cls, p: payroll_views_repo.PayrollRow) -> PayrollSummary:
        return cls.model_validate(p.__dict__ | {"month": f"{p.month:%Y-%m}"})


class LineOut(BaseModel):
    case_id: str
    holder_name: str
    id_number_masked: str
    bank_name: str | None
    account_masked: str | None = Field(description="无账户（暂不发放）时为空")
    for_month: date
    amount_fen: int
    note: str
    result: str | None = Field(description="paid 成功、failed 失败；尚无回盘结果时为空")
    reason: str | None


class PayrollOut(PayrollSummary):
    lines_detail: list[LineOut]


@router.get("/payrolls", response_model=list[PayrollSummary], summary="发放花名册列表", responses=_ERRORS)
async def payrolls(actor: CurrentActor, db: Db, month: Annotated[Month | None, Query()] = None):
    authz.require(actor, "payroll.view")
    first = date.fromisoformat(month + "-01") if month else None
    return [PayrollSummary.of(p) for p in await payroll_views_repo.payrolls_within(db, actor.place_code, first)]


@router.get(
    "/payrolls/{payroll_id}", response_model=PayrollOut, summary="发放花名册（账号、身份证号已遮蔽）", responses=_ERRORS
)
async def payroll(request: Request, actor: CurrentActor, db: Db, payroll_id: int = PayrollId):
    p = await service.payroll_row(db, actor, payroll_id)
    lines = [
        LineOut.model_validate(line.__dict__ | {"id_number_masked": mask_id(line.id_number)})
        for line in await payroll_views_repo.lines(db, payroll_id)
    ]
    await access_log.record(request, actor, Kind.PAYROLL, p.workflow_id)
    return PayrollOut.model_validate(PayrollSummary.of(p).model_dump() | {"lines_detail": lines})


@router.post(
    "/payrolls/{payroll_id}/check", response_model=PayrollState, summary="乡镇（街道）审核花名册", responses=_ERRORS
)
async def check(body: StepIn, actor: CurrentActor, db: Db, temporal: MaybeTemporal, payroll_id: int = PayrollId):
    return await service.act(db, temporal, actor, payroll_id, "check", body.note)


@router.post(
    "/payrolls/{payroll_id}/confirm",
    response_model=PayrollState,
    summary="区民政局确认发放（与审核人不同）",
    responses=_ERRORS,
)
async def confirm(body: StepIn, actor: CurrentActor, db: Db, temporal: MaybeTemporal, payroll_id: int = PayrollId):
    return await service.act(db, temporal, actor, payroll_id, "confirm", body.note)


BUILDERS = {"csv": (bankfile.csv_bytes, "text/csv; charset=utf-8"), "xlsx": (bankfile.xlsx_bytes, bankfile.XLSX)}


async def bank_file_response(request: Request, actor, db, payroll_id: int, suffix: str) -> Response:
    """The bank file of a confirmed payroll (the only place full account numbers leave the database)."""
    p = await service.payroll_row(db, actor, payroll_id, "payroll.bank")
    if p.status != "confirmed":
        raise ApiError(409, "not_confirmed", "花名册确认后才能下载银行发放文件")
    lines = await payroll_views_repo.bank_lines(db, payroll_id)
    build, media = BUILDERS[suffix]
    body = await run_in_threadpool(build, p, lines)
    name = bankfile.file_name(p, suffix)
    await access_log.record(request, actor, Kind.EXPORT_BANK_FILE, p.workflow_id, detail=name)
    return Response(
        body,
        media_type=media,
        headers={"content-disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


@router.get(
    "/payrolls/{payroll_id}/bank-file.{suffix}",
    summary="下载银行发放文件（CSV 或 Excel）",
    responses=_ERRORS | {200: {"description": "CSV 或 .xlsx"}},
)
async def bank_file(
    request: Request,
    actor: CurrentActor,
    db: Db,
    payroll_id: int = PayrollId,
    suffix: str = Path(pattern="^(csv|xlsx)$"),
) -> Response:
    return await bank_file_response(request, actor, db, payroll_id, suffix)


class ReturnIn(BaseModel):
    file_name: Annotated[str, Field(min_length=1, max_length=200, description="以 .csv 或 .xlsx 结尾")]
    content_base64: Annotated[str, Field(min_length=4, description="文件内容，Base64 编码")]


def decoded(content_base64: str) -> bytes:
    """A bank return file's bytes (the API's body and the page's form)."""
    return uploads.decoded(content_base64, "回盘文件内容不是有效的 Base64 编码")


@router.post(
    "/payrolls/{payroll_id}/bank-return", response_model=PayrollState, summary="导入银行回盘文件", responses=_ERRORS
)
async def bank_return(
    body: ReturnIn, actor: CurrentActor, db: Db, temporal: MaybeTemporal, payroll_id: int = PayrollId
):
    return await service.bank_return(db, temporal, actor, payroll_id, body.file_name, decoded(body.content_base64))


@router.post(
    "/payrolls",
    response_model=PayrollState,
    summary="生成乡镇（街道）当月发放花名册（每月发放日自动生成）",
    responses=_ERRORS,
)
async def run(body: RunIn, actor: CurrentActor, db: Db, temporal: MaybeTemporal):
    return await service.start_run(db, temporal, actor, body, supplementary=False)


@router.post("/payrolls/supplementary", response_model=PayrollState, summary="发起补充发放", responses=_ERRORS)
async def supplementary(body: RunIn, actor: CurrentActor, db: Db, temporal: MaybeTemporal):
    return await service.start_run(db, temporal, actor, body, supplementary=True)


class AccountOut(BaseModel):
    kind: str
    kind_label: str
    bank_name: str
    account_masked: str
    holder_name: str
    holder_relation: str
    holder_label: str
    changed_by: str
    reason: str
    created_at: datetime
    superseded_at: datetime | None

    @classmethod
    def of(cls, row: accounts_repo.AccountRow) -> AccountOut:
        a = row.account
        return cls(
            kind=a.kind,
            kind_label=KIND_LABELS[a.kind],
            bank_name=a.bank_name,
            account_masked=a.masked,
            holder_name=a.holder_name,
            holder_relation=a.holder_relation,
            holder_label=HOLDER_LABELS[a.holder_relation],
            changed_by=row.changed_by,
            reason=row.reason,
            created_at=row.created_at,
            superseded_at=row.superseded_at,
        )


@router.get(
    "/cases/{case_id}/payment-account",
    response_model=list[AccountOut],
    summary="发放账户及变更记录（账号已遮蔽，最新在前）",
    responses=_ERRORS,
)
async def account(request: Request, actor: CurrentActor, db: Db, case_id: str = CaseId):
    await service.recipient_in_scope(db, actor, case_id, "account.view")
    await access_log.record(request, actor, Kind.PAYMENT_ACCOUNT, case_id)
    return [AccountOut.of(r) for r in await accounts_repo.history(db, case_id)]


@router.post(
    "/cases/{case_id}/payment-account",
    response_model=AccountOut,
    summary="登记或变更发放账户（须说明原因）",
    responses=_ERRORS,
)
async def set_account(body: AccountIn, actor: CurrentActor, db: Db, case_id: str = CaseId):
    return AccountOut.of(await service.set_account(db, actor, case_id, body))
