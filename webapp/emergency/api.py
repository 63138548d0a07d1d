"""Emergency aid over HTTP: register an event, pay at each tier, escalate, record documents, close;
the funds' ledgers; and the district's view of every open event by township and tier (webapp.emergency.service).

This module has no `from __future__ import annotations`: the action routes use derived body classes, which
FastAPI must see as objects, not names.
"""

from typing import Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from rules.emergency_actions import ACTIONS, EmergencyAction
from schemas.emergency import EMERGENCY_PAYLOADS, EVENT_ID, EmergencyAck
from schemas.staff import PLACE_CODE
from webapp import access_log
from webapp.access_log import Kind
from webapp.deps import CurrentActor, Db, MaybeTemporal
from webapp.emergency import service
from webapp.emergency.models import EmergencyDetail, EmergencyIn, EmergencyList, FundLedger, IncomeIn
from webapp.errors import error_responses
from webapp.payloads import body_model

EventId = Path(pattern=EVENT_ID, description="急难事件编号")
PlaceCode = Path(pattern=PLACE_CODE)
_ERRORS = error_responses(
    {
        401: "未登录",
        403: "角色或辖区不允许",
        404: "不存在",
        409: "超出封顶、层级不对、资金不足、事件已办结…",
        422: "数据不合法（中文提示）",
    }
)

router = APIRouter(prefix="/api", tags=["救急难"])


@router.post("/emergencies", status_code=201, response_model=EmergencyDetail, summary="登记急难事件", responses=_ERRORS)
async def register(body: EmergencyIn, response: Response, actor: CurrentActor, db: Db, temporal: MaybeTemporal):
    """Village cadres register for their village, township staff for their township; help can follow at once."""
    detail, created = await service.register(db, temporal, body, actor)
    if not created:
        response.status_code = 200
    return detail


@router.get("/emergencies", response_model=EmergencyList, summary="急难事件（按乡镇、层级汇总）", responses=_ERRORS)
async def list_emergencies(
    actor: CurrentActor,
    db: Db,
    township: str | None = Query(None, pattern=r"^\d{9}$"),
    tier: Literal["village", "township", "district"] | None = None,
    status: Literal["open", "closed"] | None = "open",
    page: int = Query(1, ge=1, le=100_000),
    page_size: int = Query(50, ge=1, le=200),
) -> EmergencyList:
    return await service.list_events(db, actor, township, tier, status, page, page_size)


@router.get("/emergencies/{event_id}", response_model=EmergencyDetail, summary="急难事件详情", responses=_ERRORS)
async def get_emergency(
    request: Request, actor: CurrentActor, db: Db, temporal: MaybeTemporal, event_id: str = EventId
):
    detail = await service.event_detail(db, temporal, event_id, actor)
    await access_log.record(request, actor, Kind.EMERGENCY, event_id)
    return detail


def _route(action: EmergencyAction, model: type[BaseModel]) -> None:
    """`POST /emergencies/{event_id}/actions/<action>`, with the action's payload (less its actor) as its body."""
    body_type = body_model(model)

    async def act(body: body_type, actor: CurrentActor, db: Db, temporal: MaybeTemporal, event_id: str = EventId):
        return await service.perform(db, temporal, event_id, actor, action, body)

    router.add_api_route(
        f"/emergencies/{{event_id}}/actions/{action}",
        act,
        methods=["POST"],
        response_model=EmergencyAck,
        summary=ACTIONS[action].label,
        responses=_ERRORS,
        name=f"emergency_{action}",
    )


for _action in ACTIONS:
    _route(_action, EMERGENCY_PAYLOADS[_action])


@router.get(
    "/funds/{place_code}", response_model=FundLedger, summary="救助资金台账（余额即台账合计）", responses=_ERRORS
)
async def fund_ledger(
    actor: CurrentActor,
    db: Db,
    place_code: str = PlaceCode,
    page: int = Query(1, ge=1, le=100_000),
) -> FundLedger:
    return await service.fund_ledger(db, place_code, actor, page)


@router.post(
    "/funds/{place_code}/income", status_code=201, response_model=FundLedger, summary="资金入账", responses=_ERRORS
)
async def add_income(body: IncomeIn, actor: CurrentActor, db: Db, place_code: str = PlaceCode) -> FundLedger:
    return await service.add_income(db, place_code, body, actor)
