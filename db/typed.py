"""Rows read as their typed row class (a dataclass or model whose fields are the columns selected)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from db.pool import Db

R = TypeVar("R")


async def one(db: Db, row_type: Callable[..., R], sql: str, *args: Any) -> R | None:
    """The row `sql` selects, as a `row_type`; None if it selects none."""
    row = await db.fetchrow(sql, *args)
    return row_type(**row) if row else None


async def every(db: Db, row_type: Callable[..., R], sql: str, *args: Any) -> list[R]:
    """The rows `sql` selects, in its order, as `row_type`s."""
    return [row_type(**r) for r in await db.fetch(sql, *args)]
