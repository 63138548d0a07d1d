"""Idempotent requests, for every route that changes state: a request sent with an `Idempotency-Key` header (the
API) or an `idempotency_key` form field (every form carries a fresh one, `render.form_key`) is done once per
user, route and key. A repeat with the same body gets the first answer (its status, body, and where it
redirected) and does nothing else; the same key with another body is refused (422 `idempotency_key_reused`).

One middleware, inside the session middleware (it needs the caller) and outside the routes and their error
handlers (it keeps the answer exactly as sent). The key is claimed in the database before the work starts
(`db.idempotency_repo`), so a concurrent duplicate waits for the first one's answer; an answer that may not be
the last word (a 5xx, a rate limit, "try again later", a form's error shown to be put right) is not kept, so a
retry does the work again, and where
the work is a Temporal update the key is the update's id (`update_id`): Temporal answers a retried update with
the first one's outcome, so even a lost answer plus a retry is one update.

The API routes that move money (`CONTENT_KEYED`: an emergency payment or its approval, a fund's income, a
supplementary payroll) are kept safe from clients that send no key as well: such a request is keyed by its content
(the caller, the route and the body) for `CONTENT_WINDOW` seconds, so the same payment sent twice in that time, by a
retry or a double send, is made once and answered twice. Paying the same amount again on purpose within that time
takes a key of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db import idempotency_repo
from webapp.errors import ApiError
from webapp.render import render_error
from webapp.sessions import caller_name

log = structlog.get_logger("webapp")

HEADER = "idempotency-key"
FORM_FIELD = "idempotency_key"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
FORM = "application/x-www-form-urlencoded"
# An upload form (multipart) cannot be read for its key before the work: its key travels in the query string.
MULTIPART = "multipart/form-data"
# Form fields that are not the request's content: the CSRF token may change between two sends of one form.
NOT_CONTENT = {"csrftoken", FORM_FIELD}
MAX_KEY = 200
PUBLIC_FORMS = "/portal/"  # forms residents send without logging in
RESIDENT = "(portal)"  # whose keys those are
WAIT_SECONDS = 60.0  # how long a duplicate waits for the first request's answer (an update may take 30 s, twice)
STALE_SECONDS = 120.0  # a claim this old was left by a process that died: the next request takes it over
# Answers not to repeat: the caller is told to try again, so a retry with the same key must do the work.
NOT_KEPT_STATUS = {408, 425, 429}
NOT_KEPT_CODES = {"not_ready", "busy", "idempotency_in_progress"}
KEPT_HEADERS = ("content-type", "location")
CONTENT_KEYED = re.compile(
    r"^/api/(emergencies/[^/]+/actions/(approve|approve_repeat)|funds/[^/]+/income|payrolls/supplementary)$"
)
CONTENT_WINDOW = 600.0  # seconds: 10 minutes
CONTENT_KEY = "content:"  # the key given to a keyless request to a money route, with its content's fingerprint

REUSED_MESSAGE = "该幂等键（Idempotency-Key）已用于内容不同的请求，请为新的请求使用新的幂等键"
REUSED_PAGE = "该表单已提交过，内容与第一次不同；请刷新页面后重新填写提交"
BUSY = ApiError(409, "idempotency_in_progress", "相同的请求正在处理中，请稍后再试")
REUSED = ApiError(422, "idempotency_key_reused", REUSED_MESSAGE)
BAD_KEY = ApiError(422, "invalid", f"幂等键须为不超过 {MAX_KEY} 个字符的可见字符")

_update_id: ContextVar[str | None] = ContextVar("idempotency_update_id", default=None)


def update_id(name: str) -> str | None:
    """The id of update `name` called for the current request, if it carries a key: the same on a repeat."""
    base = _update_id.get()
    return f"{base}-{name}" if base else None


def fingerprint(method: str, query: str, content_type: str, body: bytes) -> str:
    """The request's content: a JSON body read as data (key order and spacing do not count), a form's fields
    less the CSRF token and the key, any other body as it is; with the query string."""
    content: object
    if content_type.startswith(MULTIPART) and "boundary=" in content_type:
        # the same files sent again come with another boundary: it is not the request's content
        boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip().strip('"')
        content = hashlib.sha256(body.replace(boundary.encode("latin-1"), b"")).hexdigest()
    elif content_type == FORM:
        content = sorted((k, v) for k, v in parse_qsl(body.decode("utf-8", "replace"), True) if k not in NOT_CONTENT)
    else:
        content = body.decode("latin-1")
        if body:
            try:
                content = json.loads(body)
            except ValueError:
                pass
    text = json.dumps([method, query, content], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Idempotency:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        key = request.headers.get(HEADER)
        body: bytes | None = None
        if key is None and content_type == FORM:
            body = await read_body(receive)
            key = dict(parse_qsl(body.decode("utf-8", "replace"))).get(FORM_FIELD)
        elif key is None and content_type == MULTIPART:
            key = request.query_params.get(FORM_FIELD)
        if body is not None:
            receive = replay_body(body, receive)
        by_content = key is None and scope["method"] == "POST" and CONTENT_KEYED.match(scope["path"]) is not None
        username = await _caller(request) if key or by_content else None
        if username is None and key and body is not None and scope["path"].startswith(PUBLIC_FORMS):
            username = RESIDENT  # the portal's residents do not log in: the form's one-time key names the request
        if not (key or by_content) or username is None:  # no key, or nobody logged in: the route answers as always
            await self.app(scope, receive, send)
            return
        if key is not None and (len(key) > MAX_KEY or not key.isprintable()):
            await _answer(request, BAD_KEY, receive, send)
            return
        if body is None:
            body = await read_body(receive)
            receive = replay_body(body, receive)
        route = f"{scope['method']} {scope['path']}"
        full_type = request.headers.get("content-type", "") if content_type == MULTIPART else content_type
        content = fingerprint(scope["method"], request.url.query, full_type, body)
        pool = request.app.state.pool
        if key is None:  # a money route called without a key: keyed by its content, for a while
            key = CONTENT_KEY + content
            await idempotency_repo.expire(pool, username, route, key, after=CONTENT_WINDOW)
        loop = asyncio.get_running_loop()
        give_up, pause = loop.time() + WAIT_SECONDS, 0.05
        while True:
            found = await idempotency_repo.claim(pool, username, route, key, content, stale_after=STALE_SECONDS)
            if not isinstance(found, idempotency_repo.Busy) or loop.time() >= give_up:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)
        match found:
            case idempotency_repo.Stored(status, headers, stored):
                log.info("idempotent repeat answered", route=route, status=status)
                await Response(stored, status, headers | {"idempotent-replayed": "true"})(scope, receive, send)
            case idempotency_repo.Reused():
                await _answer(request, REUSED, receive, send, REUSED_PAGE)
            case idempotency_repo.Busy():
                await _answer(request, BUSY, receive, send)
            case idempotency_repo.Claimed(since):
                # a content key stands for one request only until it expires: the claim's time tells them apart
                update_base = (username, route, key, since) if key.startswith(CONTENT_KEY) else (username, route, key)
                await self._once(scope, receive, send, pool, (username, route, key), update_base)

    async def _once(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        pool: Any,
        where: tuple[str, str, str],
        update_base: tuple[str, ...],
    ) -> None:
        """Do the work under the claimed key, pass its answer on as it comes, and keep it (or give the key back)."""
        status, headers, chunks = 0, {}, []

        async def keep(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
                headers = {k: raw[k] for k in KEPT_HEADERS if k in raw}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        token = _update_id.set("idem-" + hashlib.sha256("\n".join(update_base).encode()).hexdigest()[:40])
        try:
            await self.app(scope, receive, keep)
        except BaseException:
            await idempotency_repo.release(pool, *where)
            raise
        finally:
            _update_id.reset(token)
        body = b"".join(chunks)
        # a refusal under a content key is not kept: the same payment sent again once put right (funds added, say)
        # must be tried again, not refused from memory
        by_content = where[2].startswith(CONTENT_KEY)
        if _kept(scope["path"], status, headers, body) and not (by_content and status >= 400):
            await idempotency_repo.finish(pool, *where, status, headers, body)
        else:
            await idempotency_repo.release(pool, *where)


def _kept(path: str, status: int, headers: dict[str, str], body: bytes) -> bool:
    """Whether an answer is the last word for its key. A form answered with an error is shown again to be put
    right and sent once more with its key: only what it did (a redirect, a page) is kept."""
    if status == 0 or status >= 500 or status in NOT_KEPT_STATUS:
        return False
    if status >= 400 and not path.startswith("/api/"):
        return False
    if headers.get("content-type", "").startswith("application/json"):
        try:
            code = json.loads(body).get("code") if status >= 400 else None
        except (ValueError, AttributeError):
            code = None
        return code not in NOT_KEPT_CODES
    return True


async def _caller(request: Request) -> str | None:
    """The logged-in caller's name, if the request has one and the user is active."""
    try:
        return await caller_name(request)
    except ApiError:
        return None


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def replay_body(body: bytes, then: Receive) -> Receive:
    """A `receive` that gives the body already read once more, then what the server sends (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive


async def _answer(
    request: Request, error: ApiError, receive: Receive, send: Send, page_message: str | None = None
) -> None:
    """A refusal as the API answers (`{"code", "message"}`) or, for a page's form, as a page."""
    if request.url.path.startswith("/api/"):
        response: Response = JSONResponse({"code": error.code, "message": error.message}, error.status)
    else:
        response = render_error(request, error.status, page_message or error.message)
    await response(request.scope, receive, send)
