"""Payment accounts: numbers validated (Luhn for cards), masked, in the recipient's or a guardian's name; a
change supersedes the current account and keeps who and why; the same account twice is one row."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from db import accounts_repo
from schemas.bank import AccountChange, PaymentAccount, check_holder, mask_account
from tests.support.clients import insert_case

# 6222 0212 3456 7890 12x: a 19-digit card number whose check digit is 8 (Luhn).
CARD = "6222021234567890128"


def account(**over) -> PaymentAccount:
    return PaymentAccount.model_validate(
        {"kind": "bank_card", "bank_name": "中国工商银行", "account_number": CARD, "holder_name": "张三"} | over
    )


def test_a_card_number_passes_the_luhn_check_and_is_normalised() -> None:
    assert account(account_number="6222 0212-3456 7890 128").account_number == CARD
    assert account().masked == "6222 **** 0128"
    assert mask_account("1234") == "****"


@pytest.mark.parametrize(
    ("kind", "number", "message"),
    [
        ("bank_card", "6222021234567890123", "卡号校验位错误，请核对卡号"),
        ("social_security_card", "62220212345", "卡号应为12至19位数字，实际为11位"),
        ("bank_card", "6222O21234567890128", "账号只能包含数字"),
        ("yikatong_passbook", "1234567", "存折账号应为8至30位数字，实际为7位"),
    ],
)
def test_a_wrong_number_is_refused_in_chinese(kind: str, number: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        account(kind=kind, account_number=number)
    (e,) = err.value.errors()
    assert (e["loc"], e["msg"]) == (("account_number",), message)


def test_a_passbook_number_has_no_check_digit() -> None:
    assert account(kind="yikatong_passbook", account_number="34150300012345").account_number == "34150300012345"


def test_the_account_is_in_the_recipients_or_a_guardians_name() -> None:
    check_holder(account(), "张三", set())
    check_holder(account(holder_name="李四", holder_relation="guardian"), "张三", {"李四"})
    with pytest.raises(ValueError, match="账户户名（李四）与救助对象姓名（张三）不一致"):
        check_holder(account(holder_name="李四"), "张三", {"李四"})
    with pytest.raises(ValueError, match="账户户名（王五）不是救助对象的监护人"):
        check_holder(account(holder_name="王五", holder_relation="guardian"), "张三", {"李四"})


async def test_a_change_supersedes_the_current_account_and_keeps_the_history(pool) -> None:
    case_id = "SP-2026-0001"
    await insert_case(pool, case_id, stage="enrolled", status="closed")
    db = pool
    first = AccountChange(case_id=case_id, account=account(), changed_by="shipo_jingban", reason="入保时登记")
    async with db.acquire() as conn:
        assert await accounts_repo.set_account(conn, first) is True
        assert await accounts_repo.set_account(conn, first) is False  # a retry adds nothing
        other = account(bank_name="中国农业银行", account_number="4111111111111111")
        change = AccountChange(case_id=case_id, account=other, changed_by="shipo_jingban", reason="原卡已注销")
        assert await accounts_repo.set_account(conn, change) is True
    now = await accounts_repo.current(db, case_id)
    assert now is not None and (now.account.account_number, now.reason) == ("4111111111111111", "原卡已注销")
    rows = await accounts_repo.history(db, case_id)
    assert [(r.account.account_number, r.superseded_at is None) for r in rows] == [
        ("4111111111111111", True),
        (CARD, False),
    ]
    masked = await db.fetch("select account_masked from payment_accounts where case_id = $1 order by id", case_id)
    assert [r["account_masked"] for r in masked] == ["6222 **** 0128", "4111 **** 1111"]
