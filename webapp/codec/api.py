"""The codec server of the Temporal Web UI (`POST /api/codec/decode`, `/api/codec/encode`), on the web app's
log-in and jurisdiction.

Temporal holds only encrypted payloads (infra/codec.py). The Web UI, configured with this endpoint (`jiuzhu up`:
`--ui-codec-endpoint`; deploy/: `TEMPORAL_CODEC_ENDPOINT`), posts a history's payloads here from the browser as
protobuf JSON (`{"payloads": [...]}`, the namespace in `X-Namespace`) with the staff member's session cookie
(`TEMPORAL_CODEC_INCLUDE_CREDENTIALS`; in the dev server's UI, "include cross-origin credentials" in its codec
settings), and shows what comes back.

Who: the readers of case histories (`workflow.decode`: township caseworkers and approvers, district officers and
supervisors); anyone else 401 / 403. Where: each encrypted payload names the workflow it was sealed for (bound
into the seal, so it cannot be relabelled); that workflow's row (case, emergency, request, referral, complaint,
re-check: `db.workflows_repo`) must lie in the reader's jurisdiction (a complaint never for the person it is
about), or the whole call is refused (403 `out_of_jurisdiction`); staff kept away from a case or emergency event by
its relatives check (webapp/recusal.py) are refused its payloads too (403 `recused`), as they are its documents.
Payloads of no one place, or sealed without a workflow, are the district's. Payloads not encrypted come back as they
are.

CORS: only the Web UI's origin (`TEMPORAL_UI_URL`) is answered, with credentials; pre-flights are answered by
`CodecCors` before any log-in or CSRF check. The calls are JSON under `/api/`, which asgi-csrf lets through
(webapp/csrf.py): a cross-site form cannot send them, and no other origin gets a pre-flight granted.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client

from db import workflows_repo
from infra.codec import PayloadDecryptError, PayloadKeyError, is_encrypted, key_ring, workflow_of
from infra.config import Settings
from infra.temporal import CODEC_PATH
from rules.access import within
from rules.recusal import names_person
from schemas.staff import Actor
from webapp import access_log, authz
from webapp.access_log import Kind
from webapp.deps import AppSettings, Db, MaybeTemporal, permitted
from webapp.errors import ApiError, forbidden
from webapp.recusal import RECUSED, barred_at

router = APIRouter(prefix=CODEC_PATH, include_in_schema=False)

MAX_PAYLOADS = 2000  # a long history's page of events holds far fewer
ELSEWHERE = "该工作流不在您的辖区内"
DISTRICT_ONLY = "该工作流的数据仅限区级人员查看"

Reader = Annotated[Actor, permitted("workflow.decode")]


async def _payloads(request: Request, settings: Settings) -> list[Payload]:
    namespace = request.headers.get("x-namespace")
    if namespace and namespace != settings.temporal_namespace:
        raise ApiError(404, "not_found", "没有这个命名空间")
    try:
        message = json_format.Parse(await request.body(), Payloads())
    except (json_format.ParseError, UnicodeDecodeError) as e:
        raise ApiError(422, "invalid_payloads", "请求内容不是有效的 Payloads JSON") from e
    if len(message.payloads) > MAX_PAYLOADS:
        raise ApiError(413, "too_many_payloads", f"一次最多 {MAX_PAYLOADS} 个")
    return list(message.payloads)


def _answer(payloads: list[Payload]) -> Response:
    body = json_format.MessageToJson(Payloads(payloads=payloads), indent=None)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


async def check_readable(db: asyncpg.Pool, temporal: Client | None, actor: Actor, workflow_id: str | None) -> None:
    """403 unless `actor` may read the payloads of `workflow_id` (None: sealed without a workflow): within their
    jurisdiction, not a complaint about them, not a case or event they are kept away from (回避)."""
    where = await workflows_repo.workflow_place(db, workflow_id) if workflow_id else None
    if where is None:
        if not authz.may(actor, "workflow.decode_unbound"):  # the district's staff, of this deployment's district
            raise forbidden(DISTRICT_ONLY, "out_of_jurisdiction")
        return
    if not within(actor.place_code, where.place) or names_person(where.about_person, actor.username, actor.full_name):
        raise forbidden(ELSEWHERE, "out_of_jurisdiction")
    if await barred_at(where, temporal, workflow_id, actor.username):
        raise forbidden(RECUSED, "recused")


@router.post("/decode")
async def decode(request: Request, actor: Reader, db: Db, temporal: MaybeTemporal, settings: AppSettings) -> Response:
    """The payloads decrypted, if every encrypted one belongs to a workflow within the reader's jurisdiction."""
    payloads = await _payloads(request, settings)
    workflows = {workflow_of(p) for p in payloads if is_encrypted(p)}
    for workflow_id in workflows:
        await check_readable(db, temporal, actor, workflow_id)
    keys = key_ring(settings)
    try:
        answer = _answer([keys.decrypt(p) for p in payloads])
    except (PayloadKeyError, PayloadDecryptError) as e:
        raise ApiError(422, "undecodable", "工作流数据无法解密（密钥未配置或数据被改动）") from e
    for workflow_id in sorted(workflows, key=str):  # a read of whole records, as a case page's: one row each
        await access_log.record(request, actor, Kind.WORKFLOW_DECODE, workflow_id or "（未绑定工作流）")
    return answer


@router.post("/encode")
async def encode(request: Request, actor: Reader, settings: AppSettings) -> Response:
    """The payloads sealed with the current key, bound to no workflow (so the district's to read back)."""
    payloads = await _payloads(request, settings)
    keys = key_ring(settings)
    return _answer([keys.encrypt(p) for p in payloads])


def ui_origin(settings: Settings) -> str:
    """The Temporal Web UI's origin (scheme://host[:port] of `TEMPORAL_UI_URL`), the one CORS lets in."""
    url = urlsplit(settings.temporal_ui_url)
    return f"{url.scheme}://{url.netloc}"


class CodecCors:
    """CORS for the codec calls only: the Web UI's origin, with credentials; its pre-flights answered here."""

    ALLOW = ((b"access-control-allow-credentials", b"true"), (b"vary", b"Origin"))
    PREFLIGHT = (
        (b"access-control-allow-methods", b"POST, OPTIONS"),
        (b"access-control-allow-headers", b"content-type, x-namespace, authorization"),
        (b"access-control-max-age", b"600"),
    )

    def __init__(self, app, settings: Settings) -> None:
        self.app = app
        self.origin = ui_origin(settings).encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CODEC_PATH + "/"):
            await self.app(scope, receive, send)
            return
        origin = dict(scope.get("headers") or []).get(b"origin")
        allow = [(b"access-control-allow-origin", self.origin), *self.ALLOW] if origin == self.origin else []
        if scope["method"] == "OPTIONS":
            start = {"type": "http.response.start", "status": 204, "headers": [*allow, *self.PREFLIGHT]}
            await send(start if allow else {"type": "http.response.start", "status": 403, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message) -> None:
            if message["type"] == "http.response.start" and allow:
                message = {**message, "headers": [*message.get("headers", []), *allow]}
            await send(message)

        await self.app(scope, receive, with_cors)
