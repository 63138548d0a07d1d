"""Pages on the app: static files, and HTML answers (with the Chinese message) for errors met on a page,
where the API answers `{"code", "message"}`."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from webapp import errors
from webapp.render import LoginRequired, login_url, render_error
from webapp.sessions import PASSWORD_CHANGE

STATIC = Path(__file__).resolve().parent / "static"


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/static/", "/healthz", "/docs", "/openapi", "/favicon"))


def install(app: FastAPI) -> None:
    """Mount the static files and answer errors on pages with pages. Call it after `errors.install`."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    async def _favicon() -> Response:
        """Browsers ask for it on pages without a <link rel="icon"> (a PDF, a JSON answer): no 404."""
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    api_error = app.exception_handlers[errors.ApiError]
    http_error = app.exception_handlers[StarletteHTTPException]
    invalid = app.exception_handlers[RequestValidationError]
    out_of_range, internal = app.exception_handlers[OverflowError], app.exception_handlers[Exception]

    @app.exception_handler(asyncpg.DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        if is_page(request):
            return render_error(request, 422, errors.OUT_OF_RANGE)
        return await out_of_range(request, exc)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        if is_page(request):
            errors.log.exception("unhandled error", path=request.url.path)
            return render_error(request, 500, errors.INTERNAL)
        return await internal(request, exc)

    @app.exception_handler(errors.ApiError)
    async def _api_error(request: Request, exc: errors.ApiError) -> Response:
        if is_page(request) and exc.code == "password_change_required":
            return RedirectResponse(PASSWORD_CHANGE, status_code=303)
        if is_page(request):
            return render_error(request, exc.status, exc.message)
        return await api_error(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_page(request):
            message = {404: "页面不存在", 405: "不支持的请求方法"}.get(exc.status_code, str(exc.detail))
            return render_error(request, exc.status_code, message)
        return await http_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if is_page(request):
            message = "；".join(errors.chinese_message(e) for e in exc.errors())
            return render_error(request, 422, message)
        return await invalid(request, exc)
