"""One error shape for every refusal, `{"code", "message"}`, so the UI can show `message` as it is."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from schemas.identity import PERSONAL_NUMBER_REFUSED, holds_personal_number
from webapp.field_labels import field_label, hint

log = structlog.get_logger("webapp")


class ErrorBody(BaseModel):
    code: str
    message: str
    errors: list[dict[str, Any]] | None = None
    case_id: str | None = None  # the case a refusal is about, where the caller may see it (e.g. the open one)
    link: str | None = None  # its page


def error_responses(descriptions: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` for its refusals: each status answers an `ErrorBody`, described in Chinese."""
    return {status: {"model": ErrorBody, "description": text} for status, text in descriptions.items()}


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, case_id: str | None = None, *, field: str | None = None
    ) -> None:
        """`field`: the one input refused (a form shows `message` beside it; the API names it in `errors`)."""
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.case_id = case_id
        self.field = field

    @property
    def body(self) -> ErrorBody:
        link = f"/cases/{self.case_id}" if self.case_id else None
        errors = [{"loc": [self.field], "type": self.code, "msg": self.message}] if self.field else None
        return ErrorBody(code=self.code, message=self.message, errors=errors, case_id=self.case_id, link=link)


def unauthenticated() -> ApiError:
    return ApiError(401, "unauthenticated", "请先登录")


def forbidden(message: str, code: str = "wrong_role") -> ApiError:
    return ApiError(403, code, message)


def not_found(message: str = "案件不存在") -> ApiError:
    return ApiError(404, "not_found", message)


def refuse_personal_number(value: str | None, field: str) -> None:
    """A case or event number a user typed (`field`) that is, or holds, an ID or mobile number: 422
    `personal_number` (it would go into URLs and logs). The same check wherever users supply such a number."""
    if holds_personal_number(value):
        raise ApiError(422, "personal_number", f"{field_label((field,))}{PERSONAL_NUMBER_REFUSED}", field=field)


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


# Messages that state the model's limit (from the error's context).
_WITH_LIMIT = {
    "string_too_short": ("min_length", "过短，至少 {} 个字"),
    "string_too_long": ("max_length", "过长，最多 {} 个字"),
    "too_short": ("min_length", "至少 {} 项"),
    "greater_than_equal": ("ge", "不能小于 {}"),
    "greater_than": ("gt", "应大于 {}"),
    "less_than_equal": ("le", "不能大于 {}"),
}


def field_message(error: dict[str, Any]) -> str:
    """The message shown beside its field (which already names it): what is wrong, or what to do."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    advice = hint(error.get("loc", ()), kind, ctx)
    if advice:
        return advice
    if kind in _WITH_LIMIT and _WITH_LIMIT[kind][0] in ctx:
        limit, text = _WITH_LIMIT[kind]
        return text.format(ctx[limit])
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    if isinstance(error.get("msg"), str) and not str(error["msg"]).isascii():
        return error["msg"]
    return "数据格式不正确"


def missing_message(field: str) -> str:
    """What an empty required field asks for ("请填写联系电话", "请选择乡镇（街道）")."""
    return hint((field,), "missing") or f"请填写{field_label((field,))}"


def chinese_message(error: dict[str, Any]) -> str:
    """Models raise Chinese text themselves (ID checksum, household rules); pydantic's built-ins are
    translated, and the field is named by its Chinese label (webapp/field_labels.py), never its key.
    Advice that names its field ("请选择村（社区）") stands alone."""
    if advice := hint(error.get("loc", ()), error.get("type", ""), error.get("ctx")):
        return advice
    text = field_message(error)
    where = field_label(error.get("loc", ()))
    return f"{where}：{text}" if where else text


def validation_error(errors: list[dict[str, Any]]) -> JSONResponse:
    """422 with the first error's Chinese message; inputs are not echoed (they may hold ID numbers)."""
    slim = [{"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": chinese_message(e)} for e in errors]
    body = ErrorBody(code="invalid", message=slim[0]["msg"] if slim else "数据格式不正确", errors=slim)
    return JSONResponse(body.model_dump(), status_code=422)


OUT_OF_RANGE = "输入的数值、编号或日期超出允许的范围，请检查后重试"
INTERNAL = "服务器内部错误，请稍后再试；如仍出现，请联系系统管理员"


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

    @app.exception_handler(asyncpg.DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
        """A value the database or the date arithmetic cannot hold (a page number, an id or a date far out of
        range, text PostgreSQL cannot store): the request's fault, said in Chinese, never a bare 500."""
        log.warning("value out of range", error_type=type(exc).__name__, path=request.url.path)
        return JSONResponse(ErrorBody(code="invalid", message=OUT_OF_RANGE).model_dump(exclude_none=True), 422)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        """Anything else unforeseen: logged with its trace, answered `{"code", "message"}` (no detail given out)."""
        log.exception("unhandled error", path=request.url.path)
        return JSONResponse(ErrorBody(code="internal_error", message=INTERNAL).model_dump(exclude_none=True), 500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: ("not_found", "资源不存在"), 405: ("method_not_allowed", "不支持的请求方法")}
        code, message = codes.get(exc.status_code, ("http_error", str(exc.detail)))
        return JSONResponse(ErrorBody(code=code, message=message).model_dump(exclude_none=True), exc.status_code)
