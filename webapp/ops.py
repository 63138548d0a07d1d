"""Operations endpoints beside `/healthz` (liveness, in app.py): `/readyz` and `/metrics`.

- `/readyz`: 200 when PostgreSQL answers `select 1` and the Temporal frontend answers its gRPC health
  check, each within 2 s; otherwise 503 naming the part that is down. A load balancer or Kubernetes
  readiness probe takes the instance out of rotation meanwhile; liveness (`/healthz`) stays up, so a
  database restart does not restart every web pod.
- `/metrics`: Prometheus text format: `jiuzhu_http_requests_total{method,route,status}`,
  `jiuzhu_http_request_duration_seconds{method,route}` (route = the template, e.g.
  `/api/cases/{case_id}`, so no ID, name or phone ever becomes a label), requests in flight, the
  readiness of each part, and the process collectors. With `JIUZHU_METRICS_TOKEN` set it requires
  `Authorization: Bearer <token>`; either way keep it off the public reverse proxy.

`install(app)` also puts Temporal's tracing interceptor on the app's client when `JIUZHU_OTEL=1`.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db import ops_repo
from infra import tracing
from infra.metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS, READY
from webapp.deps import Db, MaybeTemporal

CHECK_TIMEOUT = 2.0
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(include_in_schema=False)


async def _check(part: str, probe) -> str:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT)
    except TimeoutError:
        READY.labels(part).set(0)
        return f"down: no answer within {CHECK_TIMEOUT:g} s"
    except Exception as e:  # whatever the driver raises, the part is not usable now
        READY.labels(part).set(0)
        return f"down: {type(e).__name__}"  # the class only: messages can hold addresses and paths
    READY.labels(part).set(1)
    return "ok"


@router.get("/readyz")
async def readyz(pool: Db, client: MaybeTemporal) -> JSONResponse:
    """Each part's own check; a part the app has not (yet) got is down."""

    async def database() -> None:
        if pool is None:
            raise RuntimeError("no pool")
        await ops_repo.ping(pool)

    async def temporal() -> None:
        if client is None:
            raise RuntimeError("no client")
        if not await client.service_client.check_health(timeout=timedelta(seconds=CHECK_TIMEOUT)):
            raise RuntimeError("not serving")

    db, tp = await asyncio.gather(_check("database", database), _check("temporal", temporal))
    checks = {"database": db, "temporal": tp}
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    configured = request.app.state.settings.metrics_token
    if configured:
        token = configured.get_secret_value()
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), token.encode()):
            return Response("unauthorized\n", status_code=401, media_type="text/plain")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


HOLDER = "jiuzhu.route"  # scope key of the box RouteRecorder fills and RequestMetrics reads
UNROUTED = "<unrouted>"  # no route matched (404), or refused before routing (e.g. by the CSRF layer)


def route_label(route: object) -> str:
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNROUTED
    return path + "/{path}" if isinstance(route, Mount) else path


class RequestMetrics:
    """Pure ASGI middleware: count and time every HTTP request by method, route template and status.

    Outermost, so it also counts what the CSRF and session layers answer themselves. Those layers may
    hand on a copy of the scope, so the route is passed back in a box that RouteRecorder (innermost,
    where the router's own scope is) fills.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # if the app raises before answering, the server answers 500
        box: dict[str, str] = {}
        scope[HOLDER] = box
        began = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            HTTP_IN_FLIGHT.dec()
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = box.get("route", UNROUTED)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - began)


class RouteRecorder:
    """Innermost: after the router ran, note the template of the route it picked in the box.

    FastAPI puts its APIRoute in `scope["route"]`; a mount (static files) leaves its app as the endpoint.
    """

    def __init__(self, app: ASGIApp, mounts: list[Mount]) -> None:
        self.app = app
        self.mounts = mounts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            box = scope.get(HOLDER)
            if box is not None:
                if "route" in scope:
                    box["route"] = route_label(scope["route"])
                else:
                    endpoint = scope.get("endpoint")
                    for mount in self.mounts:
                        if endpoint is not None and endpoint is mount.app:
                            box["route"] = route_label(mount)


def _trace_client(app: FastAPI) -> None:
    """With `JIUZHU_OTEL=1`, swap the client the lifespan opened for one with the tracing interceptor."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[object]:
        async with inner(a) as state:
            if tracing.enabled() and a.state.client is not None:
                a.state.client = tracing.traced_if_enabled(a.state.client, "jiuzhu-web")
            try:
                yield state
            finally:
                tracing.shutdown_tracing()

    app.router.lifespan_context = lifespan


def install(app: FastAPI) -> None:
    """Add `/readyz` and `/metrics`, the request metrics and optional tracing. Call it last in
    `create_app`: RequestMetrics goes outside every middleware added so far, RouteRecorder inside."""
    app.include_router(router)
    app.add_middleware(RequestMetrics)
    mounts = [r for r in app.router.routes if isinstance(r, Mount)]
    app.user_middleware.append(Middleware(RouteRecorder, mounts=mounts))
    _trace_client(app)
