"""Rows read as their typed row class (a dataclass or model whose fields are the columns selected), and a row
written once from a model whose fields are named as the columns."""

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


async def insert_once(db: Db, table: str, key: str, row: object, columns: str, **values: Any) -> None:
    """Insert into `table` the `key` columns and `columns` (comma-separated) from `row`'s like-named attributes,
    and the further `values` by column, unless a row with that key is there already."""
    names = [c.strip() for c in f"{key}, {columns}".split(",")]
    args = [getattr(row, c) for c in names] + list(values.values())
    names += values
    marks = ",".join(f"${i}" for i in range(1, len(args) + 1))
    await db.execute(f"insert into {table} ({', '.join(names)}) values ({marks}) on conflict ({key}) do nothing", *args)
