"""The roster of existing recipients (救助对象花名册) as imported from the national 社会救助信息系统: its columns
(one place: `COLUMNS`, the template's header and the other headers each column is known by), and one row,
validated with Chinese messages that name the column.

A roster has one row per household member; the household's own columns (kind of assistance, category, amount,
start month, place, bank account, last review) are read from the applicant's row (户主本人, the member whose ID
number is the applicant's) and may be left blank on the other members' rows, or repeated, and then say the same
(`group_problems`). Rows of one household share the applicant's ID number (or, where the file has one, the
household number 家庭编号, and then the applicant's ID number and name as well: a 户序号 that restarts per village
must not merge two households).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from schemas.identity import ResidentId, validate_phone

IMPORTED = "imported"  # the channel of the cases an import creates (no workflow: enrolled by the national system)


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # the template's header, as the national system exports it where known
    aliases: str = ""  # the other headers it is known by, separated by 、
    required: bool = True
    household: bool = False  # read from the applicant's row
    note: str = ""


# The one mapping of headers to fields. Headers are matched after dropping spaces and full-width/half-width
# brackets, so 月保障金(元), 月保障金（元） and 月保障金 are one column.
COLUMNS: tuple[Column, ...] = (
    Column(
        "household_no",
        "家庭编号",
        "户编号、家庭序号、户序号",
        required=False,
        note="可选；有则按它分户，无则按户主身份证号分户",
    ),
    Column(
        "township",
        "乡镇（街道）",
        "乡镇、街道、乡镇街道、所属乡镇、乡镇名称",
        household=True,
        note="名称或 9 位区划代码",
    ),
    Column(
        "village",
        "村（社区）",
        "村、社区、村社区、村居、所属村居、村（居）",
        household=True,
        note="名称或 12 位区划代码",
    ),
    Column("address", "家庭住址", "住址、居住地址、家庭地址", required=False, household=True),
    Column("phone", "联系电话", "电话、手机号码、联系方式", required=False, household=True),
    Column("hukou_type", "城乡类别", "户籍性质、城乡属性、城乡", household=True, note="城市 / 农村"),
    Column(
        "assistance_type", "救助类型", "保障类型、对象类型、救助类别、保障对象类型", household=True, note="低保 / 特困"
    ),
    Column(
        "category",
        "保障类别",
        "低保类别、分类施保类别、类别",
        required=False,
        household=True,
        note="低保：政策中的类别代码（A、B、C）；特困可空",
    ),
    Column(
        "monthly_amount",
        "月保障金（元）",
        "月保障金、保障金额、月救助金额、月发放金额、月补助金额",
        household=True,
        note="全户每月金额，两位小数",
    ),
    Column(
        "start_month",
        "保障起始年月",
        "开始发放年月、享受开始时间、救助开始时间、起始年月",
        household=True,
        note="YYYY-MM（或日期）",
    ),
    Column("applicant_name", "户主姓名", "申请人姓名"),
    Column("applicant_id", "户主身份证号", "户主身份证号码、申请人身份证号、申请人身份证号码"),
    Column("member_name", "成员姓名", "姓名、家庭成员姓名"),
    Column("member_id", "成员身份证号", "身份证号、身份证号码、公民身份号码、成员身份证号码"),
    Column("relation", "与户主关系", "与申请人关系、关系、家庭关系"),
    Column(
        "account_kind", "账户类型", "发放账户类型、账户性质", household=True, note="社会保障卡 / 银行卡 / 一卡通存折"
    ),
    Column("bank_name", "开户银行", "开户行、银行名称、发放银行", household=True),
    Column("account_number", "银行账号", "账号、卡号、发放账号、银行卡号", household=True),
    Column("account_holder", "账户户名", "户名、开户人姓名、持卡人姓名", household=True),
    Column(
        "last_review",
        "上次复核日期",
        "最近复核日期、上次核查日期、动态管理日期",
        required=False,
        household=True,
        note="YYYY-MM-DD；不知道可空",
    ),
)
BY_FIELD = {c.field: c for c in COLUMNS}
_BRACKETS = re.compile(r"[\s()（）【】\[\]]+")


def header_key(text: str) -> str:
    return _BRACKETS.sub("", str(text or ""))


HEADER_FIELDS: dict[str, str] = {
    header_key(name): c.field for c in COLUMNS for name in (c.header, *c.aliases.split("、")) if name
}

ASSISTANCE_TYPES = {
    "低保": "dibao",
    "最低生活保障": "dibao",
    "城市低保": "dibao",
    "农村低保": "dibao",
    "城乡低保": "dibao",
    "dibao": "dibao",
    "特困": "tekun",
    "特困供养": "tekun",
    "特困人员": "tekun",
    "特困人员供养": "tekun",
    "特困人员救助供养": "tekun",
    "tekun": "tekun",
}
HUKOU_TYPES = {"城市": "urban", "城镇": "urban", "urban": "urban", "农村": "rural", "rural": "rural"}
RELATIONS = {
    "本人": "self",
    "户主": "self",
    "申请人": "self",
    "配偶": "spouse",
    "妻": "spouse",
    "夫": "spouse",
    "妻子": "spouse",
    "丈夫": "spouse",
    "子女": "child",
    "子": "child",
    "女": "child",
    "儿子": "child",
    "女儿": "child",
    "长子": "child",
    "长女": "child",
    "次子": "child",
    "次女": "child",
    "父母": "parent",
    "父亲": "parent",
    "母亲": "parent",
    "兄弟姐妹": "sibling",
    "兄": "sibling",
    "弟": "sibling",
    "姐": "sibling",
    "妹": "sibling",
    "祖父母": "grandparent",
    "祖父": "grandparent",
    "祖母": "grandparent",
    "外祖父": "grandparent",
    "外祖母": "grandparent",
    "孙子女": "grandchild",
    "孙子": "grandchild",
    "孙女": "grandchild",
    "外孙子": "grandchild",
    "外孙女": "grandchild",
    "其他": "other",
}
ACCOUNT_KINDS = {
    "社会保障卡": "social_security_card",
    "社保卡": "social_security_card",
    "社会保障卡金融账户": "social_security_card",
    "银行卡": "bank_card",
    "储蓄卡": "bank_card",
    "一卡通": "yikatong_passbook",
    "一卡通存折": "yikatong_passbook",
    "存折": "yikatong_passbook",
}


def cell_text(value: Any) -> str:
    """A cell as text: blank for None, a whole number without its ".0" (Excel numbers), stripped."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _choice(table: dict[str, str], what: str) -> Any:
    def parse(value: Any) -> str:
        v = cell_text(value)
        if not v:
            raise PydanticCustomError("missing", "不能为空")
        code = table.get(v) or table.get(v.lower())
        if code is None:
            allowed = "、".join(dict.fromkeys(k for k in table if not k.isascii()))
            raise PydanticCustomError("choice", f"无法识别的{what}“{v}”（可填：{allowed}）")
        return code

    return BeforeValidator(parse)


def _required(value: Any) -> str:
    v = cell_text(value)
    if not v:
        raise PydanticCustomError("missing", "不能为空")
    return v


def _optional(value: Any) -> str | None:
    return cell_text(value) or None


def _amount(value: Any) -> Decimal:
    v = cell_text(value).replace(",", "").replace("，", "").removesuffix("元")
    if not v:
        raise PydanticCustomError("missing", "不能为空")
    try:
        amount = Decimal(v)
    except InvalidOperation:
        raise PydanticCustomError("amount", f"金额格式不正确：{v}") from None
    if not amount.is_finite():  # NaN, sNaN, Infinity: Decimal reads them, no amount is one
        raise PydanticCustomError("amount", f"金额格式不正确：{v}")
    try:
        cents = amount.quantize(Decimal("0.01"))
    except ArithmeticError:  # more digits than a Decimal keeps (1e30): decimal.InvalidOperation, not a ValueError
        raise PydanticCustomError("amount", f"金额超出范围：{v}") from None
    if amount <= 0 or amount != cents:
        raise PydanticCustomError("amount", f"金额应为大于0、最多两位小数的数：{v}")
    return amount


_MONTH = re.compile(r"(\d{4})\s*[-/.年]?\s*(\d{1,2})\s*(?:[-/.月]\s*(\d{1,2})\s*日?)?\s*月?")


def _date_of(value: Any, *, month_only: bool) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.replace(day=1) if month_only else value
    v = cell_text(value)
    if not v:
        return None
    m = _MONTH.fullmatch(v)
    day = int(m.group(3)) if m and m.group(3) else None
    if m is None or (day is None and not month_only):
        shape = "YYYY-MM" if month_only else "YYYY-MM-DD"
        raise PydanticCustomError("date", f"日期格式不正确：{v}（应为{shape}）")
    try:
        given = date(int(m.group(1)), int(m.group(2)), day or 1)
    except ValueError:  # 2026-02-30, 2026-13
        raise PydanticCustomError("date", f"日期不存在：{v}") from None
    return given.replace(day=1) if month_only else given


def _month(value: Any) -> date:
    d = _date_of(value, month_only=True)
    if d is None:
        raise PydanticCustomError("missing", "不能为空")
    return d


def _day(value: Any) -> date | None:
    return _date_of(value, month_only=False)


def _phone(value: Any) -> str | None:
    v = cell_text(value)
    if not v:
        return None
    try:
        return validate_phone(v)
    except ValueError as exc:
        raise PydanticCustomError("phone", str(exc)) from None


def _id(value: Any) -> str:
    v = cell_text(value)
    if not v:
        raise PydanticCustomError("missing", "不能为空")
    return v


RequiredText = Annotated[str, BeforeValidator(_required)]
OptionalText = Annotated[str | None, BeforeValidator(_optional)]


class RosterRow(BaseModel):
    """One member's row, each cell checked on its own (household checks: `infra.roster_import`)."""

    model_config = ConfigDict(frozen=True)

    household_no: OptionalText = None
    township: RequiredText
    village: RequiredText
    address: OptionalText = None
    phone: Annotated[str | None, BeforeValidator(_phone)] = None
    hukou_type: Annotated[Literal["urban", "rural"], _choice(HUKOU_TYPES, "城乡类别")]
    assistance_type: Annotated[Literal["dibao", "tekun"], _choice(ASSISTANCE_TYPES, "救助类型")]
    category: OptionalText = None
    monthly_amount: Annotated[Decimal, BeforeValidator(_amount)]
    start_month: Annotated[date, BeforeValidator(_month)]
    applicant_name: RequiredText
    applicant_id: Annotated[str, BeforeValidator(_id)]  # checked on the applicant's own row (member_id)
    member_name: RequiredText
    member_id: Annotated[ResidentId, BeforeValidator(_id)]
    relation: Annotated[str, _choice(RELATIONS, "与户主关系")]
    account_kind: Annotated[str, _choice(ACCOUNT_KINDS, "账户类型")] | None = None
    bank_name: OptionalText = None
    account_number: OptionalText = None
    account_holder: OptionalText = None
    last_review: Annotated[date | None, BeforeValidator(_day)] = None


MEMBER_FIELDS = frozenset(c.field for c in COLUMNS if not c.household)


def parse_row(values: dict[str, Any], applicant_row: bool) -> tuple[RosterRow | None, list[str]]:
    """The row, or the problems with it in Chinese, each naming its column. On rows other than the applicant's
    the household's columns may be blank: only the member's own columns are checked there."""
    data = values if applicant_row else _with_household_defaults(values)
    try:
        return RosterRow.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            field = str(e["loc"][0]) if e["loc"] else ""
            if not applicant_row and field not in MEMBER_FIELDS:
                continue
            header = BY_FIELD[field].header if field in BY_FIELD else field
            msg = "不能为空" if e["type"] == "missing" else e["msg"]
            problems.append(f"{header}：{msg}")
        return None, problems


_PLACEHOLDER = {
    "township": "-",
    "village": "-",
    "hukou_type": "农村",
    "assistance_type": "低保",
    "monthly_amount": "1",
    "start_month": "2000-01",
}


def _with_household_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """A member's row whose household columns are blank or unreadable validates on its own columns: the
    household's columns come from the applicant's row."""
    out = dict(values)
    for field in BY_FIELD:
        if BY_FIELD[field].household:
            out[field] = _PLACEHOLDER.get(field)
    return out


HOUSEHOLD_FIELDS = tuple(c.field for c in COLUMNS if c.household)
PLACE_FIELDS = frozenset({"township", "village"})  # compared by the place they name: `SamePlace`
_OWN_ON_MEMBER_ROWS = frozenset({"phone"})  # a member's row may give the member's own phone number
SamePlace = Callable[[str, str, dict[str, Any]], bool]  # (field, a member row's cell, the applicant's row)


def group_problems(rows: Sequence[tuple[int, dict[str, Any]]], same_place: SamePlace) -> list[tuple[int, str]]:
    """What is wrong with the rows one 家庭编号 groups, as (row, problem): `rows[0]` is the applicant's own row; every
    other row must carry its 户主身份证号 and 户主姓名 (else it is another household's: a sequence number that restarts
    per village), none may say 本人 again, and a household column a member's row fills in must say what the
    applicant's row says (the township and village: the same place, by name or code, `same_place`)."""
    head_no, head = rows[0]
    out: list[tuple[int, str]] = []
    for row_no, v in rows[1:]:
        if cell_text(v.get("applicant_id")).upper() != cell_text(head.get("applicant_id")).upper():
            header = BY_FIELD["applicant_id"].header
            out.append((row_no, f"{header}：家庭编号与户主身份证号不一致（与第{head_no}行的户主不是同一人）"))
        if cell_text(v.get("applicant_name")) != cell_text(head.get("applicant_name")):
            header = BY_FIELD["applicant_name"].header
            out.append((row_no, f"{header}：家庭编号与户主姓名不一致（与第{head_no}行不同）"))
        if RELATIONS.get(cell_text(v.get("relation"))) == "self":
            header = BY_FIELD["relation"].header
            out.append((row_no, f"{header}：本户已有户主本人一行（第{head_no}行），不能再有一行“本人”"))
        out += [(row_no, p) for p in _household_mismatches(head, v, head_no, same_place)]
    return out


def _household_mismatches(
    head: dict[str, Any], member: dict[str, Any], head_no: int, same_place: SamePlace
) -> list[str]:
    given = [f for f in HOUSEHOLD_FIELDS if f not in _OWN_ON_MEMBER_ROWS and cell_text(member.get(f))]
    try:
        theirs = RosterRow.model_validate(head)
    except ValidationError:
        return []  # the applicant's own row is at fault, and says so
    try:
        mine = RosterRow.model_validate(head | {f: member[f] for f in given if f not in PLACE_FIELDS})
    except ValidationError as exc:
        return [f"{BY_FIELD[str(e['loc'][0])].header}：{e['msg']}" for e in exc.errors() if e["loc"]]

    def differs(f: str) -> bool:
        if f in PLACE_FIELDS:
            return not same_place(f, cell_text(member[f]), head)
        return _same(f, getattr(mine, f)) != _same(f, getattr(theirs, f))

    return [f"{BY_FIELD[f].header}：与户主本人一行（第{head_no}行）不一致" for f in given if differs(f)]


def _same(field: str, value: Any) -> Any:
    return value.removesuffix("类") if field == "category" and isinstance(value, str) else value


def row_is_blank(values: dict[str, Any]) -> bool:
    return all(not cell_text(v) for v in values.values())
