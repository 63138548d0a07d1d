"""No NUL character (U+0000) in what a request says: PostgreSQL cannot store one in text, so a field carrying it
would fail wherever it is written — at once (a 500), or in an activity retried for ever after a workflow has
started (a 12349 request that looks accepted but is recorded nowhere). It is refused before anything starts.

The query string, a form (`application/x-www-form-urlencoded`) and a JSON body are read whole (every body is
already bounded by `bodylimit`) and their decoded texts looked at; a file upload (`multipart/form-data`) is left
alone: a file's bytes may hold NUL, and its other fields are checked by the route's model. The API answers
422 `{"code": "invalid_characters", "message": ...}`, pages a short Chinese page that leads back to the form.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from webapp.bodylimit import refuse_early
from webapp.idempotency import read_body, replay_body

CODE = "invalid_characters"
MESSAGE = "填写的内容中含有不可见的控制字符（NUL），无法保存，请删除后重新提交"
NUL = "\x00"


def _in_json(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(_in_json(k) or _in_json(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_in_json(v) for v in value)
    return False


def _in_form(raw: bytes) -> bool:
    return any(NUL in k or NUL in v for k, v in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def carries_nul(query: bytes, content_type: str, body: bytes) -> bool:
    """Whether the request's query string or its form or JSON body holds a NUL character."""
    if _in_form(query):
        return True
    if content_type.startswith("application/x-www-form-urlencoded"):
        return _in_form(body)
    if content_type.startswith("application/json") and NUL.encode() not in body:
        try:
            return _in_json(json.loads(body))
        except ValueError:
            return False  # not JSON at all: the route's own validation answers
    return NUL.encode() in body and not content_type.startswith("multipart/")


class NoNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"content-type"), "")
        body = b""
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE") and not content_type.startswith("multipart/"):
            body = await read_body(receive)
            receive = replay_body(body, receive)
        if carries_nul(scope.get("query_string", b""), content_type, body):
            await refuse_early(scope, send, 422, CODE, "含有无法保存的字符", MESSAGE)
            return
        await self.app(scope, receive, send)
