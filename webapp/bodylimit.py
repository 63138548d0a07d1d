"""A limit on the size of every request body (issue 16, point 8), as the outermost middleware but the metrics', so
nothing (the idempotency key's body hash, the CSRF check's form, a route) reads more than `Settings.max_body_bytes`.

A `Content-Length` over the limit is refused before a byte of the body is read; a body sent without one (chunked)
or longer than it said is counted as it streams and refused at the first byte over. The API answers
413 `{"code": "body_too_large", "message": ...}`, pages a short Chinese page. Once a response has started the
connection is just cut (the app has then already answered from a body within the limit).
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CODE = "body_too_large"
# The document uploads (webapp/documents), which take several files of up to 10 MB each: their own, larger limit.
UPLOADS = re.compile(r"^(/api)?/documents/(case|emergency|request)/[^/]+$")


def message(limit: int) -> str:
    return f"提交的内容过大（不得超过 {_size(limit)}），请删减后重试"


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit % (1024 * 1024) == 0 else f"{limit // 1024} KB"


PAGE = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body><main><h1>{title}</h1><p role="alert">{message}</p><p><a href="javascript:history.back()">返回</a>'
    "</p></main></body></html>"
)


class TooLarge(Exception):
    """Raised from the body's `receive` when the body passes the limit."""


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_bytes if scope["method"] == "POST" and UPLOADS.match(scope["path"]) else self.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, limit)
            return
        seen = 0
        over = started = refused = False

        async def counted() -> Message:
            nonlocal seen, over
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    over = True
                    raise TooLarge
            return msg

        async def watched(msg: Message) -> None:
            # a route that caught the refusal (FastAPI turns any error reading a body into its own 400) answers
            # the 413 all the same
            nonlocal started, refused
            if over and not started:
                if not refused:
                    refused = True
                    await self._refuse(scope, send, limit)
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counted, watched)
        except TooLarge:
            if started:
                raise
            if not refused:
                await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        await refuse_early(scope, send, 413, CODE, "提交内容过大", message(limit))


async def refuse_early(scope: Scope, send: Send, status: int, code: str, title: str, text: str) -> None:
    """Answer before the app does (a middleware's refusal): the API `{"code", "message"}`, pages a short Chinese
    page whose link goes back to the form (the browser keeps what was typed)."""
    if scope["path"].startswith("/api/"):
        body, kind = json.dumps({"code": code, "message": text}, ensure_ascii=False), "application/json"
    else:
        body, kind = PAGE.format(title=title, message=text), "text/html; charset=utf-8"
    data = body.encode()
    headers = [
        (b"content-type", kind.encode()),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
