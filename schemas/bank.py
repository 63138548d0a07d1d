"""Payment accounts of recipients (发放账户): what kind of account, its number validated and masked, and whose
name it is in. The number itself goes only into the payroll's bank file; everywhere else it is masked.

Bank cards and the financial account of a social-security card are payment-card numbers (ISO/IEC 7812, 12-19
digits) and carry a Luhn check digit (checked with python-stdnum's `luhn`); a passbook account of the
惠民惠农财政补贴资金"一卡通" has no check digit, only digits.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from stdnum import luhn

from schemas.identity import id_age_on

AccountKind = Literal["social_security_card", "bank_card", "yikatong_passbook"]
HolderRelation = Literal["self", "guardian"]

KIND_LABELS: dict[str, str] = {
    "social_security_card": "社会保障卡金融账户",
    "bank_card": "银行卡",
    "yikatong_passbook": "一卡通存折",
}
HOLDER_LABELS: dict[str, str] = {"self": "本人", "guardian": "监护人"}

_SPACES = re.compile(r"[\s-]+")
_DIGITS = re.compile(r"[0-9]+")
CARD_KINDS = frozenset({"social_security_card", "bank_card"})


def normalise_account_number(value: str) -> str:
    """Digits only: spaces and hyphens as printed on a card are dropped; anything else is an error."""
    v = _SPACES.sub("", value or "")
    if not v:
        raise ValueError("账号不能为空")
    if not _DIGITS.fullmatch(v):
        raise ValueError("账号只能包含数字")
    return v


def validate_account_number(kind: str, value: str) -> str:
    """The normalised number, or ValueError saying in Chinese what is wrong."""
    v = normalise_account_number(value)
    if kind in CARD_KINDS:
        if not 12 <= len(v) <= 19:
            raise ValueError(f"卡号应为12至19位数字，实际为{len(v)}位")
        if not luhn.is_valid(v):
            raise ValueError("卡号校验位错误，请核对卡号")
    elif not 8 <= len(v) <= 30:
        raise ValueError(f"存折账号应为8至30位数字，实际为{len(v)}位")
    return v


def mask_account(value: str | None) -> str:
    """`6222 **** **** 0123`-style: the first four and the last four digits. Never raises."""
    v = _SPACES.sub("", value or "")
    if len(v) <= 8:
        return "*" * len(v)
    return f"{v[:4]} **** {v[-4:]}"


def _chinese(exc: ValueError) -> PydanticCustomError:
    return PydanticCustomError("account_number", str(exc))


class PaymentAccount(BaseModel):
    """A recipient's account as captured at enrolment or import (or changed later)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    kind: AccountKind
    bank_name: Annotated[str, Field(min_length=2, max_length=60)]
    account_number: str
    holder_name: Annotated[str, Field(min_length=1, max_length=40)]
    holder_relation: HolderRelation = "self"

    @field_validator("account_number")
    @classmethod
    def _number(cls, value: str, info: ValidationInfo) -> str:
        try:
            return validate_account_number(info.data.get("kind", "bank_card"), value)
        except ValueError as exc:
            raise _chinese(exc) from None

    @property
    def masked(self) -> str:
        return mask_account(self.account_number)


GUARDIAN_MIN_AGE = 18


def guardian_names(members: list[tuple[str, str, bool]], on: date) -> set[str]:
    """Who may hold a recipient's account as guardian (监护人): Jiuzhu's household data marks no guardianship,
    so an adult member (18 or older on `on`, by the ID number) of the recipient's own household other than the
    recipient stands for it; the reason given with the account records the guardianship. `members` are
    (name, ID number, is the applicant)."""
    out = set()
    for name, id_number, is_applicant in members:
        try:
            adult = id_age_on(id_number, on) >= GUARDIAN_MIN_AGE
        except ValueError:
            adult = False
        if adult and not is_applicant:
            out.add(name)
    return out


def check_holder(account: PaymentAccount, recipient_name: str, guardian_names: set[str]) -> None:
    """The account is in the recipient's name, or (relation `guardian`) in the name of a guardian of theirs."""
    if account.holder_relation == "self" and account.holder_name != recipient_name:
        raise ValueError(f"账户户名（{account.holder_name}）与救助对象姓名（{recipient_name}）不一致")
    if account.holder_relation == "guardian" and account.holder_name not in guardian_names:
        raise ValueError(f"账户户名（{account.holder_name}）不是救助对象的监护人")


class AccountChange(BaseModel):
    """A new account for a recipient: who set it and why (every change is kept)."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    account: PaymentAccount
    changed_by: str
    reason: Annotated[str, Field(min_length=2, max_length=200)]
