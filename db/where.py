"""The `where` clause of a list whose filters are optional: conditions joined by `and`, their parameters
numbered in the order they are added."""

from __future__ import annotations

from typing import Any


class Where:
    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.params: list[Any] = []

    def add(self, condition: str, *values: Any) -> Where:
        """`condition` with a `{}` where each value goes: `add("r.kind = {}", kind)`."""
        marks = []
        for value in values:
            self.params.append(value)
            marks.append(f"${len(self.params)}")
        self.conditions.append(condition.format(*marks))
        return self

    def sql(self) -> str:
        """` where …`, or nothing when no condition was added."""
        return " where " + " and ".join(self.conditions) if self.conditions else ""
