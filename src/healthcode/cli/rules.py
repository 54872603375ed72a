"""`healthcode rules ...`: check rule sets and explain a colour."""

from __future__ import annotations

import typer

app = typer.Typer(help="Colour rule sets: check a file, explain a person's colour.", no_args_is_help=True)
