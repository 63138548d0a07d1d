"""Validation messages name their field in Chinese (issue 17, point 6), through the one catalog
webapp/field_labels.py: the emergency form, the calendar import, the policy form and the API alike."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from db.calendar_repo import Notice
from schemas.policy import Policy
from tests.support.factories import resident_id
from webapp.admin.policy_form import SPECS, form_values, parse
from webapp.emergency.models import EmergencyIn
from webapp.errors import chinese_message, field_message, missing_message
from webapp.field_labels import FIELD_LABELS


def messages(exc: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [chinese_message(e) for e in exc.value.errors()]


def test_the_emergency_form_names_the_id_number_in_chinese() -> None:
    good = resident_id(date(1966, 8, 8))
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    household = {"name": "钱八", "id_number": bad, "township_code": "341503106", "village_code": "341503106201"}
    with pytest.raises(ValidationError) as exc:
        EmergencyIn.model_validate(
            {"kind": "illness", "description": "突发脑出血住院", "household": household | {"address": "示范村一"}}
        )
    assert messages(exc) == [f"身份证号码：身份证号码校验位错误：应为{good[-1]}，实际为{bad[-1]}"]


def test_the_calendar_import_names_its_fields() -> None:
    with pytest.raises(ValidationError) as exc:
        Notice.model_validate({"year": 1999, "holidays": []})
    assert messages(exc) == ["年份：不能小于 2004", "来源（通知名称或文号）：为必填项", "放假日期：至少 1 项"]


def test_request_wrappers_are_not_fields_and_unknown_keys_keep_their_name() -> None:
    assert chinese_message({"type": "missing", "loc": ("body", "household", "phone")}) == "联系电话：为必填项"
    assert chinese_message({"type": "enum", "loc": ("body", "path")}) == "救助方式：取值无效"  # EmergencyIn.path
    assert chinese_message({"type": "extra_forbidden", "loc": ("body", "surprise")}) == "surprise：不允许的字段"
    assert chinese_message({"type": "string_pattern_mismatch", "loc": ("township_code",)}) == "请选择乡镇（街道）"


def test_beside_its_field_a_message_says_what_to_do() -> None:
    short = {"type": "string_too_short", "loc": ("description",), "ctx": {"min_length": 4}}
    assert field_message(short) == "请写明情况，至少 4 个字"
    assert missing_message("phone") == "请填写联系电话"
    assert missing_message("needs") == "请至少选择一项求助事项"


def test_every_policy_field_has_a_chinese_label() -> None:
    assert [path for path, spec in SPECS.items() if spec.label == path] == []
    assert all(not key.isascii() for key in (FIELD_LABELS[p] for p in SPECS))


def test_the_policy_form_reads_back_and_names_what_is_wrong() -> None:
    values = form_values(Policy())
    assert parse(values).policy == Policy()
    values |= {"review.notice_unit": "weeks", "standards.tekun_rural": "700.00", "review.min_investigators": ""}
    parsed = parse(values)
    assert parsed.policy is None and parsed.errors == {"review.min_investigators": "为必填项"}
    assert parsed.problems == ["入户调查最少人数：为必填项"]
    values["review.min_investigators"] = "2"
    parsed = parse(values)
    assert parsed.errors == {
        "review.notice_unit": "取值无效",
        "standards": "农村特困供养标准低于农村低保标准的 1.3 倍",
    }
    assert parsed.problems == ["公示期计算方式：取值无效", "保障标准：农村特困供养标准低于农村低保标准的 1.3 倍"]
