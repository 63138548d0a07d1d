"""`jiuzhu roster ...`: import the roster of existing recipients from the national 社会救助信息系统
(docs/roster-template.md), and generate a sample roster (with deliberate errors, on request) to try it with.

`import` checks every row first; with errors it imports nothing, prints them and writes the error sheet
(`FILE.errors.xlsx`: each faulty row as it was, with its row number and what is wrong) and exits with 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import asyncpg
import typer

from cli._run import with_db
from infra import clock
from infra.roster_file import RosterFileError, kind_of, write_rows
from infra.roster_import import Outcome, RosterHeaderError, cut_over_month, run
from infra.roster_sample import sample as make_sample

app = typer.Typer(no_args_is_help=True)
SHOWN = 20  # errors printed; the sheet has them all


def _report(out: Outcome, file: Path, dry_run: bool) -> int:
    if out.checked is None:  # the same file, imported before
        assert out.result is not None
        at = out.result.log.imported_at.astimezone(clock.BEIJING)
        typer.echo(f"该文件已于 {at:%Y-%m-%d %H:%M} 导入，未作任何更改 / already imported on {at:%Y-%m-%d}, no change")
        return 0
    c = out.checked
    if c.errors:
        sheet = file.with_name(file.name + ".errors.xlsx")
        sheet.write_bytes(c.error_sheet())
        typer.echo(f"{len(c.errors)} 行有错误，未导入任何数据 / {len(c.errors)} rows with errors, nothing imported:")
        for e in c.errors[:SHOWN]:
            typer.echo(f"  第{e.row}行：{e.message}")
        if len(c.errors) > SHOWN:
            typer.echo(f"  ……另有 {len(c.errors) - SHOWN} 行")
        typer.echo(f"错误清单 / error sheet: {sheet}")
        return 1
    if dry_run:
        typer.echo(
            f"试导入通过：{len(c.households)} 户、{c.members} 人可导入，{c.skipped} 户已导入过；"
            f"本系统自{c.paid_from:%Y年%m月}起发放 / "
            f"dry run passed: {len(c.households)} households, {c.members} members, {c.skipped} already imported; "
            f"paid from {c.paid_from:%Y-%m}"
        )
        return 0
    assert out.result is not None
    log = out.result.log
    typer.echo(
        f"已导入 {log.households} 户、{log.members} 人，跳过已导入的 {log.skipped} 户 / "
        f"imported {log.households} households, {log.members} members, skipped {log.skipped}"
    )
    return 0


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="roster .xlsx or .csv")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check only; import nothing")] = False,
    by: Annotated[str, typer.Option(help="who imports it (recorded in the import log)")] = "cli",
    paid_from: Annotated[
        str | None,
        typer.Option(
            help="YYYY-MM: the first month Jiuzhu pays these households (cut-over); default: the import month "
            "while its payroll day has not passed, else the next month"
        ),
    ] = None,
) -> None:
    """Import a roster of existing recipients: all of it, or nothing if any row is wrong."""
    try:
        kind_of(file.name)
        cut_over = cut_over_month(paid_from)
    except RosterFileError as e:
        raise typer.BadParameter(str(e)) from None
    data = file.read_bytes()

    async def go(conn: asyncpg.Connection) -> Outcome:
        return await run(conn, data, file.name, by=by, today=clock.today(), dry_run=dry_run, cut_over=cut_over)

    try:
        out = with_db(go)
    except (RosterFileError, RosterHeaderError) as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(_report(out, file, dry_run))


@app.command("sample")
def sample(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="where to write it (.xlsx or .csv)")],
    households: Annotated[int, typer.Option(min=1, max=200_000)] = 1000,
    errors: Annotated[int, typer.Option(min=0, help="deliberate errors, each in its own household")] = 0,
) -> None:
    """Write a generated roster of the demo villages (the same arguments give the same file)."""
    try:
        kind = kind_of(out.name)
    except RosterFileError as e:
        raise typer.BadParameter(str(e)) from None
    headers, rows, faults = make_sample(households, errors)
    out.write_bytes(write_rows(headers, rows, kind))
    typer.echo(f"{out}: {households} 户、{len(rows)} 行 / households, rows")
    for f in faults:
        typer.echo(f"  第{f.row}行：故意的错误 / deliberate error: {f.kind}")
