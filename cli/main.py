"""`jiuzhu`: bring the system up, inspect it, and administer calendar, policy and users."""

from __future__ import annotations

import atexit
import os
import sys

import typer

from cli import calendar_cmd, ops_cmd, policy_cmd, roster_cmd, system_cmd, users_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Jiuzhu (救助) social-assistance case system")
app.command("up")(system_cmd.up)
app.command("status")(system_cmd.status)
app.command("migrate")(system_cmd.migrate)
app.command("worker")(system_cmd.worker)
app.command("schedules")(system_cmd.schedules)
app.command("backup")(ops_cmd.backup)
app.command("restore")(ops_cmd.restore)
app.command("payload-key")(ops_cmd.payload_key)
app.add_typer(calendar_cmd.app, name="calendar", help="Statutory working-day calendar")
app.add_typer(policy_cmd.app, name="policy", help="Versioned policy parameters")
app.add_typer(users_cmd.app, name="users", help="Staff users and roles")
app.add_typer(roster_cmd.app, name="roster", help="Import the roster of existing recipients")


def main() -> None:
    """Run the command, then leave without the interpreter's final clean-up.

    A process that used the Temporal client can abort at exit with "Fatal Python error: PyGILState_Release"
    while the SDK's runtime threads are torn down (temporalio/sdk-python#300), turning a successful
    `jiuzhu status` into exit code -6. The exit handlers (embedded PostgreSQL's stop among them) still run;
    then the process ends with the command's own exit code.
    """
    try:
        app()
        code = 0
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            code = e.code or 0
        else:
            print(e.code, file=sys.stderr)
            code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
