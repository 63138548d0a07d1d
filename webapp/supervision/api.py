"""District supervision over HTTP. The ongoing review (动态管理): a caseworker's proposal and an approver's decision
on a household's current review, one route per action of rules/ongoing_actions.py with its payload of
`schemas.supervision.ONGOING_PAYLOADS` (less the actor, the caller); `webapp.supervision.ongoing.perform` is
what the reviews page calls too. A re-check's correction (纠错) closed with its written outcome:
`webapp.supervision.corrections.close`, which the case page's form calls too.

This module has no `from __future__ import annotations`: the action routes use derived body classes, which
FastAPI must see as objects, not names.
"""

from fastapi import APIRouter, Path
from pydantic import BaseModel

from rules.ongoing_actions import ACTIONS, OngoingAction
from schemas.review import APPLICATION_ID
from schemas.supervision import ONGOING_PAYLOADS, OngoingState
from webapp import authz
from webapp.deps import CurrentActor, Db, MaybeTemporal
from webapp.errors import error_responses
from webapp.payloads import body_model, with_actor
from webapp.supervision import corrections, ongoing

CaseId = Path(pattern=APPLICATION_ID, description="保障对象的案件编号")
_ERRORS = error_responses(
    {
        401: "未登录",
        403: "角色或辖区不允许、应当回避、不能审批本人的意见",
        404: "不在辖区内的保障对象",
        409: "尚未到期、已有待审批意见、已办理…",
        422: "数据不合法（中文提示）",
    }
)

router = APIRouter(prefix="/api", tags=["动态管理"])


def _route(action: OngoingAction, model: type[BaseModel]) -> None:
    """`POST /ongoing-reviews/{case_id}/actions/<action>`, with the action's payload (less its actor) as its body."""
    body_type = body_model(model)

    async def act(body: body_type, actor: CurrentActor, db: Db, temporal: MaybeTemporal, case_id: str = CaseId):
        authz.require(actor, "reviews.record")
        return await ongoing.perform(db, temporal, case_id, actor, action, with_actor(model, body, actor))

    router.add_api_route(
        f"/ongoing-reviews/{{case_id}}/actions/{action}",
        act,
        methods=["POST"],
        response_model=OngoingState | None,
        summary=ACTIONS[action].label,
        responses=_ERRORS,
        name=f"ongoing_{action}",
    )


for _action in ACTIONS:
    _route(_action, ONGOING_PAYLOADS[_action])


RecheckId = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{2,80}$", description="抽查复核编号（月份-案件编号）")


@router.post(
    "/corrections/{recheck_id}/close",
    response_model=corrections.CorrectionOut,
    summary="纠错办结：填写纠错处理结果",
    tags=["抽查复核"],
    responses=error_responses(
        {
            401: "未登录",
            403: "角色或辖区不允许、应当回避",
            404: "该纠错不存在",
            409: "该纠错已办结",
            422: "未写明纠错处理结果",
        }
    ),
)
async def close_correction(
    body: corrections.CorrectionClose, actor: CurrentActor, db: Db, recheck_id: str = RecheckId
) -> corrections.CorrectionOut:
    """Send an `Idempotency-Key`: a repeat gets the first answer."""
    return corrections.CorrectionOut.of(await corrections.close(db, actor, recheck_id, body.outcome))
