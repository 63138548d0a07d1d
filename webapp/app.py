"""The FastAPI application: HTTP API now, the admin UI later, on one app.

`create_app(pool, client)` is what tests use with their own database and Temporal server; the
module-level `app` (run by `jiuzhu up` through uvicorn) opens both from the environment at startup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from temporalio.client import Client

from db.pool import create_pool
from infra.config import Settings
from infra.logging import setup_logging
from infra.temporal import connect
from webapp import actions, auth, cases, csrf, emergency, errors, frontdoor_api
from webapp.ops import install as install_ops
from webapp.ui.setup import install_ui

DESCRIPTION = """
裕安区社会救助（低保、特困）审核确认系统的 HTTP 接口。

登录：`POST /api/auth/login` 建立会话（浏览器 Cookie），并返回 12 小时有效的 Bearer 令牌供脚本使用
（`Authorization: Bearer <token>`）。所有错误的响应体为 `{"code": ..., "message": "中文说明"}`。
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
    app.state.keys = auth.Keys(settings, secret_key)
    app.add_middleware(auth.Sessions, keys=app.state.keys)
    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(auth.router)
    app.include_router(cases.router)
    actions.install(app)
    emergency.install(app)
    frontdoor_api.install(app)
    install_ui(app)
    app.add_middleware(csrf.Csrf, keys=app.state.keys)
    install_ops(app)  # /readyz and /metrics beside /healthz; request metrics as the outermost middleware
    return app


app = create_app()
