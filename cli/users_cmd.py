"""`jiuzhu users add|list|passwd`: staff accounts."""

from __future__ import annotations

import typer

from cli._run import with_db
from db import users_repo
from schemas.staff import Bureau, Role

app = typer.Typer(no_args_is_help=True)


@app.command("add")
def add(
    username: str,
    full_name: str = typer.Option(..., "--name", help="姓名"),
    role: Role = typer.Option(..., help="角色"),
    place: str = typer.Option(..., help="辖区区划代码"),
    bureau: Bureau = typer.Option(None, help="部门（仅部门工作人员）"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a staff user."""
    try:
        with_db(
            lambda conn: users_repo.add_user(
                conn,
                username=username,
                full_name=full_name,
                role=role,
                place_code=place,
                password=password,
                bureau=bureau,
            )
        )
    except users_repo.UserError as e:
        typer.echo(f"错误：{e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"已创建用户 {username}（{role.label}，{place}）")


@app.command("list")
def list_() -> None:
    """List staff users with role and jurisdiction."""
    for r in with_db(users_repo.list_users):
        role = Role(r.role)
        bureau = f" {Bureau(r.bureau).label}" if r.bureau else ""
        state = "" if r.active else " [停用]"
        place = f"{r.place_name}({r.place_code})"
        typer.echo(f"{r.username:<16} {r.full_name:<20} {role.label}{bureau}  {place}{state}")


@app.command("passwd")
def passwd(
    username: str,
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Set a user's password."""
    try:
        with_db(lambda conn: users_repo.set_password(conn, username, password))
    except users_repo.UserError as e:
        typer.echo(f"错误：{e}", err=True)
        raise typer.Exit(2) from None
    typer.echo("密码已更新")
