"""`jiuzhu`: bring the system up, inspect it, and administer calendar, policy and users."""

from __future__ import annotations

import typer

from cli import calendar_cmd, ops_cmd, policy_cmd, system_cmd, users_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Jiuzhu (救助) social-assistance case system")
app.command("up")(system_cmd.up)
app.command("status")(system_cmd.status)
app.command("migrate")(system_cmd.migrate)
app.command("worker")(system_cmd.worker)
app.command("schedules")(system_cmd.schedules)
app.command("backup")(ops_cmd.backup)
app.command("restore")(ops_cmd.restore)
app.add_typer(calendar_cmd.app, name="calendar", help="Statutory working-day calendar")
app.add_typer(policy_cmd.app, name="policy", help="Versioned policy parameters")
app.add_typer(users_cmd.app, name="users", help="Staff users and roles")

if __name__ == "__main__":
    app()
