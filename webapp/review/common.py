"""Shared by the caseworker pages: the usual materials, Beijing dates, the working-day calendar, lists typed in one
box, form errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from db import calendar_repo
from infra.clock import BEIJING
from rules.calendar import WorkCalendar
from rules.calendar import working_days_left as working_days_left  # where it was; it lives in rules/ now
from webapp.errors import chinese_message

NEAR_DUE_WORKING_DAYS = 5
# What a township window usually receives; anything else goes in the free-text box.
COMMON_MATERIALS = (
    "居民身份证",
    "户口簿",
    "家庭经济状况核对授权书",
    "收入证明",
    "残疾人证",
    "疾病诊断证明",
    "房屋产权或租赁证明",
    "代办委托书",
)
# Names typed in one box: one per line, or separated the way Chinese forms usually are.
_LIST_SEPARATORS = re.compile(r"[\r\n,，、;；]+")


def beijing(at: datetime) -> datetime:
    return at.astimezone(BEIJING)


async def load_calendar(db: asyncpg.Pool) -> WorkCalendar:
    async with db.acquire() as conn:
        return await calendar_repo.load_calendar(conn)


def split_list(text: str) -> list[str]:
    return [part.strip() for part in _LIST_SEPARATORS.split(text or "") if part.strip()]


def field_errors(errors: list[dict[str, Any]], field_of: Callable[[tuple], str | None]) -> dict[str, str]:
    """Pydantic errors as {form field: bare Chinese message}; `field_of` maps a model location to a
    form field (None: not shown). An empty required text says "为必填项" rather than "内容过短"."""
    out: dict[str, str] = {}
    for e in errors:
        field = field_of(tuple(e.get("loc", ())))
        if field is None or field in out:
            continue
        kind = "missing" if e.get("type") == "string_too_short" and e.get("input") == "" else e.get("type")
        out[field] = chinese_message({**e, "type": kind, "loc": ()})
    return out
