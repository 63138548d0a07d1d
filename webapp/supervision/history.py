"""Supervisor history of a case (`/cases/{case_id}/history`) and the case file for an inspection
(`/cases/{case_id}/casefile.pdf`).

Two records side by side: the database event log (`case_events`, written by the workflow's
activities, plus refused attempts) and the Temporal history of the case's workflow, rendered in the
app: each event's type and time, and for activities, updates, signals, timers and child workflows
their names; an update also shows who sent it (the `actor` of its input). The Temporal side can
also show the household's ongoing-review workflow, every run of it (each cycle continues it as new), and the
case's re-checks. Filters by actor and
Beijing date apply to both sides.

Readers: district officers and supervisors, and the township staff of the case's township
(`case_row` checks the jurisdiction). ID numbers in the case file follow the case page's rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError

from db import cases_repo, events_repo, households_repo, places_repo, recipients_repo, supervision_repo, users_repo
from db.cases_repo import CaseRow
from db.events_repo import LoggedEvent, barred_staff
from infra import clock
from infra.clock import BEIJING
from rules.stages import STAGE_LABELS
from schemas.identity import mask_id
from schemas.labels import category_label
from schemas.people import RELATION_LABELS
from schemas.staff import ROLE_LABELS, Actor
from schemas.supervision import ongoing_workflow_id
from webapp import access_log, authz
from webapp.access_log import Kind
from webapp.deps import AppSettings, Db, MaybeTemporal, PageActor
from webapp.documents.pdf import documents_print, with_pdf_pages
from webapp.errors import ApiError
from webapp.render import render_error
from webapp.review.cases import CaseId, case_row, shows_full_ids
from webapp.supervision.common import beijing, page, yuan
from webapp.supervision.pdf import CaseFilePrint, case_file_pdf
from webapp.workflow_calls import QUERY_TIMEOUT

log = structlog.get_logger("webapp")
router = APIRouter(include_in_schema=False)

# Temporal's event types in words; workflow-task events are the SDK's bookkeeping, hidden unless asked.
EVENT_LABELS = {
    "WORKFLOW_EXECUTION_STARTED": "工作流启动",
    "WORKFLOW_EXECUTION_COMPLETED": "工作流完成",
    "WORKFLOW_EXECUTION_FAILED": "工作流失败",
    "WORKFLOW_EXECUTION_TIMED_OUT": "工作流超时",
    "WORKFLOW_EXECUTION_CANCEL_REQUESTED": "请求取消工作流",
    "WORKFLOW_EXECUTION_CANCELED": "工作流已取消",
    "WORKFLOW_EXECUTION_TERMINATED": "工作流被终止",
    "WORKFLOW_EXECUTION_CONTINUED_AS_NEW": "继续为新运行",
    "WORKFLOW_EXECUTION_SIGNALED": "收到信号",
    "WORKFLOW_EXECUTION_UPDATE_ADMITTED": "收到办理请求",
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED": "受理办理请求",
    "WORKFLOW_EXECUTION_UPDATE_REJECTED": "拒绝办理请求",
    "WORKFLOW_EXECUTION_UPDATE_COMPLETED": "办理请求完成",
    "WORKFLOW_TASK_SCHEDULED": "工作流任务排队",
    "WORKFLOW_TASK_STARTED": "工作流任务开始",
    "WORKFLOW_TASK_COMPLETED": "工作流任务完成",
    "WORKFLOW_TASK_FAILED": "工作流任务失败",
    "WORKFLOW_TASK_TIMED_OUT": "工作流任务超时",
    "ACTIVITY_TASK_SCHEDULED": "安排活动",
    "ACTIVITY_TASK_STARTED": "活动开始",
    "ACTIVITY_TASK_COMPLETED": "活动完成",
    "ACTIVITY_TASK_FAILED": "活动失败",
    "ACTIVITY_TASK_TIMED_OUT": "活动超时",
    "ACTIVITY_TASK_CANCEL_REQUESTED": "请求取消活动",
    "ACTIVITY_TASK_CANCELED": "活动已取消",
    "TIMER_STARTED": "启动计时器",
    "TIMER_FIRED": "计时器到期",
    "TIMER_CANCELED": "计时器取消",
    "START_CHILD_WORKFLOW_EXECUTION_INITIATED": "启动子工作流",
    "START_CHILD_WORKFLOW_EXECUTION_FAILED": "子工作流启动失败",
    "CHILD_WORKFLOW_EXECUTION_STARTED": "子工作流已启动",
    "CHILD_WORKFLOW_EXECUTION_COMPLETED": "子工作流完成",
    "CHILD_WORKFLOW_EXECUTION_FAILED": "子工作流失败",
    "CHILD_WORKFLOW_EXECUTION_TERMINATED": "子工作流被终止",
    "MARKER_RECORDED": "记录标记",
    "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": "更新检索属性",
    "WORKFLOW_PROPERTIES_MODIFIED": "更新工作流属性",
}
WORKFLOW_LABELS = {"review": "审核确认流程", "ongoing": "动态管理复核流程", "recheck": "抽查复核流程"}
TASK_EVENTS = {"WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED"}
# Kinds of the database log that are decisions on the household (the case file lists them apart).
DECISION_KINDS = {
    "decision": "审核确认",
    "refused": "不予批准",
    "notice_started": "公示",
    "objection": "公示异议",
    "enrolled": "纳入保障",
    "withdraw": "撤回申请",
    "terminate": "终止审核",
    "recheck_upheld": "抽查复核：维持",
    "correction_opened": "抽查复核：开启纠错",
    "correction_closed": "抽查复核：纠错办结",
    "ongoing_review_continue": "动态管理：继续保障",
    "ongoing_review_adjust": "动态管理：调整金额",
    "ongoing_review_stop": "动态管理：停发",
}


@dataclass
class TemporalEvent:
    id: int
    at: datetime
    type: str
    name: str = ""
    detail: str = ""
    actor: str | None = None

    @property
    def label(self) -> str:
        return EVENT_LABELS.get(self.type, self.type)

    @property
    def task(self) -> bool:
        return self.type in TASK_EVENTS


@dataclass
class WorkflowRun:
    """One run of a workflow and the cycle its input names, with that cycle's due day (an ongoing review continues
    as new at each cycle); `number` counts the runs shown, from 1."""

    number: int
    cycle: int | None
    due_on: str | None
    events: list[TemporalEvent]


async def _first_argument(client: Client, payloads: Payloads) -> dict | None:
    """The first argument of a start or an update, decoded with the client's converter, if it is an object."""
    try:
        values = await client.data_converter.decode(list(payloads.payloads))
    except (ValueError, RuntimeError):
        return None
    first = values[0] if values else None
    return first if isinstance(first, dict) else None


async def _sender(client: Client, payloads: Payloads) -> str | None:
    """Who sent an update: the user name in its input's `actor`."""
    first = await _first_argument(client, payloads)
    actor = first.get("actor") if first else None
    return actor.get("username") if isinstance(actor, dict) else None


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    return (f"{days} 天 " if days else "") + f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


async def _history(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory | None:
    """A run's history (the latest run's without `run_id`); None if it cannot be read now."""
    try:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        return await handle.fetch_history(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as exc:
        log.warning("history read failed", workflow_id=workflow_id, run_id=run_id, error=str(exc))
        return None


async def temporal_events(client: Client, workflow_id: str) -> list[TemporalEvent] | None:
    """The workflow's (latest run's) history in readable form; None if it cannot be read now."""
    history = await _history(client, workflow_id)
    return None if history is None else await _readable(client, history)


async def workflow_runs(client: Client, workflow_id: str) -> tuple[list[WorkflowRun], bool] | None:
    """Every run of the workflow in order, each with its events and the cycle its input names: the latest run, then
    the run it continued as new from, back to the first. Also whether a run is missing before the first shown
    (past the server's retention: the database log keeps it). None if the latest run cannot be read now."""
    found: list[tuple[dict, list[TemporalEvent]]] = []
    run_id: str | None = None
    missing = False
    while True:
        history = await _history(client, workflow_id, run_id)
        if history is None:
            if not found:
                return None
            missing = True
            break
        started = history.events[0].workflow_execution_started_event_attributes if history.events else None
        start = await _first_argument(client, started.input) if started else None
        found.append((start or {}, await _readable(client, history)))
        run_id = started.continued_execution_run_id if started else ""
        if not run_id:
            break
    runs = [
        WorkflowRun(number, start.get("cycle"), start.get("due_on"), events)
        for number, (start, events) in enumerate(reversed(found), 1)
    ]
    return runs, missing


async def _readable(client: Client, history: WorkflowHistory) -> list[TemporalEvent]:
    """A run's history in readable form."""
    scheduled: dict[int, str] = {}  # activity / child workflow: initiating event id -> name
    updates: dict[int, tuple[str, str | None]] = {}  # accepted event id -> (update name, sender)
    out = []
    for e in history.events:
        kind = EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
        field = e.WhichOneof("attributes")
        a: Any = getattr(e, field) if field else None
        ev = TemporalEvent(id=e.event_id, at=beijing(e.event_time.ToDatetime(tzinfo=UTC)), type=kind)
        if kind == "WORKFLOW_EXECUTION_STARTED":
            ev.name = a.workflow_type.name
            ev.actor = await _sender(client, a.input)
        elif kind in ("WORKFLOW_EXECUTION_FAILED", "WORKFLOW_TASK_FAILED"):
            ev.detail = a.failure.message
        elif kind == "WORKFLOW_EXECUTION_TERMINATED":
            ev.detail = a.reason
        elif kind == "WORKFLOW_EXECUTION_CONTINUED_AS_NEW":
            ev.detail = f"新运行 {a.new_execution_run_id}"
        elif kind == "ACTIVITY_TASK_SCHEDULED":
            ev.name = scheduled[e.event_id] = a.activity_type.name
        elif kind.startswith("ACTIVITY_TASK_"):
            ev.name = scheduled.get(a.scheduled_event_id, "")
            if kind == "ACTIVITY_TASK_STARTED" and a.attempt > 1:
                ev.detail = f"第 {a.attempt} 次尝试"
            elif kind in ("ACTIVITY_TASK_FAILED", "ACTIVITY_TASK_TIMED_OUT"):
                ev.detail = a.failure.message
        elif kind == "TIMER_STARTED":
            ev.name, ev.detail = a.timer_id, _duration(a.start_to_fire_timeout.ToTimedelta().total_seconds())
        elif kind in ("TIMER_FIRED", "TIMER_CANCELED"):
            ev.name = a.timer_id
        elif kind == "WORKFLOW_EXECUTION_SIGNALED":
            ev.name = a.signal_name
        elif kind == "WORKFLOW_EXECUTION_UPDATE_ADMITTED":
            ev.name = a.request.input.name
        elif kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            ev.name, ev.actor = a.accepted_request.input.name, await _sender(client, a.accepted_request.input.args)
            updates[e.event_id] = (ev.name, ev.actor)
        elif kind == "WORKFLOW_EXECUTION_UPDATE_REJECTED":
            ev.name, ev.detail = a.rejected_request.input.name, a.failure.message
        elif kind == "WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            ev.name, ev.actor = updates.get(a.accepted_event_id, ("", None))
            ev.detail = f"失败：{a.outcome.failure.message}" if a.outcome.HasField("failure") else "成功"
        elif kind == "START_CHILD_WORKFLOW_EXECUTION_INITIATED":
            scheduled[e.event_id] = a.workflow_type.name
            ev.name, ev.detail = a.workflow_type.name, a.workflow_id
        elif kind.startswith(("CHILD_WORKFLOW_EXECUTION_", "START_CHILD_WORKFLOW_EXECUTION_FAILED")):
            ev.name = a.workflow_type.name
        elif kind == "MARKER_RECORDED":
            ev.name = a.marker_name
        elif kind == "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES":
            ev.detail = "、".join(a.search_attributes.indexed_fields.keys())
        out.append(ev)
    return out


def _day(text: str) -> date | None:
    """A date filter as the form sends it: empty means no bound."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ApiError(422, "invalid", "日期格式不正确（应为YYYY-MM-DD）") from None


def _in_range(at: datetime, start: date | None, end: date | None) -> bool:
    day = at.astimezone(BEIJING).date()
    return (start is None or day >= start) and (end is None or day <= end)


async def _workflows(db: asyncpg.Pool, row: CaseRow) -> list[tuple[str, str, str]]:
    """The case's workflows an inspector may want: the review itself, the household's ongoing review,
    every re-check of the case; as (workflow id, what it is, month of a re-check)."""
    found = [(row.workflow_id, WORKFLOW_LABELS["review"], "")]
    if await recipients_repo.is_under_review(db, row.case_id):
        found.append((ongoing_workflow_id(row.case_id), WORKFLOW_LABELS["ongoing"], ""))
    for r in await supervision_repo.rechecks_of_case(db, row.case_id):
        found.append((r.workflow_id, WORKFLOW_LABELS["recheck"], r.month))
    return found


async def _case(request: Request, actor: Actor, db: asyncpg.Pool, case_id: str) -> CaseRow | Response:
    try:
        authz.require(actor, "case.history")
        return await case_row(db, case_id, actor)
    except ApiError as exc:
        return render_error(request, exc.status, exc.message, actor)


@router.get("/cases/{case_id}/history")
async def history(
    request: Request,
    case_id: CaseId,
    actor: PageActor,
    db: Db,
    client: MaybeTemporal,
    settings: AppSettings,
    who: Annotated[str, Query(alias="actor", max_length=64)] = "",
    start_text: Annotated[str, Query(alias="from")] = "",
    end_text: Annotated[str, Query(alias="to")] = "",
    workflow: str = "",
    tasks: bool = False,
) -> Response:
    row = await _case(request, actor, db, case_id)
    if isinstance(row, Response):
        return row
    await access_log.record(request, actor, Kind.CASE_HISTORY, case_id)
    start, end = _day(start_text), _day(end_text)
    workflows = await _workflows(db, row)
    chosen = workflow if workflow in {w[0] for w in workflows} else row.workflow_id
    events = await events_repo.event_log(db, case_id)
    refused = await events_repo.refused_on(db, case_id)
    read = await workflow_runs(client, chosen) if client is not None else None
    runs, missing = read if read is not None else ([], False)
    flow = [e for run in runs for e in run.events]
    people = {e.actor: e.actor_name or e.actor for e in events if e.actor}
    people |= {r.username: r.full_name for r in refused}
    senders = {e.actor for e in flow if e.actor and e.actor not in people}
    if senders:
        people |= await users_repo.full_names(db, senders)

    def keep(by: str | None, at: datetime) -> bool:
        return (not who or by == who) and _in_range(at, start, end)

    shown = [replace(r, events=[e for e in r.events if (tasks or not e.task) and keep(e.actor, e.at)]) for r in runs]
    namespace = client.namespace if client is not None else settings.temporal_namespace
    context = {
        "section": None,
        "case": row,
        "type_label": row.assistance_type.label,
        "stage_labels": STAGE_LABELS,
        "events": [e for e in events if keep(e.actor, e.occurred_at)],
        "refused": [r for r in refused if keep(r.username, r.at)],
        "runs": None if read is None else shown,
        "flow_shown": sum(len(r.events) for r in shown),
        "runs_missing": missing,  # earlier runs past the server's retention
        "flow_total": len(flow),
        "workflows": workflows,
        "workflow": chosen,
        "people": dict(sorted(people.items())),
        "filters": {"actor": who, "from": start, "to": end, "tasks": tasks},
        "role_labels": ROLE_LABELS,
        # a developer's tool showing whole ID numbers: administrators only (issue 17.4)
        "temporal_url": f"{settings.temporal_ui_url}/namespaces/{namespace}/workflows/{chosen}"
        if authz.may(actor, "temporal.ui")
        else None,
    }
    return page(request, "supervision/history.html", context, actor)


# ---- the case file -------------------------------------------------------------------------------------


def _audience(text: str, names: dict[str, str]) -> str:
    """'applicant', 'user:<name>' or 'role:<role>@<place>' in words."""
    if text == "applicant":
        return "申请人"
    if text.startswith("user:"):
        return names.get(text[5:], text[5:])
    role, _, place = text.removeprefix("role:").partition("@")
    return f"{ROLE_LABELS.get(role, role)}（{names.get(place, place)}）"


def _when(at: datetime) -> str:
    return f"{beijing(at):%Y-%m-%d %H:%M}"


async def case_file_data(db: asyncpg.Pool, client: Client | None, row: CaseRow, actor: Actor) -> CaseFilePrint:
    """Everything the case file prints, read from the database and the workflow's history."""
    case_id = row.case_id
    events = await events_repo.event_log(db, case_id)
    barred = barred_staff(events)
    full = shows_full_ids(actor, row)
    household = await households_repo.household_of_case(db, case_id)
    members = household.members if household else []
    notices = await cases_repo.notices_of(db, case_id)
    names = await places_repo.names(db) | await users_repo.full_names(db)
    refused = await events_repo.refused_on(db, case_id)
    visit = next((e for e in events if e.kind == "home_visit" and e.by_district), None)
    flow = await temporal_events(client, row.workflow_id) if client is not None else None
    amount = row.monthly_amount_fen  # as the register has it now
    held = "" if amount is None else f"{category_label(row.category)} 每月 {yuan(amount)} 元".strip()
    if row.benefit_status == "stopped" and row.benefit_stopped_at is not None:
        held += f"（已于 {beijing(row.benefit_stopped_at):%Y-%m-%d} 停发）"
    facts = [
        ("救助类型", row.assistance_type.label),
        ("申请人", f"{row.applicant_name}（{row.applicant_id_masked}）"),
        ("所在地", row.township_name + (f" {row.village_name}" if row.village_name else "")),
        ("受理时间", _when(row.accepted_at)),
        ("办结时限", f"{row.deadline or '—'}{'（暂定）' if row.deadline_provisional else ''}"),
        ("当前环节", STAGE_LABELS.get(row.stage, row.stage)),
        ("审核确认时间", _when(row.decided_at) if row.decided_at else "—"),
        ("保障类别与金额", held or "—"),
        ("办理层级", "区民政局" if row.handled_by == "district" else "乡镇（街道）"),
        ("政策版本", str(row.policy_version)),
    ]
    recusal = []
    if barred:
        recusal.append("回避人员：" + "、".join(f"{b['full_name']}（{b['reason']}）" for b in barred))
        recusal.append("区民政局入户调查：" + (_when(visit.occurred_at) if visit else "尚未进行"))
    recusal += [f"{_when(r.at)} {r.full_name} 试图办理被拒绝：{r.message}" for r in refused]

    def who(e: LoggedEvent) -> str:
        return e.actor_name or e.actor or "系统"

    return CaseFilePrint(
        case_id=case_id,
        facts=facts,
        members=[
            [m.name, RELATION_LABELS.get(m.relation, m.relation), m.id_number if full else mask_id(m.id_number)]
            for m in members
        ],
        masked=not full,
        recused=actor.username in row.barred_users,
        timeline=[
            [_when(e.occurred_at), STAGE_LABELS.get(e.stage, e.stage or ""), who(e), e.summary or e.kind]
            for e in events
        ],
        decisions=[
            [_when(e.occurred_at), DECISION_KINDS[e.kind], who(e), e.summary or ""]
            for e in events
            if e.kind in DECISION_KINDS
        ],
        notices=[[_when(n.created_at), _audience(n.audience, names), n.subject, n.body] for n in notices],
        recusal=recusal,
        temporal=None if flow is None else [_flow_line(e, names) for e in flow if not e.task],
        workflow_id=row.workflow_id,
    )


def _flow_line(e: TemporalEvent, names: dict[str, str]) -> list[str]:
    sender = names.get(e.actor, e.actor) if e.actor else ""
    return [str(e.id), _when(e.at), e.label, " ".join(x for x in (e.name, sender, e.detail) if x)]


@router.get("/cases/{case_id}/casefile.pdf")
async def case_file(
    request: Request, case_id: CaseId, actor: PageActor, db: Db, client: MaybeTemporal, settings: AppSettings
) -> Response:
    """The whole file of a case for an inspection, as the viewer may see it."""
    row = await _case(request, actor, db, case_id)
    if isinstance(row, Response):
        return row
    await access_log.record(request, actor, Kind.CASE_FILE_PDF, case_id)
    printed = await case_file_data(db, client, row, actor)
    if not printed.recused:
        printed.documents = await documents_print(db, settings, case_id, row.policy_version)
    body = await run_in_threadpool(case_file_pdf, printed, actor.full_name, clock.now())
    body = await run_in_threadpool(with_pdf_pages, body, printed.documents)
    log.info("case file printed", case_id=case_id, by=actor.username, masked=printed.masked)
    return Response(
        body,
        media_type="application/pdf",
        headers={"content-disposition": f'inline; filename="casefile-{case_id}.pdf"', "cache-control": "no-store"},
    )
