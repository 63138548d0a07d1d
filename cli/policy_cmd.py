"""`jiuzhu policy show|list|add`: the versioned policy parameters."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from pydantic import ValidationError

from cli._run import with_db
from db import policy_repo
from infra import clock
from schemas.policy import Policy, effective_date_problem

app = typer.Typer(no_args_is_help=True)


@app.command("show")
def show(on: str = typer.Option(None, help="日期 YYYY-MM-DD（默认今天）")) -> None:
    """Print the policy version in force (as JSON)."""
    day = date.fromisoformat(on) if on else clock.today()

    async def go(conn):
        await policy_repo.ensure_default(conn)
        return await policy_repo.in_force(conn, day)

    policy = with_db(go)
    typer.echo(f"# 施行中的政策参数 / policy in force on {day}: version {policy.version}", err=True)
    typer.echo(json.dumps(policy.model_dump(mode="json"), ensure_ascii=False, indent=2))


@app.command("list")
def list_() -> None:
    """List every stored version."""

    async def go(conn):
        await policy_repo.ensure_default(conn)
        return await policy_repo.list_versions(conn)

    for r in with_db(go):
        typer.echo(f"{r.version:>3}  {r.effective_from}  {r.note or ''}  ({r.created_by})")


@app.command("add")
def add(file: Path, by: str = typer.Option("admin", help="录入人")) -> None:
    """Validate a policy JSON file and store it as a new version."""
    try:
        policy = Policy.model_validate_json(file.read_text(encoding="utf-8"))
    except ValidationError as e:
        typer.echo(f"政策参数文件无效 / invalid policy file:\n{e}", err=True)
        raise typer.Exit(2) from None

    async def go(conn):
        await policy_repo.ensure_default(conn)
        latest = await policy_repo.latest_effective_from(conn)
        if why := effective_date_problem(policy.effective_from, clock.today(), latest):
            raise ValueError(why)
        await policy_repo.add(conn, policy, by)

    try:
        with_db(go)
    except Exception as e:  # asyncpg unique violations and the like, reported plainly
        typer.echo(f"未能保存 / not stored: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"已保存第 {policy.version} 版，{policy.effective_from} 起施行")
