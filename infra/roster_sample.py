"""A generated roster (`jiuzhu roster sample`, the benchmark, the tests, the template the page serves): households
of one to four members in the demo villages of the pilot townships, valid ID numbers and bank-card numbers,
amounts within the policy's default standards, and, on request, N deliberate errors in N different households
(a bad ID check character, an unknown village, an amount over the standard, a bad card number, the same person
twice), so that the same command with `errors=0` gives the corrected file.

Deterministic: the same arguments give the same rows (the i-th household and its people depend on i only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from stdnum import luhn

from schemas.identity import complete_resident_id
from schemas.roster import COLUMNS

# (township, village, urban?) of the seed's demo villages (migration 0001).
VILLAGES = (
    ("石婆店镇", "石婆店镇示范村一", False),
    ("石婆店镇", "石婆店镇示范村二", False),
    ("顺河镇", "顺河镇示范村一", False),
    ("顺河镇", "顺河镇示范村二", False),
    ("鼓楼街道", "鼓楼街道第一社区", True),
    ("鼓楼街道", "鼓楼街道第二社区", True),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("秀英", "桂英", "明", "伟", "芳", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "超", "霞")
RELATIONS = ("本人", "配偶", "子女", "子女")
BANKS = ("中国农业银行", "中国邮政储蓄银行", "中国工商银行", "安徽裕安农村商业银行")
ERROR_KINDS = ("bad_id", "unknown_village", "amount", "bad_account", "duplicate")
# Dibao rural 722, urban 911 a person (schemas.policy.Standards' defaults): amounts stay below them.
PER_PERSON = {False: Decimal("650.00"), True: Decimal("820.00")}
HEADERS = [c.header for c in COLUMNS]
SIZES = (3, 3, 2, 4, 2, 3, 3, 2)  # with one tekun household of one in nine: 2.56 people a household


@dataclass(frozen=True)
class Fault:
    row: int  # spreadsheet row number
    kind: str


def person_id(n: int, region: str = "341503") -> str:
    """A valid ID number for person number `n` (distinct numbers give distinct IDs up to 18 million people)."""
    born = date(1940, 1, 1) + timedelta(days=(n // 500) % 29000)
    seq = (n % 500) * 2 + (n // 14_500_000) % 2
    return complete_resident_id(f"{region}{born:%Y%m%d}{seq:03d}")


def card_number(n: int) -> str:
    body = f"622848{n:012d}"
    return body + luhn.calc_check_digit(body)


def _name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)]


Sample = tuple[list[str], list[list[str]], list["Fault"]]


def sample(households: int, errors: int = 0, *, first_person: int = 0) -> Sample:
    """The header, the rows and where the deliberate errors are."""
    if errors > households:
        raise ValueError("errors must not exceed households")
    at = {round(i * households / errors) + households // (2 * errors) if errors else -1: i for i in range(errors)}
    rows: list[list[str]] = []
    faults: list[Fault] = []
    person = first_person
    first_row_of: dict[int, int] = {}
    for h in range(households):
        township, village, urban = VILLAGES[h % len(VILLAGES)]
        tekun = h % 9 == 0
        size = 1 if tekun else SIZES[h % len(SIZES)]
        applicant = person_id(person)
        names = [_name(person + k) for k in range(size)]
        per = Decimal("938.00" if not urban else "1184.00") if tekun else PER_PERSON[urban] - (h % 5) * 10
        last = None if h % 3 == 0 else date(2025, 12, 1) + timedelta(days=(h * 37) % 360)
        household = {
            "household_no": f"H{h + 1:06d}",
            "township": township,
            "village": village,
            "address": f"{village}{h % 40 + 1}组",
            "phone": "",
            "hukou_type": "城市" if urban else "农村",
            "assistance_type": "特困" if tekun else "低保",
            "category": "" if tekun else "ABC"[h % 3],
            "monthly_amount": f"{per * size:.2f}",
            "start_month": f"{2015 + h % 11}-{h % 12 + 1:02d}",
            "applicant_name": names[0],
            "applicant_id": applicant,
            "account_kind": "社会保障卡" if h % 2 else "银行卡",
            "bank_name": BANKS[h % len(BANKS)],
            "account_number": card_number(h + first_person),
            "account_holder": names[0],
            "last_review": last.isoformat() if last else "",
        }
        fault = ERROR_KINDS[at[h] % len(ERROR_KINDS)] if h in at else None
        first_row_of[h] = len(rows) + 2
        for k in range(size):
            member = {"member_name": names[k], "member_id": person_id(person + k), "relation": RELATIONS[min(k, 3)]}
            values = (
                household | member
                if k == 0
                else {"household_no": household["household_no"]}
                | {
                    "applicant_name": names[0],
                    "applicant_id": applicant,
                }
                | member
            )
            rows.append([values.get(c.field, "") for c in COLUMNS])
        person += size
        if fault:
            faults.append(Fault(_plant(rows, fault, first_row_of, h, size), fault))
    return HEADERS, rows, faults


def _plant(rows: list[list[str]], fault: str, first_row_of: dict[int, int], h: int, size: int) -> int:
    """Spoil household `h` (its rows are the last `size`); the spreadsheet row at fault."""
    col = {c.field: i for i, c in enumerate(COLUMNS)}
    first = len(rows) - size
    row = rows[-1]  # the last member (the applicant when alone)
    if fault == "bad_id":
        good = row[col["member_id"]]
        row[col["member_id"]] = good[:17] + ("0" if good[17] != "0" else "1")
        if size == 1:
            row[col["applicant_id"]] = row[col["member_id"]]
            return first + 2
        return len(rows) + 1
    applicant = rows[first]
    if fault == "unknown_village":
        applicant[col["village"]] = "不存在村"
    elif fault == "amount":
        applicant[col["monthly_amount"]] = f"{Decimal(applicant[col['monthly_amount']]) + Decimal('5000'):.2f}"
    elif fault == "bad_account":
        number = applicant[col["account_number"]]
        applicant[col["account_number"]] = number[:-1] + str((int(number[-1]) + 1) % 10)
    elif fault == "duplicate":  # this household's applicant again, as a member of the household before it
        copy = list(applicant)
        before = first_row_of[h - 1] if h else first_row_of[h]
        previous = rows[before - 2]
        for f in ("household_no", "applicant_name", "applicant_id"):
            copy[col[f]] = previous[col[f]]
        copy[col["relation"]] = "其他"
        for f in (c.field for c in COLUMNS if c.household and c.field != "household_no"):
            copy[col[f]] = ""
        rows.append(copy)
        return len(rows) + 1
    return first + 2
