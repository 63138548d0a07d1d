"""Enumerations whose members carry a label: the value is what is stored and sent, the label what people read."""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class LabelledEnum(StrEnum):
    """A `StrEnum` whose members are written `NAME = "value", "label"`."""

    label: str

    def __new__(cls, value: str, label: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member


def category_label(code: str | None) -> str:
    """A dibao category code as people read it: "A" → "A类" (the policy's categories are named so)."""
    if not code:
        return ""
    return code if code.endswith("类") else f"{code}类"
