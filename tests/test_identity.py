"""Resident ID and phone validation, masking and the log scrubber."""

from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from schemas.identity import (
    Phone,
    ResidentId,
    id_age_on,
    id_birth_date,
    id_is_male,
    mask_id,
    mask_phone,
    mask_pii,
    validate_phone,
    validate_resident_id,
)

FEMALE_1949 = "11010519491231002X"
MALE_1880 = "440524188001010014"
LEAP_DAY_2000 = "110105200002290013"


class Applicant(BaseModel):
    id_number: ResidentId
    phone: Phone | None = None


# --- resident ID -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [FEMALE_1949, MALE_1880, LEAP_DAY_2000])
def test_valid_ids_pass_unchanged(value):
    assert validate_resident_id(value) == value


def test_lower_case_x_and_surrounding_spaces_are_normalised():
    assert validate_resident_id("  11010519491231002x \u3000") == FEMALE_1949


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "身份证号码不能为空"),
        ("11010519491231002", "身份证号码应为18位，实际为17位"),
        ("11010519491231002X1", "身份证号码应为18位，实际为19位"),
        ("1101051949123100X2", "身份证号码只能包含数字，最后一位可为X"),
        ("11010519491231002Y", "身份证号码只能包含数字，最后一位可为X"),
        ("１1010519491231002X", "身份证号码只能包含数字，最后一位可为X"),  # full-width digit
        ("010105194912310028", "身份证号码地区代码无效：010105"),
        ("110105194913310021", "身份证号码出生日期无效：19491331"),
        ("110105190102290021", "身份证号码出生日期无效：19010229"),  # 1901 is not a leap year
        ("110105184912310021", "身份证号码出生日期无效：18491231"),  # before 1850
        ("110105194912310021", "身份证号码校验位错误：应为X，实际为1"),
    ],
)
def test_invalid_ids_say_why(value, message):
    with pytest.raises(ValueError) as exc:
        validate_resident_id(value)
    assert str(exc.value) == message


def test_model_field_normalises_and_rejects_with_chinese_message():
    assert Applicant(id_number="11010519491231002x").id_number == FEMALE_1949
    with pytest.raises(ValidationError) as exc:
        Applicant(id_number="110105194912310021")
    [error] = exc.value.errors()
    assert error["loc"] == ("id_number",)
    assert error["msg"] == "身份证号码校验位错误：应为X，实际为1"


def test_birth_date_and_sex():
    assert id_birth_date(FEMALE_1949) == date(1949, 12, 31)
    assert id_birth_date(MALE_1880) == date(1880, 1, 1)
    assert id_is_male(MALE_1880) is True
    assert id_is_male(FEMALE_1949) is False
    with pytest.raises(ValueError, match="校验位"):
        id_birth_date("110105194912310021")


def test_age_counts_full_years_and_rises_on_the_birthday():
    assert id_age_on(FEMALE_1949, date(2009, 12, 30)) == 59
    assert id_age_on(FEMALE_1949, date(2009, 12, 31)) == 60
    assert id_age_on(FEMALE_1949, date(1949, 12, 31)) == 0
    # Born on 29 February: in a common year the new age starts on 1 March.
    assert id_age_on(LEAP_DAY_2000, date(2018, 2, 28)) == 17
    assert id_age_on(LEAP_DAY_2000, date(2018, 3, 1)) == 18
    assert id_age_on(LEAP_DAY_2000, date(2020, 2, 29)) == 20
    with pytest.raises(ValueError, match="早于出生日期"):
        id_age_on(FEMALE_1949, date(1949, 12, 30))


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (FEMALE_1949, "110105********002X"),
        (" 440524188001010014 ", "440524********0014"),
        ("1101051949", "********49"),
        ("ab", "ab"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_id(value, masked):
    assert mask_id(value) == masked


# --- phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("13812345678", "13812345678"),
        (" 138 1234 5678 ", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("+86-19912345678", "19912345678"),
        ("0564-1234567", "0564-1234567"),
        ("05641234567", "0564-1234567"),
        ("056-41234567", "0564-1234567"),  # area-code length comes from the numbering plan
        ("0564 12345678", "0564-12345678"),
        ("010-12345678", "010-12345678"),
        ("02112345678", "021-12345678"),
    ],
)
def test_phone_normalisation(value, normalised):
    assert validate_phone(value) == normalised


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12812345678",  # second digit must be 3-9
        "1381234567",  # 10 digits
        "138123456789",
        "+8605641234567",  # +86 only for mobiles
        "+1 2025550123",
        "0564-123456",  # local part too short
        "0564-123456789",
        "95588",
        "138(1234)5678",
    ],
)
def test_invalid_phone_says_so_in_chinese(value):
    with pytest.raises(ValueError, match=r"^电话号码格式不正确："):
        validate_phone(value)


def test_phone_model_field():
    assert Applicant(id_number=FEMALE_1949, phone="+86 138 1234 5678").phone == "13812345678"
    with pytest.raises(ValidationError) as exc:
        Applicant(id_number=FEMALE_1949, phone="12345")
    assert exc.value.errors()[0]["msg"].startswith("电话号码格式不正确：")


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("0564-1234567", "0564-*****67"),
        ("01012345678", "010-******78"),
        ("12345", "***45"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


# --- log scrubbing ---------------------------------------------------------------------------


def test_mask_pii_masks_nested_values_without_touching_the_callers_objects():
    applicant = {"id": MALE_1880, "phones": ["13812345678", "0564-1234567"], "age": 13812345678}
    event = {
        "event": f"申请人身份证号{FEMALE_1949.lower()}，手机+86 139-1234-5678已登记",
        "applicant": applicant,
        "history": ({"note": "电话13912345678。"},),
        "workflow_id": "case-a13812345678b",
        "run_id": "1381234567890",
    }
    out = mask_pii(None, "info", event)
    assert out["event"] == "申请人身份证号110105********002x，手机139****5678已登记"
    assert out["applicant"] == {
        "id": "440524********0014",
        "phones": ["138****5678", "0564-1234567"],  # landlines are not scrubbed
        "age": 13812345678,  # only strings are scanned
    }
    assert out["history"] == ({"note": "电话139****5678。"},)
    assert out["workflow_id"] == "case-a13812345678b"  # digits inside an identifier are left alone
    assert out["run_id"] == "1381234567890"  # longer digit runs are not phone numbers
    assert applicant["id"] == MALE_1880 and applicant["phones"][0] == "13812345678"


def test_mask_pii_survives_self_referencing_containers():
    loop: dict = {"phone": "13812345678"}
    loop["self"] = loop
    out = mask_pii(None, "info", {"data": loop})
    assert out["data"]["phone"] == "138****5678"
