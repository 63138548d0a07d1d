"""One error shape for every refusal, `{"code", "message"}`, so the UI can show `message` as it is."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

log = structlog.get_logger("webapp")


class ErrorBody(BaseModel):
    code: str
    message: str
    errors: list[dict[str, Any]] | None = None
    case_id: str | None = None  # the case a refusal is about, where the caller may see it (e.g. the open one)
    link: str | None = None  # its page


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, case_id: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.case_id = case_id

    @property
    def body(self) -> ErrorBody:
        link = f"/cases/{self.case_id}" if self.case_id else None
        return ErrorBody(code=self.code, message=self.message, case_id=self.case_id, link=link)


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "请先登录")


def forbidden(message: str, code: str = "wrong_role") -> ApiError:
    return ApiError(403, code, message)


def not_found(message: str = "案件不存在") -> ApiError:
    return ApiError(404, "not_found", message)


# Pydantic's own messages are English; these are the ones a caseworker's form can trigger.
_MESSAGES = {
    "missing": "为必填项",
    "string_pattern_mismatch": "格式不正确",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "too_short": "条目过少",
    "too_long": "条目过多",
    "enum": "取值无效",
    "literal_error": "取值无效",
    "bool_parsing": "应为是/否",
    "bool_type": "应为是/否",
    "date_from_datetime_parsing": "日期格式不正确（应为YYYY-MM-DD）",
    "date_parsing": "日期格式不正确（应为YYYY-MM-DD）",
    "date_type": "日期格式不正确（应为YYYY-MM-DD）",
    "decimal_parsing": "金额格式不正确",
    "decimal_max_places": "金额最多两位小数",
    "decimal_max_digits": "金额过大",
    "greater_than_equal": "不能小于下限",
    "less_than_equal": "不能大于上限",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "model_type": "应为对象",
    "dict_type": "应为对象",
    "extra_forbidden": "不允许的字段",
    "json_invalid": "请求内容不是有效的JSON",
}


def chinese_message(error: dict[str, Any]) -> str:
    """Models raise Chinese text themselves (ID checksum, household rules); translate pydantic's built-ins."""
    kind = error.get("type", "")
    if kind in _MESSAGES:
        text = _MESSAGES[kind]
    elif kind == "value_error":
        text = str(error.get("msg", "")).removeprefix("Value error, ")
    elif isinstance(error.get("msg"), str) and not str(error["msg"]).isascii():
        text = error["msg"]
    else:
        text = "数据格式不正确"
    where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
    return f"{where}：{text}" if where else text


def validation_error(errors: list[dict[str, Any]]) -> JSONResponse:
    """422 with the first error's Chinese message; inputs are not echoed (they may hold ID numbers)."""
    slim = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": chinese_message(e)} for e in errors]
    body = ErrorBody(code="invalid", message=slim[0]["msg"] if slim else "数据格式不正确", errors=slim)
    return JSONResponse(body.model_dump(), status_code=422)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body.model_dump(exclude_none=True), exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(list(exc.errors()))

    @app.exception_handler(RPCError)
    async def _temporal_down(request: Request, exc: RPCError) -> JSONResponse:
        log.error("temporal call failed", status=exc.status.name, error=exc.message)
        body = ErrorBody(code="temporal_unavailable", message="工作流服务暂不可用，请稍后再试")
        return JSONResponse(body.model_dump(exclude_none=True), 503)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: ("not_found", "资源不存在"), 405: ("method_not_allowed", "不支持的请求方法")}
        code, message = codes.get(exc.status_code, ("http_error", str(exc.detail)))
        return JSONResponse(ErrorBody(code=code, message=message).model_dump(exclude_none=True), exc.status_code)
