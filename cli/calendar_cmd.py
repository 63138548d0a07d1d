"""`jiuzhu calendar ...` (to be written)."""

import typer

app = typer.Typer(no_args_is_help=True)
