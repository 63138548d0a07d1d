"""Importing the roster of existing recipients (issue 18, point 1), for `jiuzhu roster import` and the
administrator's page alike: read the file, check every row and every household (Chinese messages, one row of the
error sheet per row at fault), and, unless it is a dry run or anything is wrong, write it all in one transaction
(`db.roster_repo.import_roster`).

What is checked: each cell (`schemas.roster.RosterRow`: ID numbers with the GB 11643 check character, dates that
exist, amounts, the kinds); the rows of a 家庭编号: one applicant's ID number and name, one 本人 row, and household
columns on members' rows as on the applicant's (`schemas.roster.group_problems`); each household: its applicant's
own row, a start month no later than next month, township and village known (by name or code), the
dibao category one of the policy's, the monthly amount within the policy's standard for its size
(`rules.roster.amount_problem`), the bank account (`schemas.bank.PaymentAccount`: Luhn for cards; in the
applicant's name or a member's as guardian), the last review not in the future; each person: not twice in the
file, not a member of a household receiving help already (in the database). A household imported before (same
applicant's ID number and kind of assistance) is skipped, not checked again.

From which month Jiuzhu pays the imported households (`Checked.paid_from`, `recipients.paid_from`): the import
month while the policy's payroll day has not passed, else the next month (`rules.payroll.imported_paid_from`), or
the cut-over month the administrator gives (not before the import month). Never a month before it: the national
system paid those, whatever the household's start month.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import asyncpg
from pydantic import ValidationError

from db import policy_repo, roster_repo
from db.roster_repo import ImportResult, PlaceRow
from infra.roster_file import RosterFileError, Table, error_sheet, read_table
from rules.clock import BEIJING
from rules.months import add_months
from rules.payroll import imported_paid_from
from rules.roster import ReviewDue, amount_problem, next_reviews
from schemas.bank import PaymentAccount, check_holder
from schemas.identity import mask_id
from schemas.money import to_fen
from schemas.policy import Policy
from schemas.review import AssistanceType
from schemas.roster import (
    BY_FIELD,
    COLUMNS,
    HEADER_FIELDS,
    RosterRow,
    cell_text,
    group_problems,
    header_key,
    parse_row,
    row_is_blank,
)

NO_POLICY = "尚无生效的政策版本，无法核对保障金标准：请先安装政策（jiuzhu up，或 jiuzhu policy add）"
CUT_OVER_MONTHS = 12  # a cut-over month lies within this many months after the import month
# A person the import may not take (`db.roster_repo.taken`), by why; no case is named (the administrator reads none).
TAKEN = {
    "recipient": "成员身份证号：此人已是本区另一户正在享受救助的家庭成员（请与区民政局核实）",
    "application": "成员身份证号：此人有未办结的低保或特困申请，办结前不能导入（请与区民政局核实）",
}


class RosterHeaderError(ValueError):
    """The header row lacks required columns (Chinese message)."""


@dataclass
class RowError:
    row: int  # the row's number in the spreadsheet (the header is row 1)
    values: list[Any]
    messages: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return "；".join(self.messages)


@dataclass
class Household:
    key: tuple[str, str]  # applicant's ID number, kind of assistance
    applicant: RosterRow
    members: list[RosterRow]
    township_code: str
    village_code: str
    address: str
    category: str | None
    account: PaymentAccount
    cadence: int


@dataclass
class Checked:
    filename: str
    file_sha256: str
    table: Table
    households: list[Household]
    errors: list[RowError]
    skipped: int  # households imported before
    policy: Policy
    paid_from: date | None = None  # the first month Jiuzhu pays the file's households
    rows_of: dict[str, tuple[int, list[Any]]] = field(default_factory=dict)  # person -> their row (number, cells)

    @property
    def members(self) -> int:
        return sum(len(h.members) for h in self.households)

    def error_sheet(self) -> bytes:
        return error_sheet(self.table.headers, [(e.row, e.values, e.message) for e in self.errors])


def map_headers(headers: Sequence[str]) -> dict[int, str]:
    """Column index -> field, by the one header mapping (`schemas.roster.COLUMNS`); the first column wins."""
    out: dict[int, str] = {}
    for i, h in enumerate(headers):
        f = HEADER_FIELDS.get(header_key(h))
        if f is not None and f not in out.values():
            out[i] = f
    missing = [c.header for c in COLUMNS if c.required and c.field not in out.values()]
    if missing:
        raise RosterHeaderError(f"缺少必需的列：{'、'.join(missing)}（列名见模板，docs/roster-template.md）")
    return out


class _Places:
    def __init__(self, rows: list[PlaceRow]) -> None:
        self.townships = {r.code: r for r in rows if r.level == "township"}
        self.villages = {r.code: r for r in rows if r.level == "village"}
        self.township_names = {r.name: r.code for r in self.townships.values()}

    def township(self, value: str) -> str | None:
        return value if value in self.townships else self.township_names.get(value)

    def village(self, township: str, value: str) -> str | None:
        v = self.villages.get(value)
        if v is not None:
            return v.code if v.parent_code == township else None
        return next((c for c, p in self.villages.items() if p.parent_code == township and p.name == value), None)


def _column(columns: dict[int, str], name: str) -> int | None:
    return next((i for i, f in columns.items() if f == name), None)


def _key(values: dict[str, Any]) -> str:
    no = str(values.get("household_no") or "").strip()
    return no or str(values.get("applicant_id") or "").strip().upper()


def _norm_id(value: Any) -> str:
    return str(value or "").strip().upper()


def _group_problems(rows: list[tuple[int, list[Any], dict[str, Any]]], places: _Places) -> list[tuple[int, str]]:
    """`schemas.roster.group_problems` of a household's rows (the applicant's own first, if it has one)."""
    if _norm_id(rows[0][2].get("member_id")) != _norm_id(rows[0][2].get("applicant_id")):
        return []  # no applicant's own row: said once, on the first row

    def same_place(field: str, value: str, head: dict[str, Any]) -> bool:
        township = places.township(cell_text(head.get("township")))
        if township is None:
            return True  # the applicant's row names no known township, and says so
        if field == "township":
            return places.township(value) == township
        return places.village(township, value) == places.village(township, cell_text(head.get("village")))

    return group_problems([(row_no, values) for row_no, _, values in rows], same_place)


def _household_problems(
    rows: list[RosterRow], people: int, places: _Places, policy: Policy, today: date
) -> tuple[dict[str, Any], list[str]]:
    """The household's place, account and cadence, or what is wrong with it (on the applicant's row)."""
    a = rows[0]
    problems: list[str] = []
    out: dict[str, Any] = {}
    township = places.township(a.township)
    if township is None:
        problems.append(f"{BY_FIELD['township'].header}：未知的乡镇（街道）“{a.township}”")
    else:
        village = places.village(township, a.village)
        if village is None:
            name = places.townships[township].name
            problems.append(f"{BY_FIELD['village'].header}：未知的村（社区）“{a.village}”（{name}下没有此村/社区）")
        else:
            place = f"{places.townships[township].name}{places.villages[village].name}"
            out.update(township_code=township, village_code=village, address=a.address or place)
    if a.relation != "self":
        problems.append(f"{BY_FIELD['relation'].header}：户主本人一行应填“本人”或“户主”")
    category = a.category.removesuffix("类") if a.category else None
    codes = [c.code for c in policy.categories]
    if a.assistance_type == "dibao" and category not in codes:
        allowed = "、".join(codes)
        problems.append(f"{BY_FIELD['category'].header}：低保类别应为{allowed}之一，实际为“{a.category or ''}”")
    out["category"] = category
    s = policy.standards
    standard = getattr(s, f"{a.assistance_type}_{a.hukou_type}")
    why = amount_problem(
        a.assistance_type,
        a.monthly_amount,
        standard,
        people,
        care_max=policy.tekun.care_none,
        override_ratio=policy.assets.override_max_ratio,
    )
    if why:
        problems.append(f"{BY_FIELD['monthly_amount'].header}：{why}")
    problems += _account_problems(a, rows, out)
    if a.last_review and a.last_review > today:
        problems.append(f"{BY_FIELD['last_review'].header}：不能晚于今天（{today}）")
    latest = add_months(today.replace(day=1), 1)  # decided this month, paid from the next (从作出决定次月起)
    if a.start_month > latest:
        problems.append(f"{BY_FIELD['start_month'].header}：不能晚于{latest:%Y-%m}（尚未开始保障的家庭不能导入）")
    out["cadence"] = policy.ongoing_review.cadence_months(a.assistance_type, category)
    return out, problems


def _account_problems(a: RosterRow, rows: list[RosterRow], out: dict[str, Any]) -> list[str]:
    blank = [
        BY_FIELD[f].header
        for f in ("account_kind", "bank_name", "account_number", "account_holder")
        if not getattr(a, f)
    ]
    if blank:
        return [f"银行账户：{'、'.join(blank)}不能为空"]
    relation = "self" if a.account_holder == a.applicant_name else "guardian"
    try:
        account = PaymentAccount(
            kind=a.account_kind,
            bank_name=a.bank_name,
            account_number=a.account_number,
            holder_name=a.account_holder,
            holder_relation=relation,
        )
    except ValidationError as exc:
        labels = {"account_number": "银行账号", "bank_name": "开户银行", "holder_name": "账户户名"}
        return [f"{labels.get(str(e['loc'][0]), '银行账户')}：{e['msg']}" for e in exc.errors()]
    try:
        check_holder(account, a.applicant_name, {m.member_name for m in rows[1:]})
    except ValueError as exc:
        return [f"{BY_FIELD['account_holder'].header}：{exc}（应为户主本人，或本户成员作为监护人）"]
    out["account"] = account
    return []


def cut_over_month(text: str | None) -> date | None:
    """The cut-over month the administrator typed ('YYYY-MM'), or None; RosterFileError (Chinese) if unreadable."""
    v = (text or "").strip()
    if not v:
        return None
    try:
        return date.fromisoformat(f"{v}-01")
    except ValueError:
        raise RosterFileError(f"本系统首次发放月份格式不正确：{v}（应为YYYY-MM）") from None


def first_month_paid(today: date, policy: Policy, cut_over: date | None) -> date:
    """The first month Jiuzhu pays the imported households: the cut-over month if given (from the import month to
    `CUT_OVER_MONTHS` months after it), else by the payroll day (`rules.payroll.imported_paid_from`)."""
    if cut_over is None:
        return imported_paid_from(today, policy.payroll.payroll_day)
    month, cut_over = today.replace(day=1), cut_over.replace(day=1)
    if cut_over < month:
        raise RosterFileError(f"本系统首次发放月份不能早于导入当月（{month:%Y年%m月}）：此前各月已由全国系统发放")
    if cut_over > add_months(month, CUT_OVER_MONTHS):
        raise RosterFileError(f"本系统首次发放月份不能晚于导入当月之后{CUT_OVER_MONTHS}个月，请核对")
    return cut_over


async def check(
    db: asyncpg.Connection | asyncpg.Pool, data: bytes, filename: str, today: date, cut_over: date | None = None
) -> Checked:
    """Read and check the whole file; nothing is written. Raises RosterFileError / RosterHeaderError when the
    file cannot be read as a roster at all (or the cut-over month is out of bounds)."""
    table = read_table(data, filename)
    return await check_table(db, table, hashlib.sha256(data).hexdigest(), filename, today, cut_over)


async def check_table(
    db: asyncpg.Connection | asyncpg.Pool,
    table: Table,
    file_sha256: str,
    filename: str,
    today: date,
    cut_over: date | None = None,
) -> Checked:
    """`check`, of a file already read."""
    columns = map_headers(table.headers)
    try:
        policy = await policy_repo.in_force(db, today)
    except LookupError:
        raise RosterFileError(NO_POLICY) from None
    first_month = first_month_paid(today, policy, cut_over)
    places = _Places(await roster_repo.places(db))
    errors: dict[int, RowError] = {}

    def fault(row_no: int, raw: list[Any], message: str) -> None:
        errors.setdefault(row_no, RowError(row_no, raw)).messages.append(message)

    groups: dict[str, list[tuple[int, list[Any], dict[str, Any]]]] = {}
    for i, raw in enumerate(table.rows):
        values = {f: raw[c] for c, f in columns.items()}
        if not row_is_blank(values):
            groups.setdefault(_key(values), []).append((table.first_row + i, raw, values))
    seen: dict[str, int] = {}
    for i, raw in enumerate(table.rows):  # in the file's order: the later row of a person is the one at fault
        member = _norm_id(raw[ids]) if (ids := _column(columns, "member_id")) is not None else ""
        if member and member in seen:
            fault(table.first_row + i, raw, f"成员身份证号：与第{seen[member]}行重复（同一人在文件中出现两次）")
        seen.setdefault(member, table.first_row + i)
    households: list[Household] = []
    for rows in groups.values():
        rows.sort(key=lambda r: _norm_id(r[2].get("member_id")) != _norm_id(r[2].get("applicant_id")))
        raws = {row_no: raw for row_no, raw, _ in rows}
        for row_no, problem in _group_problems(rows, places):
            fault(row_no, raws[row_no], problem)
        parsed: list[tuple[int, RosterRow]] = []
        for n, (row_no, raw, values) in enumerate(rows):
            is_applicant = n == 0 and _norm_id(values.get("member_id")) == _norm_id(values.get("applicant_id"))
            row, problems = parse_row(values, applicant_row=is_applicant)
            for p in problems:
                fault(row_no, raw, p)
            if row is not None:
                parsed.append((row_no, row))
        first_no, first_raw, first_values = rows[0]
        if _norm_id(first_values.get("member_id")) != _norm_id(first_values.get("applicant_id")):
            fault(first_no, first_raw, "本户没有户主本人的一行（成员身份证号与户主身份证号相同的行）")
            continue
        if len(parsed) != len(rows) or any(r in errors for r, _ in parsed):
            if parsed and parsed[0][0] == first_no:  # still check the household, to report everything at once
                _, problems = _household_problems([r for _, r in parsed], len(rows), places, policy, today)
                for p in problems:
                    fault(first_no, first_raw, p)
            continue
        members = [r for _, r in parsed]
        facts, problems = _household_problems(members, len(rows), places, policy, today)
        for p in problems:
            fault(first_no, first_raw, p)
        if not problems:
            a = members[0]
            households.append(Household(key=(a.member_id, a.assistance_type), applicant=a, members=members, **facts))
    before = await roster_repo.imported_keys(db, [h.key for h in households])
    fresh = [h for h in households if h.key not in before]
    rows_of = {_norm_id(v.get("member_id")): (n, raw) for rows in groups.values() for n, raw, v in rows}
    taken = await roster_repo.taken(db, [m.member_id for h in fresh for m in h.members])
    for person, why in taken.items():
        fault(*rows_of[person], TAKEN[why])
    return Checked(
        filename=filename,
        file_sha256=file_sha256,
        table=table,
        households=fresh,
        errors=sorted(errors.values(), key=lambda e: e.row),
        skipped=len(households) - len(fresh),
        policy=policy,
        paid_from=first_month,
        rows_of=rows_of,
    )


_TYPE_LABELS = {t.value: t.label for t in AssistanceType}


def records(checked: Checked, today: date) -> tuple[list[tuple], list[tuple]]:
    """The rows of `db.roster_repo`'s temporary tables: one per household, one per member."""
    due = next_reviews(
        [ReviewDue(f"{h.key[0]}|{h.key[1]}", h.cadence, h.applicant.last_review) for h in checked.households], today
    )
    households, members = [], []
    paid_from = first_month_paid(today, checked.policy, checked.paid_from)
    for n, h in enumerate(checked.households):
        a, acc = h.applicant, h.account
        decided = datetime.combine(a.start_month - timedelta(days=1), time(12), tzinfo=BEIJING)
        next_review = due[f"{h.key[0]}|{h.key[1]}"]
        category = f"{h.category}类" if h.category else ""
        summary = (
            f"从社会救助信息系统名册导入（导入）：{_TYPE_LABELS[a.assistance_type]}{category}，{len(h.members)}人，"
            f"每月{a.monthly_amount}元，自{a.start_month:%Y-%m}起保障，本系统自{paid_from:%Y-%m}起发放；"
            f"上次复核{a.last_review or '不详'}，下次动态管理复核{next_review}"
        )
        households.append(
            (
                n,
                a.member_id,
                a.assistance_type,
                h.township_code,
                h.village_code,
                h.address,
                a.hukou_type,
                a.phone,
                a.applicant_name,
                mask_id(a.member_id),
                h.category,
                to_fen(a.monthly_amount),
                len(h.members),
                a.start_month,
                paid_from,
                decided,
                h.cadence,
                a.last_review,
                next_review,
                acc.kind,
                acc.bank_name,
                acc.account_number,
                acc.masked,
                acc.holder_name,
                acc.holder_relation,
                summary,
            )
        )
        members += [(n, m.member_name, m.member_id, m.relation, i == 0) for i, m in enumerate(h.members)]
    return households, members


@dataclass(frozen=True)
class Outcome:
    checked: Checked | None  # None: the same file was imported before, and this is no dry run (not checked again)
    result: ImportResult | None  # None: a dry run, or refused for errors


async def run(
    conn: asyncpg.Connection,
    data: bytes,
    filename: str,
    *,
    by: str,
    today: date,
    dry_run: bool,
    cut_over: date | None = None,
) -> Outcome:
    """Check the file and, unless a dry run or anything is wrong, import it all (or nothing); `cut_over`: the first
    month Jiuzhu pays, if the administrator gives one."""
    before = await roster_repo.imported_file(conn, hashlib.sha256(data).hexdigest())
    if before is not None and not dry_run:
        return Outcome(None, ImportResult(before, already=True))
    checked = await check(conn, data, filename, today, cut_over)
    if dry_run or checked.errors:
        return Outcome(checked, None)
    hh, members = records(checked, today)
    try:
        result = await roster_repo.import_roster(
            conn,
            file_sha256=checked.file_sha256,
            filename=filename,
            imported_by=by,
            policy_version=checked.policy.version,
            households=hh,
            members=members,
            skipped=checked.skipped,
        )
    except roster_repo.PeopleTaken as taken:  # since the check: another import, or an application, took them
        errors = {e.row: e for e in checked.errors}
        for person, why in taken.people.items():
            row, raw = checked.rows_of[person]
            errors.setdefault(row, RowError(row, raw)).messages.append(TAKEN[why])
        checked.errors = sorted(errors.values(), key=lambda e: e.row)
        return Outcome(checked, None)
    return Outcome(checked, result)
