"""The policy version as a form in Chinese: one section per part of `schemas.policy.Policy`, each field
with its Chinese name (webapp/field_labels.py), its unit and, for a choice, the choices in words. Lists
and tables (reminders, categories, per-township approval levels, disability grades) stay JSON, one small
box each. The form is read back into a `Policy`, so the model's own checks apply; `diff` lists what a
version changes against the one in force."""

from __future__ import annotations

import datetime as dt
import json
import typing
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.policy import ApprovalLevel, Policy
from webapp.errors import chinese_message, field_message
from webapp.field_labels import FIELD_LABELS, field_label

SECTION_TITLES = {"": "基本信息"}
UNITS = {  # fields whose unit their name does not give
    "review.min_investigators": "人",
    "assets.max_vehicles": "辆",
    "assets.max_houses": "套",
    "assets.deposit_months": "个月",
    "review.notice_length": "天（自然日或工作日，见“公示期计算方式”）",
    "ongoing_review.sample_share": "（0 到 1 之间的小数，0.05 即 5%）",
    "ongoing_review.township_max_change_ratio": "（占原月保障金的比例，0.30 即 30%）",
}
SUFFIX_UNITS = (
    ("working_days", "个工作日"),
    ("days_left", "个工作日"),
    ("_days", "天"),
    ("_months", "个月"),
    ("_hours", "小时"),
    ("_age", "周岁"),
    ("_ratio", "倍"),
)
MONEY_UNIT = "元"
MONTHLY = ("standards.", "tekun.care_")
CHOICES: dict[str, dict[str, str]] = {
    "review.notice_unit": {"calendar_days": "自然日", "working_days": "工作日"},
    "emergency.caps_per": {"event": "每次急难事件分别封顶", "person_period": "同一人在统计周期内累计封顶"},
    "review.default_approval_level": {
        ApprovalLevel.TOWNSHIP.value: "乡镇（街道）审核确认",
        ApprovalLevel.DISTRICT.value: "区民政局审核确认",
    },
}
YES_NO = {"true": "是", "false": "否"}


@dataclass(frozen=True)
class FieldSpec:
    path: str  # "review.notice_length"
    label: str
    kind: str  # text, number, decimal, date, bool, choice, json
    unit: str = ""
    help: str = ""
    choices: dict[str, str] | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    fields: tuple[FieldSpec, ...]


def _unit(path: str, kind: str) -> str:
    if path in UNITS:
        return UNITS[path]
    suffix = next((unit for end, unit in SUFFIX_UNITS if path.endswith(end)), "")
    if suffix or kind != "decimal":
        return suffix
    return "元/人·月" if path.startswith(MONTHLY) else MONEY_UNIT


def _kind(annotation: Any) -> tuple[str, dict[str, str] | None]:
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return "bool", YES_NO
    if annotation is int:
        return "number", None
    if annotation is dt.date:
        return "date", None
    if annotation is str:
        return "text", None
    if origin is typing.Literal:
        return "choice", {str(v): str(v) for v in typing.get_args(annotation)}
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "choice", {str(m.value): str(m.value) for m in annotation}
    if annotation is Decimal or Decimal in typing.get_args(annotation):
        return "decimal", None
    return "json", None


def _spec(path: str, info: Any) -> FieldSpec:
    kind, choices = _kind(info.annotation)
    if path in CHOICES:
        choices = CHOICES[path]
    return FieldSpec(path, FIELD_LABELS.get(path, path), kind, _unit(path, kind), info.description or "", choices)


def _sections() -> tuple[Section, ...]:
    top: list[FieldSpec] = []
    sections: list[Section] = []
    for name, info in Policy.model_fields.items():
        model = info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            fields = tuple(_spec(f"{name}.{sub}", subinfo) for sub, subinfo in model.model_fields.items())
            sections.append(Section(name, FIELD_LABELS.get(name, name), fields))
        else:
            top.append(_spec(name, info))
    return (Section("", SECTION_TITLES[""], tuple(top)), *sections)


SECTIONS = _sections()
SPECS = {f.path: f for s in SECTIONS for f in s.fields}


def _get(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        data = data[part]
    return data


def _as_text(spec: FieldSpec, value: Any) -> str:
    if spec.kind == "json":
        return json.dumps(value, ensure_ascii=False)
    if spec.kind == "bool":
        return "true" if value else "false"
    return "" if value is None else str(value)


def form_values(policy: Policy | dict[str, Any]) -> dict[str, str]:
    """Every field of a policy as the text its form input holds."""
    data = policy.model_dump(mode="json") if isinstance(policy, Policy) else policy
    return {path: _as_text(spec, _get(data, path)) for path, spec in SPECS.items()}


def shown(spec: FieldSpec, text: str) -> str:
    """A value as people read it: choices and yes/no in words, JSON as it is."""
    if spec.choices and text in spec.choices:
        return spec.choices[text]
    return text


@dataclass
class Parsed:
    policy: Policy | None
    errors: dict[str, str]  # form field (or section key) → message
    problems: list[str]  # every message, naming its field


def parse(form: dict[str, str]) -> Parsed:
    """The form as a Policy, or the problems in Chinese, each naming its field."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for path, spec in SPECS.items():
        text = str(form.get(path, "")).strip()
        value: Any = text
        if not text and spec.kind not in ("text", "bool"):
            errors[path] = "为必填项"
            continue
        if spec.kind == "json":
            try:
                value = json.loads(text or "null")
            except json.JSONDecodeError as e:
                errors[path] = f"JSON 格式错误：第 {e.lineno} 行第 {e.colno} 列附近"
                continue
        elif spec.kind == "bool":
            value = text == "true"
        section, _, name = path.rpartition(".")
        (data.setdefault(section, {}) if section else data)[name] = value
    if errors:
        return Parsed(None, errors, [f"{SPECS[p].label}：{m}" for p, m in errors.items()])
    data.setdefault("note", "")
    try:
        return Parsed(Policy.model_validate(data), {}, [])
    except ValidationError as exc:
        found: dict[str, str] = {}
        for e in exc.errors(include_url=False, include_input=False):
            key = ".".join(str(p) for p in e["loc"][:2] if isinstance(p, str))
            found.setdefault(key, field_message(e))
        problems = [chinese_message(e) for e in exc.errors(include_url=False, include_input=False)]
        return Parsed(None, found, problems)


@dataclass(frozen=True)
class Change:
    path: str
    section: str
    label: str
    before: str
    after: str
    unit: str


def diff(base: Policy | None, new: Policy) -> list[Change]:
    """What `new` changes against `base` (the version in force), field by field; version and date aside."""
    if base is None:
        return []
    before, after = form_values(base), form_values(new)
    changes = []
    for section in SECTIONS:
        for spec in section.fields:
            if spec.path in ("version", "effective_from") or before[spec.path] == after[spec.path]:
                continue
            old, now = shown(spec, before[spec.path]), shown(spec, after[spec.path])
            changes.append(Change(spec.path, section.title, spec.label, old, now, spec.unit))
    return changes


def section_error_label(key: str) -> str:
    return field_label(tuple(key.split(".")))
