"""The administrator-maintained calendar: State Council holiday notices, parsed, validated, stored.

Each notice is imported whole: the rows of the days it arranges in `calendar_days` are replaced (its
year's, and the last days of December before it that a notice for year Y also arranges: `rules.calendar.
notice_span`) and the year is recorded in `calendar_years`, after which `rules.calendar.WorkCalendar` stops
treating it as provisional. See docs/calendar-import.md for the file formats.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path, PurePath
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from rules.calendar import (
    BUILTIN_YEARS,
    HOLIDAY,
    NEXT_NOTICE_FROM,
    WORKDAY,
    DayKind,
    WorkCalendar,
    notice_span,
    notice_year,
)
from rules.holidays import statutory_days_left_out

CSV_HEADER = ["date", "kind", "name"]


class NoticeError(ValueError):
    """A notice file that cannot be imported; the message says why, in Chinese and English.

    `errors` are pydantic's structured errors when the content failed the model, so a UI can word
    them in its own language instead of showing pydantic's English.
    """

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class NoticeDay(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date: dt.date
    name: str | None = None


class Notice(BaseModel):
    """One year's holiday arrangement: weekday or weekend holidays, and make-up weekend workdays, of the year
    and of the last days of December before it (from 25 December: 元旦's bridges and make-up days)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int = Field(ge=2004, le=2100)
    source: str = Field(min_length=1)
    holidays: tuple[NoticeDay, ...] = Field(min_length=1)
    workdays: tuple[NoticeDay, ...] = ()

    @field_validator("holidays", "workdays", mode="before")
    @classmethod
    def _plain_dates(cls, value: Any) -> Any:
        """Allow `"2027-01-01"` as shorthand for `{"date": "2027-01-01"}`."""
        if isinstance(value, list | tuple):
            return [{"date": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Notice:
        problems = []
        dates = [d.date for d in (*self.holidays, *self.workdays)]
        problems += [_outside(d, self.year) for d in dates if notice_year(d) != self.year]
        both = {d.date for d in self.holidays} & {d.date for d in self.workdays}
        problems += [f"{d} 既是节假日又是调休上班日 / both holiday and workday" for d in sorted(both)]
        problems += [f"{d} 重复 / listed twice" for d, n in Counter(dates).items() if n > 1 and d not in both]
        problems += [
            f"{d.date} 是工作日而非周末，不能作为调休上班日 / make-up workday must be a Saturday or Sunday"
            for d in self.workdays
            if d.date.weekday() < 5
        ]
        if left_out := left_out_message(self.year, self.holidays, self.workdays):
            problems.append(left_out)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def days(self) -> list[tuple[dt.date, DayKind, str | None]]:
        """`(date, kind, name)` rows, sorted by date."""
        rows = [(d.date, HOLIDAY, d.name) for d in self.holidays] + [(d.date, WORKDAY, d.name) for d in self.workdays]
        return sorted(rows)


def left_out_message(year: int, holidays: tuple[NoticeDay, ...], workdays: tuple[NoticeDay, ...]) -> str | None:
    """Why a notice that would make statutory days of its year working days is refused (`rules.holidays`): once its
    year is imported, neither the builtin data nor the law's own holidays apply to it any more."""
    left_out = statutory_days_left_out(year, [d.date for d in holidays], [d.date for d in workdays])
    if not left_out:
        return None
    days = "、".join(f"{d}（{name}）" for d, name in left_out)
    return f"通知遗漏了法定节假日：{days}；请核对国务院办公厅通知后重新导入"


def _outside(d: dt.date, year: int) -> str:
    """Why day `d` cannot be in `year`'s notice, in Chinese and English."""
    first, last = notice_span(year)
    if d.year == year:  # from 25 December on: the next year's notice arranges it
        return (
            f"{d} 由 {year + 1} 年的通知安排（12 月 {NEXT_NOTICE_FROM} 日起的日期属于下一年的通知）"
            f" / belongs to the {year + 1} notice (from 25 December)"
        )
    return f"{d} 不在 {year} 年通知的范围（{first} 至 {last}）内 / not in {year}'s notice ({first} to {last})"


@dataclass(frozen=True)
class ImportSummary:
    year: int
    source: str
    holidays: int
    workdays: int
    replaced: int  # rows of the days the notice arranges that were in calendar_days before the import


@dataclass(frozen=True)
class ImportedYear:
    year: int
    source: str
    imported_at: dt.datetime


def parse_notice_file(path: Path, source: str | None = None) -> Notice:
    """Read a JSON or CSV notice (chosen by suffix); raise `NoticeError` on anything invalid.

    `source` overrides the file's own; a CSV has none, so it defaults to the file name there.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise NoticeError(f"无法读取 / cannot read {path}: {e}") from e
    return parse_notice(data, str(path), source)


def parse_notice(data: bytes, name: str, source: str | None = None) -> Notice:
    """`parse_notice_file` for content that is not on disk (an upload); `name` gives the format and is
    quoted in messages."""
    try:
        text = data.decode("utf-8-sig")  # -sig: Excel writes a BOM
    except UnicodeDecodeError as e:
        raise NoticeError(f"无法读取 / cannot read {name}: {e}") from e
    path = PurePath(name)
    suffix = path.suffix.lower()
    if suffix == ".json":
        fields = _json_notice(name, text)
    elif suffix == ".csv":
        fields = _csv_notice(name, text)
        fields.setdefault("source", path.name)
    else:
        raise NoticeError(f"{name}: 只支持 .json 或 .csv 文件 / only .json and .csv files are supported")
    if source is not None:
        fields["source"] = source
    try:
        return Notice.model_validate(fields)
    except ValidationError as e:
        lines = [f"  - {'.'.join(map(str, err['loc'])) or 'notice'}: {err['msg']}" for err in e.errors()]
        raise NoticeError(
            f"日历文件无效 / invalid calendar file {name}:\n" + "\n".join(lines), errors=e.errors()
        ) from e


def _json_notice(name: str, text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise NoticeError(f"{name}: JSON 格式错误 / invalid JSON: {e}") from e
    if not isinstance(data, dict):
        raise NoticeError(f"{name}: 应为 JSON 对象 / expected a JSON object")
    return data


def _csv_notice(name: str, text: str) -> dict[str, Any]:
    """CSV rows `date,kind,name`; the year is the latest notice year of the dates (a day from 25 December on
    is the next year's), the model checks the rest."""
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames != CSV_HEADER:
        raise NoticeError(f"{name}: 表头应为 / header must be {','.join(CSV_HEADER)}, got {reader.fieldnames}")
    data: dict[str, Any] = {"holidays": [], "workdays": []}
    for row in reader:
        line = reader.line_num
        kind = (row["kind"] or "").strip()
        if kind not in (HOLIDAY, WORKDAY):
            raise NoticeError(f"{name}:{line}: kind 应为 holiday 或 workday / kind must be holiday or workday")
        try:
            day = dt.date.fromisoformat((row["date"] or "").strip())
        except ValueError as e:
            raise NoticeError(f"{name}:{line}: 日期无效 / invalid date {row['date']!r}") from e
        data["year"] = max(data.get("year", 0), notice_year(day))
        data[f"{kind}s"].append({"date": day, "name": (row["name"] or "").strip() or None})
    if "year" not in data:
        raise NoticeError(f"{name}: 文件没有数据行 / no rows")
    return data


async def import_notice(conn: asyncpg.Connection, notice: Notice) -> ImportSummary:
    """Replace the days the notice arranges in `calendar_days` (its year's, and the last days of December
    before it: another year's are left alone) and record it in `calendar_years`, atomically."""
    first, last = notice_span(notice.year)
    async with conn.transaction():
        replaced = await conn.fetchval(
            "with gone as (delete from calendar_days where day between $1 and $2 returning 1) "
            "select count(*) from gone",
            first,
            last,
        )
        await conn.executemany(
            "insert into calendar_days (day, kind, name, source) values ($1, $2, $3, $4)",
            [(day, kind, name, notice.source) for day, kind, name in notice.days()],
        )
        await conn.execute(
            "insert into calendar_years (year, source) values ($1, $2) "
            "on conflict (year) do update set source = excluded.source, imported_at = now()",
            notice.year,
            notice.source,
        )
    return ImportSummary(notice.year, notice.source, len(notice.holidays), len(notice.workdays), replaced)


async def imported_years(conn: asyncpg.Connection) -> list[ImportedYear]:
    rows = await conn.fetch("select year, source, imported_at from calendar_years order by year")
    return [ImportedYear(r["year"], r["source"], r["imported_at"]) for r in rows]


@dataclass(frozen=True)
class YearStatus:
    """Where one year's holidays come from: an imported notice, the builtin data, or nothing (provisional)."""

    year: int
    imported: ImportedYear | None
    provisional: bool


BUILTIN_SOURCE = f"chinesecalendar {version('chinesecalendar')}"


def year_statuses(calendar: WorkCalendar, imported: list[ImportedYear], today: dt.date) -> list[YearStatus]:
    """Every year from the first builtin one through next year (or the last imported, if later).

    Shared by `jiuzhu calendar years` and the admin page, so both say the same about each year.
    """
    by_year = {y.year: y for y in imported}
    last = max([today.year + 1, *by_year])
    return [
        YearStatus(year, by_year.get(year), calendar.is_provisional(year))
        for year in range(min(BUILTIN_YEARS), last + 1)
    ]


async def load_calendar(conn: asyncpg.Connection | asyncpg.Pool) -> WorkCalendar:
    """The builtin calendar with every stored day and imported year applied."""
    row = await conn.fetchrow(  # one statement, so one snapshot even during a concurrent import
        "select array(select year from calendar_years) as years, "
        "array(select day from calendar_days where kind = 'holiday') as holidays, "
        "array(select day from calendar_days where kind = 'workday') as workdays"
    )
    overrides = [(d, HOLIDAY) for d in row["holidays"]] + [(d, WORKDAY) for d in row["workdays"]]
    return WorkCalendar(overrides, row["years"])
