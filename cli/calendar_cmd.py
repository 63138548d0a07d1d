"""`jiuzhu calendar ...`: working-day arithmetic for staff, and importing the yearly holiday notice.

`add` and `between` work without a database (builtin data for 2004-2026); when one is configured
or the embedded one exists, imported notices are applied too. The answer is the last line on
stdout so scripts can take it; warnings go to stderr.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from pathlib import Path
from typing import Annotated

import asyncpg
import typer

from cli._run import with_db
from db.calendar_repo import (
    BUILTIN_SOURCE,
    ImportedYear,
    NoticeError,
    import_notice,
    imported_years,
    load_calendar,
    parse_notice_file,
    year_statuses,
)
from infra import clock
from infra.calendar_news import announce_calendar_change
from infra.config import Settings
from infra.servers import database_url
from infra.temporal import connect as connect_temporal
from rules.calendar import WorkCalendar

app = typer.Typer(no_args_is_help=True)


def _parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise typer.BadParameter(f"日期应为 YYYY-MM-DD / expected YYYY-MM-DD, got {value!r}") from e


DateArg = Annotated[dt.date, typer.Argument(parser=_parse_date, help="YYYY-MM-DD", show_default=False)]


def _warn(message: str) -> None:
    typer.echo(message, err=True)


def _warn_provisional(years: list[int]) -> None:
    for year in years:
        _warn(
            f"注意: {year} 年尚无法定节假日数据，按周末推算（暂定） / "
            f"provisional: no holiday notice for {year}, statutory holidays only"
        )


async def _load(url: str) -> tuple[WorkCalendar, list[ImportedYear]]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await load_calendar(conn), await imported_years(conn)
    finally:
        await conn.close()


def _read_calendar() -> tuple[WorkCalendar, list[ImportedYear]]:
    """The calendar with the database's notices if there is a database; builtin data otherwise.

    Reading never requires the database: a staff member checking a date must get an answer (with
    a warning) even if PostgreSQL is down or not migrated yet.
    """
    try:
        url = database_url(Settings(), start=False)
        if url is not None:
            return asyncio.run(_load(url))
    except (OSError, subprocess.SubprocessError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
        _warn(f"数据库不可用，仅使用内置日历 / database unavailable, using builtin calendar only: {e}")
    return WorkCalendar(), []


@app.command()
def add(start: DateArg, n: Annotated[int, typer.Argument(min=1, help="working days")]) -> None:
    """The date of the Nth working day after START (START itself is not counted)."""
    calendar, _ = _read_calendar()
    deadline = calendar.add_working_days(start, n)
    if deadline.provisional:
        _warn_provisional(calendar.provisional_years((start + dt.timedelta(days=1)).year, deadline.date.year))
    typer.echo(deadline.date.isoformat())


@app.command()
def between(a: DateArg, b: DateArg) -> None:
    """The number of working days after A up to and including B (0 if B is not after A)."""
    calendar, _ = _read_calendar()
    if b > a:
        _warn_provisional(calendar.provisional_years((a + dt.timedelta(days=1)).year, b.year))
    typer.echo(calendar.working_days_between(a, b))


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="notice as .json or .csv")],
    source: Annotated[str | None, typer.Option(help="cite the notice (default: the file's own)")] = None,
) -> None:
    """Import a year's State Council holiday notice, replacing that year's data (see docs/calendar-import.md)."""
    try:
        notice = parse_notice_file(file, source)
    except NoticeError as e:
        _warn(str(e))
        raise typer.Exit(1) from e

    async def import_and_announce(conn):
        summary = await import_notice(conn, notice)
        try:
            told, failed = await announce_calendar_change(await connect_temporal(), conn)
        except RuntimeError as e:  # Temporal not running: open cases pick the calendar up at their next recompute
            _warn(f"未能通知在办案件重算时限 / could not reach Temporal to notify open cases: {e}")
        else:
            typer.echo(f"已通知 {told} 个在办案件重算办结时限" + (f"，失败 {len(failed)} 个" if failed else ""))
        return summary

    s = with_db(import_and_announce)
    typer.echo(
        f"已导入 {s.year} 年: 节假日 {s.holidays} 天, 调休上班 {s.workdays} 天, 替换原有 {s.replaced} 条 / "
        f"imported {s.year}: {s.holidays} holidays, {s.workdays} make-up workdays, "
        f"{s.replaced} previous rows replaced (source: {s.source})"
    )


@app.command()
def years() -> None:
    """Each year from 2004 to next year: where its holidays come from, or that it is provisional."""
    calendar, imported = _read_calendar()
    for status in year_statuses(calendar, imported, clock.today()):
        if status.imported:
            entry = status.imported
            typer.echo(f"{status.year}  imported {entry.imported_at:%Y-%m-%d}: {entry.source}")
        elif status.provisional:
            typer.echo(f"{status.year}  暂定 provisional: 仅按法定节日 / statutory holidays only")
        else:
            typer.echo(f"{status.year}  builtin: {BUILTIN_SOURCE}")
