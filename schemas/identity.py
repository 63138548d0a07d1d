"""Resident ID numbers (居民身份证号码) and phone numbers: validation, normalisation and masking.

Error messages are Chinese because the UI shows them to caseworkers as they are. Masking never
raises: it runs inside logging and list rendering, where an exception would lose the record.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# --- resident ID (GB 11643-1999) -------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# [0-9] rather than \d: \d also matches full-width and other Unicode digits, which int() accepts.
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_MIN_BIRTH_YEAR = 1850


def _check_char(first17: str) -> str:
    return _ID_CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def complete_resident_id(first17: str) -> str:
    """The 18-character ID number whose first 17 characters are `first17` (its check character appended)."""
    return first17 + _check_char(first17)


def validate_resident_id(value: str) -> str:
    """Return the ID upper-cased and stripped, or raise ValueError saying in Chinese what is wrong.

    Checks run from coarse to fine so the message names the first real problem, not a symptom.
    """
    if not isinstance(value, str):
        raise ValueError("身份证号码应为文本")
    v = value.strip().upper()
    if not v:
        raise ValueError("身份证号码不能为空")
    if len(v) != 18:
        raise ValueError(f"身份证号码应为18位，实际为{len(v)}位")
    if not _ID_SHAPE.fullmatch(v):
        raise ValueError("身份证号码只能包含数字，最后一位可为X")
    if v[0] == "0":
        raise ValueError(f"身份证号码地区代码无效：{v[:6]}")
    birth = v[6:14]
    try:
        born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        born = None
    if born is None or born.year < _MIN_BIRTH_YEAR:
        raise ValueError(f"身份证号码出生日期无效：{birth}")
    expected = _check_char(v[:17])
    if v[17] != expected:
        raise ValueError(f"身份证号码校验位错误：应为{expected}，实际为{v[17]}")
    return v


def id_birth_date(id: str) -> date:
    """Birth date encoded in the ID (validated first, so garbage raises ValueError, not a wrong date)."""
    v = validate_resident_id(id)
    return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))


def id_is_male(id: str) -> bool:
    """The 3-digit sequence is odd for men and even for women."""
    return int(validate_resident_id(id)[16]) % 2 == 1


def id_age_on(id: str, day: date) -> int:
    """Full years (周岁) on `day`; the age rises on the birthday itself, on 1 March for 29 February."""
    born = id_birth_date(id)
    if day < born:
        raise ValueError(f"日期{day.isoformat()}早于出生日期{born.isoformat()}")
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _as_pydantic_error(kind: str, check: Callable[[str], str]) -> Callable[[str], str]:
    """Re-raise as PydanticCustomError so `errors()[i]["msg"]` is the bare Chinese text (no "Value error, ")."""

    def run(value: str) -> str:
        try:
            return check(value)
        except ValueError as exc:
            raise PydanticCustomError(kind, str(exc)) from None

    return run


ResidentId = Annotated[str, AfterValidator(_as_pydantic_error("resident_id", validate_resident_id))]
"""18-character resident ID, normalised to upper case; invalid input fails with a Chinese message."""


def _mask_tail(value: str, keep: int = 2) -> str:
    return "*" * max(len(value) - keep, 0) + value[-keep:] if value else ""


def mask_id(value: str) -> str:
    """First 6 + 8 "*" + last 4 ("110105********002X"): tells records apart, hides the birth date."""
    s = "" if value is None else str(value).strip()
    if len(s) == 18:
        return s[:6] + "*" * 8 + s[-4:]
    return _mask_tail(s)


# --- phone numbers ---------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_CHARS = re.compile(r"\+?[0-9]+")
_PHONE_HINT = "（应为11位手机号，或带区号的固定电话如0564-1234567）"


def _phone_error(why: str) -> ValueError:
    return ValueError(f"电话号码格式不正确：{why}")


def validate_phone(value: str) -> str:
    """Return a mobile as 11 digits or a landline as "0564-1234567"; raise ValueError (Chinese) otherwise.

    Hyphens the user typed are ignored: the area-code length follows from the numbering plan
    (010 and 02x are three digits, every other code four), so "056-41234567" and "0564-1234567" agree.
    """
    if not isinstance(value, str):
        raise _phone_error("应为文本")
    raw = value.strip()
    v = re.sub(r"[\s-]", "", raw)
    if not v:
        raise _phone_error("号码为空")
    if not _PHONE_CHARS.fullmatch(v):
        raise _phone_error(f"只能包含数字、空格、连字符和+86前缀：{raw}")
    if v.startswith("+") or (v.startswith("86") and len(v) == 13):
        if not v.startswith(("+86", "86")) or not _MOBILE.fullmatch(v.removeprefix("+").removeprefix("86")):
            raise _phone_error(f"国际区号后应为11位手机号：{raw}")
        return v.removeprefix("+")[2:]
    if v[0] == "1":
        if not _MOBILE.fullmatch(v):
            raise _phone_error(f"手机号应为11位且第二位为3-9：{raw}")
        return v
    if v[0] == "0":
        area_len = 3 if v[1:2] in ("1", "2") else 4
        area, local = v[:area_len], v[area_len:]
        if not 7 <= len(local) <= 8:
            raise _phone_error(f"固定电话区号{area}后应为7-8位号码：{raw}")
        return f"{area}-{local}"
    raise _phone_error(f"{raw}{_PHONE_HINT}")


Phone = Annotated[str, AfterValidator(_as_pydantic_error("phone", validate_phone))]
"""Chinese mobile or landline number, normalised by `validate_phone`."""


def mask_phone(value: str) -> str:
    """Mobile "138****5678"; landline keeps area code and last 2 digits; anything else all but last 2."""
    s = "" if value is None else str(value).strip()
    try:
        v = validate_phone(s)
    except ValueError:
        return _mask_tail(s)
    if "-" in v:
        area, local = v.split("-")
        return f"{area}-{_mask_tail(local)}"
    return v[:3] + "****" + v[-4:]


def mask_name(value: str) -> str:
    """A person's name with only its first character shown: "张三" -> "张*", "欧阳娜娜" -> "欧***"."""
    s = (value or "").strip()
    return s[:1] + "*" * max(len(s) - 1, 1) if s else ""


# --- log scrubbing ---------------------------------------------------------------------------

# Lookarounds instead of \b: in Unicode mode Chinese characters count as word characters, so
# `\b` would miss "身份证号11010519491231002X". ASCII letters still block a match, which keeps
# digit runs inside hex ids (UUIDs, trace ids) intact.
_EDGE_BEFORE = r"(?<![0-9A-Za-z_])"
_EDGE_AFTER = r"(?![0-9A-Za-z_])"
_ID_IN_TEXT = re.compile(_EDGE_BEFORE + r"[0-9]{17}[0-9Xx]" + _EDGE_AFTER)
# Optional +86 and 3-4-4 separators: "+86 138-1234-5678" is as much a phone number as "13812345678".
_MOBILE_IN_TEXT = re.compile(_EDGE_BEFORE + r"(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}" + _EDGE_AFTER)
_MAX_DEPTH = 20  # guards against self-referencing containers; a log processor must not raise


def _mask_text(text: str) -> str:
    text = _ID_IN_TEXT.sub(lambda m: mask_id(m.group()), text)
    return _MOBILE_IN_TEXT.sub(lambda m: mask_phone(m.group()), text)


def _mask_value(value: Any, depth: int = 0) -> Any:
    # New containers rather than in-place edits: nested dicts and lists belong to the caller.
    if isinstance(value, str):
        return _mask_text(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: _mask_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        masked = [_mask_value(v, depth + 1) for v in value]
        return tuple(masked) if isinstance(value, tuple) else masked
    return value


def mask_pii(logger: Any, method_name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask resident IDs and mobile numbers in string values, nested ones included.

    Place it before the renderer (and after `format_exc_info`, so tracebacks are scrubbed too).
    """
    for key, value in event_dict.items():
        event_dict[key] = _mask_value(value)
    return event_dict


# --- numbers chosen by users ------------------------------------------------------------------

# A case or event number goes into URLs and logs, so it must not be, or hold, a resident ID number or a mobile
# number. Stricter than the log scrubbing (`mask_pii`): letters around the digits do not hide them here, and any
# 11 digits from a 1 count as a mobile number (also as +86 and 3-4-4 groups).
_ID_RUN = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_MOBILE_RUN = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[0-9]{2}(?:[ -]?[0-9]{4}){2}(?![0-9])")
PERSONAL_NUMBER_REFUSED = "不能是身份证号码或手机号码，也不能含有它们（编号会出现在网址和日志中）"


def holds_personal_number(value: str | None) -> bool:
    """Whether a number a user chose (a case's, an event's) is, or holds, something shaped like a resident ID
    number (17 digits and a digit or X; the check digit is not asked) or a mobile number (11 digits from a 1),
    full-width characters made half-width and spaces dropped first."""
    plain = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    return bool(_ID_RUN.search(plain) or _MOBILE_RUN.search(plain))
