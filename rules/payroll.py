"""The monthly payroll's rules (pure): from which month a new recipient is paid and how many months of
arrears come with the first payment, the two-person rule of a payroll, and its workflow ids.

Who is paid in a month (the register's SQL, `db.payroll_due_repo.due`): active recipients whose first payment
month has come, and stopped ones in the month of the stop (a stop in March pays March, not April); the amount
in force that month is the one decided before it (an adjustment decided in March takes effect in April, as an
enrolment does: 从作出决定次月起).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from rules.access import within
from rules.months import add_months

ArrearsRule = Literal["none", "when_late", "always"]

ARREARS_LABELS: dict[str, str] = {
    "none": "不补发：自作出决定次月起发放",
    "when_late": "审批超过承诺时限的，补发自受理次月起至决定当月的保障金",
    "always": "一律补发自受理次月起至决定当月的保障金",
}


def first_payment_month(decided_on: date) -> date:
    """The month after the decision (从作出决定次月起), as its first day."""
    return add_months(decided_on.replace(day=1), 1)


def imported_paid_from(imported_on: date, payroll_day: int) -> date:
    """The first month Jiuzhu pays a household imported from the national system's roster on `imported_on`
    (Beijing): the import month while its payroll day has not passed (imported on that day or before it, the
    month is still to be paid, and Jiuzhu's payroll of the day pays it), else the month after (the national
    system paid the import month on its payroll day). Months before it were the national system's to pay and
    are never due here, whatever the household's start month (保障起始年月)."""
    month = imported_on.replace(day=1)
    return month if imported_on.day <= payroll_day else add_months(month, 1)


def arrears_months(
    rule: ArrearsRule, accepted_on: date, decided_on: date, deadline: date | None, first_month: date
) -> int:
    """How many months before `first_month` are paid with it: under `when_late`, a decision after the case's
    promised deadline pays from the month after acceptance; under `always`, every decision does; `none`
    never. A case accepted in October and decided late in December is first paid in January with November
    and December (2 months)."""
    if rule == "none" or (rule == "when_late" and (deadline is None or decided_on <= deadline)):
        return 0
    start = add_months(accepted_on.replace(day=1), 1)
    return max(0, (first_month.year - start.year) * 12 + first_month.month - start.month)


def month_label(first: date) -> str:
    return f"{first:%Y-%m}"


def line_note(kind_label: str, for_month: date, arrears: int, retry: bool) -> str:
    """备注 of a bank-file line: the month and kind, the arrears it includes, or that it is paid late ("补发…": a
    line paid again, or a month first paid on a later payroll). Within a payroll the notes of one recipient's
    lines differ (one line per month), so the bank's return can name its line by it."""
    text = f"{'补发' if retry else ''}{for_month:%Y年%m月}{kind_label}"
    if arrears:
        since = add_months(for_month, -arrears)
        text += f"（含补发{since:%Y年%m月}至{add_months(for_month, -1):%Y年%m月}）"
    return text


@dataclass(frozen=True)
class SentLine:
    """What the return is matched on, of a payroll line that went to the bank (in the bank file's order)."""

    id: int
    account: str
    id_number: str
    amount_fen: int
    note: str


def _tiers() -> list[tuple[Callable[[SentLine], tuple], Callable[[dict], tuple]]]:
    """The keys a return row is matched on, most exact first: the account, amount and 备注; the ID number,
    amount and 备注; the account and amount; the ID number and amount."""

    def note(r: dict) -> str:
        return str(r.get("note") or "").strip()

    return [
        (lambda x: (x.account, x.amount_fen, x.note), lambda r: (r["account"], r["amount_fen"], note(r))),
        (lambda x: (x.id_number, x.amount_fen, x.note), lambda r: (r["id_number"], r["amount_fen"], note(r))),
        (lambda x: (x.account, x.amount_fen), lambda r: (r["account"], r["amount_fen"])),
        (lambda x: (x.id_number, x.amount_fen), lambda r: (r["id_number"], r["amount_fen"])),
    ]


def match_return(lines: list[SentLine], rows: list[dict]) -> list[tuple[int, dict]]:
    """Pair the bank's return rows with the payroll's lines one to one: each row settles at most one line and
    each line takes at most one row. Key by key (`_tiers`), the k-th unpaired line of a key (by id, the bank
    file's order) takes the k-th unpaired row of that key (by row number); a key with an empty part matches
    nothing. Rows left over match no line; lines left over keep waiting. (line id, row) pairs."""
    free_lines = sorted(lines, key=lambda x: x.id)
    free_rows = sorted(rows, key=lambda r: r["n"])
    pairs: list[tuple[int, dict]] = []
    for line_key, row_key in _tiers():
        by_key: dict[tuple, list[SentLine]] = {}
        for x in free_lines:
            by_key.setdefault(line_key(x), []).append(x)
        taken_lines: set[int] = set()
        taken_rows: set[int] = set()
        for r in free_rows:
            key = row_key(r)
            queue = by_key.get(key) if all(part not in ("", None) for part in key) else None
            if queue:
                x = queue.pop(0)
                pairs.append((x.id, r))
                taken_lines.add(x.id)
                taken_rows.add(r["n"])
        free_lines = [x for x in free_lines if x.id not in taken_lines]
        free_rows = [r for r in free_rows if r["n"] not in taken_rows]
    return sorted(pairs, key=lambda p: p[0])


def payroll_workflow_id(township_code: str, month: str, seq: int = 0) -> str:
    """`payroll-<township>-<YYYY-MM>-<seq>`: one per township, month and run (0: the month's regular run,
    1, 2…: supplementary runs), so a retried start never makes a second."""
    return f"payroll-{township_code}-{month}-{seq}"


PayrollAction = Literal["check", "confirm", "bank_return"]

# Who does what to a payroll: the township's approver checks its 发放花名册 (a district officer may, for a
# township whose approval stays at the district); a district officer confirms it and brings the bank's answer.
ROLES: dict[str, frozenset[str]] = {
    "check": frozenset({"township_approver", "district_officer"}),
    "confirm": frozenset({"district_officer"}),
    "bank_return": frozenset({"district_officer"}),
}
ACTION_LABELS = {"check": "审核花名册", "confirm": "确认发放", "bank_return": "导入银行回盘"}
# The status each action needs, and what a payroll elsewhere is told.
NEEDS = {"check": "draft", "confirm": "checked", "bank_return": "confirmed"}
NOT_NOW = {
    ("check", "checked"): ("already_checked", "该花名册已审核"),
    ("check", "confirmed"): ("already_confirmed", "该花名册已确认，不可更改；更正请发起补充发放"),
    ("confirm", "draft"): ("not_checked", "该花名册尚未经乡镇（街道）审核"),
    ("confirm", "confirmed"): ("already_confirmed", "该花名册已确认，不可更改；更正请发起补充发放"),
    ("bank_return", "reconciled"): ("reconciled", "该花名册各笔均已有银行回盘结果"),
}


def refusal(
    action: PayrollAction, status: str, role: str, place: str, township: str, username: str, checked_by: str | None
) -> tuple[str, str] | None:
    """Why `username` (of `role`, jurisdiction `place`) may not take `action` on a payroll of `township` in
    `status`, as (code, Chinese message); None if they may. The confirmation is by someone other than who checked
    the roster (two people)."""
    if role not in ROLES[action]:
        who = "乡镇（街道）审批人或区民政局工作人员" if action == "check" else "区民政局工作人员"
        return "wrong_role", f"只有{who}可以{ACTION_LABELS[action]}"
    if not within(place, township):
        return "out_of_jurisdiction", "该花名册不在您的辖区内"
    if status != NEEDS[action] and not (action == "bank_return" and status == "confirmed"):
        return NOT_NOW.get((action, status), ("wrong_status", "花名册当前状态不能办理此事项"))
    if action == "confirm" and checked_by == username:
        return "same_person", "审核与确认须由两人分别办理：您已审核该花名册，不能再确认"
    return None
