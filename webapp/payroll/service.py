"""What the payroll pages and API both call, so they refuse alike: a payroll loaded within the caller's
jurisdiction, its check and confirmation (the payroll workflow's updates, whose validators have the last word:
role, status, two people), the bank's return file stored and handed to the workflow, a supplementary run, and
a recipient's payment account (发放账户) set or changed with a reason, which resolves the township's payment
tasks of that recipient."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Literal

import asyncpg
import structlog
from pydantic import BaseModel, Field, ValidationError
from temporalio.client import Client

from db import accounts_repo, cases_repo, payroll_repo, payroll_views_repo, places_repo
from db.payroll_views_repo import PayrollRow, Recipient
from infra.clock import today
from rules.payroll import payroll_workflow_id
from schemas.bank import AccountChange, PaymentAccount, check_holder, guardian_names
from schemas.payroll import (
    BankReturn,
    Month,
    PayrollCheck,
    PayrollConfirm,
    PayrollNames,
    PayrollStart,
    PayrollState,
)
from schemas.review import CaseEvent
from schemas.staff import Actor
from webapp import authz
from webapp.errors import ApiError, chinese_message, forbidden, not_found
from webapp.payroll.bankfile import ReturnFileError, parse_return
from webapp.workflow_calls import connected, query, start_or_attach, update

log = structlog.get_logger("webapp")

NOT_HERE = "该花名册不在您的辖区内"
ENDED = ApiError(409, "closed", "该发放流程已结束，不能再办理")
SLOW = ApiError(504, "timeout", "工作流处理超时，请稍后刷新查看")


async def payroll_row(db: asyncpg.Pool, actor: Actor, payroll_id: int, action: str = "payroll.view") -> PayrollRow:
    """The payroll, if `actor` may take `action` on it: 403 `wrong_role` for the role, 404 if there is none,
    403 `out_of_jurisdiction` for another township's."""
    authz.require(actor, action)
    p = await payroll_views_repo.payroll(db, payroll_id)
    if p is None or p.lines == 0:
        raise not_found("该花名册不存在")
    if not authz.in_scope(actor, action, p.township_code):
        raise forbidden(NOT_HERE, "out_of_jurisdiction")
    return p


class StepIn(BaseModel):
    note: Annotated[str, Field(max_length=500)] = ""


async def act(
    db: asyncpg.Pool,
    temporal: Client | None,
    actor: Actor,
    payroll_id: int,
    action: Literal["check", "confirm"],
    note: str,
) -> PayrollState:
    p = await payroll_row(db, actor, payroll_id, f"payroll.{action}")
    name, model = {"check": (PayrollNames.CHECK, PayrollCheck), "confirm": (PayrollNames.CONFIRM, PayrollConfirm)}[
        action
    ]
    state = await update(
        connected(temporal),
        p.workflow_id,
        name,
        model(actor=actor, note=note.strip()),
        result_type=PayrollState,
        closed=ENDED,
        slow=SLOW,
    )
    log.info("payroll step", action=action, payroll_id=payroll_id, by=actor.username)
    return state


async def bank_return(
    db: asyncpg.Pool, temporal: Client | None, actor: Actor, payroll_id: int, file_name: str, content: bytes
) -> PayrollState:
    """Read the bank's return file, keep its rows, and let the payroll's workflow apply them."""
    p = await payroll_row(db, actor, payroll_id, "payroll.bank")
    if p.status != "confirmed":
        raise ApiError(409, "not_confirmed", "花名册尚未确认，不能导入银行回盘")
    try:
        rows = parse_return(file_name or "return.csv", content)
    except ReturnFileError as exc:
        raise ApiError(422, "invalid", f"回盘文件：{exc}") from None
    client = connected(temporal)
    async with db.acquire() as conn:
        return_id = await payroll_repo.store_return(conn, p.id, file_name[:200] or "return.csv", rows, actor.username)
    state = await update(
        client,
        p.workflow_id,
        PayrollNames.BANK_RETURN,
        BankReturn(actor=actor, return_id=return_id),
        result_type=PayrollState,
        closed=ENDED,
        slow=SLOW,
    )
    log.info("bank return imported", payroll_id=payroll_id, rows=len(rows), by=actor.username)
    return state


class RunIn(BaseModel):
    township_code: Annotated[str, Field(pattern=r"^\d{9}$")]
    month: Month


DRAFT_WAIT_SECONDS = 10.0


async def start_run(
    db: asyncpg.Pool, temporal: Client | None, actor: Actor, body: RunIn, *, supplementary: bool
) -> PayrollState:
    """Start the township's payroll of the month (the Schedule's run does this on the payroll day; a district
    officer may do it at once: the same id, so never a second), or its next supplementary run (what failed or
    was held, its account fixed); its state once drafted. A month later than the current one (Beijing) is refused
    (`future_month`): its roster would be frozen from today's register; so is a month before the system's first
    regular payroll (`before_first_payroll`, `payroll_repo.system_start_after`): the old system paid it."""
    action = "payroll.supplementary" if supplementary else "payroll.draft"
    authz.require(actor, action)
    if not authz.in_scope(actor, action, body.township_code):
        raise forbidden(NOT_HERE, "out_of_jurisdiction")
    place = await places_repo.get_place(db, body.township_code)
    if place is None or place.level != "township":
        raise not_found("该乡镇（街道）不存在")
    first = date.fromisoformat(body.month + "-01")
    current = today().replace(day=1)
    if first > current:
        raise ApiError(
            422,
            "future_month",
            f"不能生成{first:%Y年%m月}的发放花名册：该月尚未到来（当前为{current:%Y年%m月}）",
        )
    start_month = await payroll_repo.system_start_after(db, first)
    if start_month is not None:
        raise ApiError(
            422,
            "before_first_payroll",
            f"不能生成{first:%Y年%m月}的发放花名册：本系统自{start_month:%Y年%m月}起发放，此前的保障金已在原系统发放",
        )
    client = connected(temporal)
    seq = await payroll_views_repo.next_seq(db, body.township_code, first) if supplementary else 0
    wid = payroll_workflow_id(body.township_code, body.month, seq)
    start = PayrollStart(township_code=body.township_code, month=body.month, seq=seq)
    await start_or_attach(client, PayrollNames.WORKFLOW, start, id=wid)
    loop = asyncio.get_running_loop()
    until = loop.time() + DRAFT_WAIT_SECONDS
    while True:
        state = await query(client, wid, PayrollState, name=PayrollNames.STATE, wait=DRAFT_WAIT_SECONDS)
        if state is not None and state.status != "drafting":
            break
        if loop.time() >= until:
            raise ApiError(504, "timeout", "花名册正在生成，请稍后刷新查看")
        await asyncio.sleep(0.2)
    log.info("payroll started", workflow_id=wid, status=state.status, by=actor.username)
    return state


# ---- payment accounts --------------------------------------------------------------------------------------


FIELDS = {"kind": "账户类型", "bank_name": "开户银行", "account_number": "账号", "holder_name": "户名"}


class AccountIn(BaseModel):
    kind: Literal["social_security_card", "bank_card", "yikatong_passbook"]
    bank_name: str
    account_number: str
    holder_name: str
    holder_relation: Literal["self", "guardian"] = "self"
    reason: Annotated[str, Field(min_length=2, max_length=200)]


async def recipient_in_scope(db: asyncpg.Pool, actor: Actor, case_id: str, action: str) -> Recipient:
    authz.require(actor, action)
    r = await payroll_views_repo.recipient(db, case_id)
    if r is None:
        raise not_found("该案件不在保障对象名册中")
    if not authz.in_scope(actor, action, r.township_code):
        raise forbidden("该保障对象不在您的辖区内", "out_of_jurisdiction")
    return r


async def set_account(db: asyncpg.Pool, actor: Actor, case_id: str, body: AccountIn) -> accounts_repo.AccountRow:
    """Validate the account (Luhn for cards; in the recipient's or a guardian's name), make it the current one
    with who and why, log the change on the case (masked), and resolve the recipient's open payment tasks."""
    r = await recipient_in_scope(db, actor, case_id, "account.set")
    try:
        account = PaymentAccount.model_validate(body.model_dump(exclude={"reason"}))
    except ValidationError as exc:
        e = exc.errors()[0]
        where = FIELDS.get(str(e["loc"][0]) if e["loc"] else "", "")
        raise ApiError(422, "invalid", f"{where}：{chinese_message({**e, 'loc': ()})}") from None
    try:
        check_holder(account, r.applicant_name, guardian_names(r.members, today()))
    except ValueError as exc:
        raise ApiError(422, "holder_mismatch", str(exc)) from None
    change = AccountChange(case_id=case_id, account=account, changed_by=actor.username, reason=body.reason.strip())
    async with db.acquire() as conn, conn.transaction():
        changed = await accounts_repo.set_account(conn, change)
        if changed:
            resolved = await payroll_repo.resolve_tasks(conn, case_id, actor.username)
            summary = f"登记发放账户：{account.bank_name} {account.masked}（{change.reason}）"
            await cases_repo.append_events(
                conn,
                [
                    CaseEvent(
                        case_id=case_id,
                        event_key=f"account-{account.masked}-{today()}-{actor.username}",
                        kind="payment_account_set",
                        actor=actor.username,
                        actor_role=actor.role.value,
                        payload={"summary": summary, "tasks_resolved": resolved},
                    )
                ],
            )
    current = await accounts_repo.current(db, case_id)
    assert current is not None
    log.info("payment account set", case_id=case_id, account=account.masked, changed=changed, by=actor.username)
    return current
