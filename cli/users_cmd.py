"""`jiuzhu users add|list|passwd|id-number`: staff accounts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import typer

from cli._run import with_db
from db import users_repo
from schemas.identity import mask_id
from schemas.staff import Bureau, Role

app = typer.Typer(no_args_is_help=True)


def _write(fn: Callable[[asyncpg.Connection], Awaitable[object]]) -> None:
    """Run a change of `users_repo`; its refusal is printed in Chinese and exits 2."""
    try:
        with_db(fn)
    except users_repo.UserError as e:
        typer.echo(f"错误：{e}", err=True)
        raise typer.Exit(2) from None


@app.command("add")
def add(
    username: str,
    full_name: str = typer.Option(..., "--name", help="姓名"),
    role: Role = typer.Option(..., help="角色"),
    place: str = typer.Option(..., help="辖区区划代码"),
    bureau: Bureau = typer.Option(None, help="部门（仅部门工作人员）"),
    id_number: str = typer.Option(None, "--id-number", help="本人身份证号码（近亲属申报按此比对，可不填）"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a staff user."""
    _write(
        lambda conn: users_repo.add_user(
            conn,
            username=username,
            full_name=full_name,
            role=role,
            place_code=place,
            password=password,
            bureau=bureau,
            id_number=id_number,
        )
    )
    typer.echo(f"已创建用户 {username}（{role.label}，{place}）")


@app.command("list")
def list_() -> None:
    """List staff users with role and jurisdiction."""
    for r in with_db(users_repo.list_users):
        role = Role(r.role)
        bureau = f" {Bureau(r.bureau).label}" if r.bureau else ""
        state = "" if r.active else " [停用]"
        place = f"{r.place_name}({r.place_code})"
        id_number = f"  {mask_id(r.id_number)}" if r.id_number else ""
        typer.echo(f"{r.username:<16} {r.full_name:<20} {role.label}{bureau}  {place}{id_number}{state}")


@app.command("passwd")
def passwd(
    username: str,
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Set a user's password."""
    _write(lambda conn: users_repo.set_password(conn, username, password))
    typer.echo("密码已更新")


@app.command("id-number")
def id_number(
    username: str,
    value: str = typer.Argument("", help="本人身份证号码；留空则清除"),
) -> None:
    """Record a user's own resident ID number (matched against the relatives applicants declare), or clear it."""
    _write(lambda conn: users_repo.set_id_number(conn, username, value))
    if value.strip():
        typer.echo(f"已登记 {username} 的身份证号码 {mask_id(value.strip().upper())}")
    else:
        typer.echo(f"已清除 {username} 的身份证号码")
