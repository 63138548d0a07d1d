"""The FastAPI application: the HTTP API and the server-rendered pages of every feature, on one app.

Each feature (`webapp/<feature>/`) brings its API routes and its pages; they are included here, API first,
in an order that matters where paths overlap (`/cases/export.csv` before `/cases/{case_id}`, `/cases/new`
before it too). `create_app(pool, client)` is what tests use with their own database and Temporal server;
the module-level `app` (run by `jiuzhu up` through uvicorn) opens both from the environment at startup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from temporalio.client import Client
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from db import demo_users_repo
from db.pool import create_pool
from infra.config import Settings
from infra.logging import setup_logging
from infra.temporal import connect
from webapp import bodylimit, csrf, errors, headers, idempotency, ops, pages, textguard
from webapp.account import api as account_api
from webapp.account import pages as account_pages
from webapp.admin import calendar, calendar_sample, overview, places, policy, relatives, roster, users
from webapp.codec import api as codec_api
from webapp.discovery import api as discovery_api
from webapp.discovery import pages as discovery_pages
from webapp.documents import api as documents_api
from webapp.documents import pages as documents_pages
from webapp.emergency import api as emergency_api
from webapp.emergency import ledger as emergency_ledger
from webapp.emergency import pages as emergency_pages
from webapp.frontdoor import api as frontdoor_api
from webapp.frontdoor import bureau_pages, desk_pages
from webapp.household import api as household_api
from webapp.household import pages as household_pages
from webapp.payroll import api as payroll_api
from webapp.payroll import pages as payroll_pages
from webapp.portal import notices as portal_notices
from webapp.portal import pages as portal_pages
from webapp.review import api as review_api
from webapp.review import approval, case_page, inbox, intake, notice
from webapp.sessions import Keys, Sessions
from webapp.supervision import (
    access_search,
    cases,
    conflicts,
    dashboard,
    declarations,
    digest,
    history,
    overdue,
    reviews,
    rollout,
    sampling,
)
from webapp.supervision import api as supervision_api

API = [
    account_api.router,
    review_api.router,
    review_api.actions_router,
    emergency_api.router,
    frontdoor_api.router,
    household_api.router,
    codec_api.router,
    documents_api.router,
    supervision_api.router,
    payroll_api.router,
    discovery_api.router,
]
PAGES = [
    account_pages.router,
    cases.router,  # before the case page: /cases/export.* must not be read as /cases/{case_id}
    dashboard.router,
    rollout.router,
    overdue.router,
    approval.router,
    intake.router,  # before the case page: /cases/new is not a case number
    inbox.router,
    case_page.router,
    notice.router,
    access_search.router,
    overview.router,
    users.router,
    roster.router,
    relatives.router,
    places.router,
    calendar_sample.router,  # before nothing that would read sample.csv as a parameter
    calendar.router,
    policy.router,
    emergency_pages.router,
    emergency_ledger.router,
    portal_pages.router,
    portal_notices.router,
    bureau_pages.router,
    desk_pages.router,
    household_pages.router,
    sampling.router,
    reviews.router,
    digest.router,
    conflicts.router,
    declarations.router,
    history.router,
    documents_pages.router,
    payroll_pages.router,
    discovery_pages.router,
]

DESCRIPTION = """
裕安区社会救助（低保、特困）审核确认系统的 HTTP 接口。

登录：`POST /api/auth/login` 建立会话（浏览器 Cookie），并返回同一会话的 Bearer 令牌供脚本使用
（`Authorization: Bearer <token>`）。会话在服务器端保存：闲置 30 分钟或登录满 12 小时后失效（可配置），
退出登录、修改密码、停用账户或管理员“结束全部会话”后立即失效。所有错误的响应体为
`{"code": ..., "message": "中文说明"}`。
"""


def create_app(
    pool: asyncpg.Pool | None = None, client: Client | None = None, *, secret_key: str | None = None
) -> FastAPI:
    """Resources given here are the caller's to close; the ones the lifespan opens it also closes."""
    settings = Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_pool = app.state.pool is None
        if own_pool or app.state.client is None:
            setup_logging()
        if own_pool:
            if not settings.database_url:
                raise RuntimeError("DATABASE_URL is not set (jiuzhu up sets it for the web app it starts)")
            app.state.pool = await create_pool(settings.database_url)
        if settings.production:  # never with the published demo password (`jiuzhu up --demo`)
            await demo_users_repo.refuse_demo_passwords(app.state.pool)
        if app.state.client is None:
            app.state.client = await connect(settings)
        try:
            yield
        finally:
            if own_pool:
                await app.state.pool.close()

    app = FastAPI(title="Jiuzhu 救助", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.pool = pool
    app.state.client = client
    app.state.keys = Keys(settings, secret_key)
    app.add_middleware(idempotency.Idempotency)  # inside the sessions: it needs the caller
    app.add_middleware(csrf.Csrf, keys=app.state.keys)  # inside the sessions: the token is bound to the session
    app.add_middleware(Sessions, keys=app.state.keys, settings=settings)
    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for router in API:
        app.include_router(router)
    pages.install(app)  # static files, and errors on pages answered as pages
    for router in PAGES:
        app.include_router(router)
    app.add_middleware(textguard.NoNul)  # inside the body limit: a body it reads whole is bounded
    app.add_middleware(headers.SecurityHeaders, production=settings.production)
    app.add_middleware(codec_api.CodecCors, settings=settings)  # the Temporal Web UI's pre-flights, before log-in
    app.add_middleware(
        bodylimit.BodyLimit, max_bytes=settings.max_body_bytes, upload_bytes=settings.upload_max_body_bytes
    )  # before anything reads a body
    ops.install(app)  # /readyz and /metrics beside /healthz; request metrics as the outermost middleware
    # outermost: the client's address and scheme from X-Forwarded-* only when sent by a configured proxy
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    return app


app = create_app()
