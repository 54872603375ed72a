"""`healthcode province grid ...`: load grid units from CSV, list them, the "four early"
figures and each risk person's timeliness as CSV (the province's own tools: every grid)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from healthcode.cli.options import command_group
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput

__all__ = ["app"]

app = command_group("The grid: units from CSV, timeliness figures and export.")

Region = Annotated[
    str | None,
    typer.Option(
        "--region", metavar="CODE", help="the province's code, 440000 (HEALTHCODE_PROVINCE_REGION)"
    ),
]


def _grid(region: str | None) -> Any:
    from healthcode.cli.province_db import migrated, settings
    from healthcode.core.clock import SystemClock
    from healthcode.core.rules import baseline
    from healthcode.province.grid import GridService
    from healthcode.store.crypto import FieldCipher

    config = settings(region=region)

    def unsent(_: Any) -> int:  # pragma: no cover - the commands never hand over
        raise RuntimeError("hand-overs are sent by the service")

    return GridService(
        db=migrated(config),
        clock=SystemClock(),
        province=config.region,
        cipher=FieldCipher(key=config.field_key),
        ruleset=baseline,
        send=unsent,
    )


@app.command("load")
def load(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV: region_code,grid_id,name")],
    region: Region = None,
) -> None:
    """Load grid units from a CSV file, all or nothing (bad rows listed by line)."""
    try:
        text = file.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(ErrorCode.GRID_CSV_INVALID, f"cannot read {file}: {exc}") from exc
    grid = _grid(region)
    try:
        try:
            count = grid.load_csv(text)
        except InvalidInput as exc:
            for row in exc.details.get("errors", []):
                typer.echo(f"line {row['line']}: {row.get('field') or ''} {row['message']}")
            raise
    finally:
        grid.db.dispose()
    typer.echo(f"{count} grid unit(s) loaded")


@app.command("list")
def list_units(region: Region = None) -> None:
    """Every grid unit: county, id, name, workers."""
    grid = _grid(region)
    try:
        for u in grid.units():
            workers = ",".join(w["id"] for w in u["workers"]) or "-"
            typer.echo(f"{u['region_code']}  {u['grid_id']:32}  {u['name']}  workers: {workers}")
    finally:
        grid.db.dispose()


@app.command("timeliness")
def figures(
    by: Annotated[str, typer.Option("--by", metavar="UNIT", help="grid | county")] = "grid",
    as_csv: Annotated[bool, typer.Option("--csv", help="figures as CSV")] = False,
    region: Region = None,
) -> None:
    """'Four early' figures per grid or county and day (seconds from the fact's arrival)."""
    from healthcode.province.grid.timeliness import figure_columns, to_csv

    grid = _grid(region)
    try:
        rows = grid.figures(None, by=by)
    finally:
        grid.db.dispose()
    typer.echo(
        to_csv(rows, figure_columns(by))
        if as_csv
        else json.dumps(rows, ensure_ascii=False, indent=1),
        nl=False,
    )
    if not as_csv:
        typer.echo("")


@app.command("export")
def export(region: Region = None) -> None:
    """Each risk person's timeliness as CSV on standard output, the overdue first."""
    grid = _grid(region)
    try:
        typer.echo(grid.export(None), nl=False)
    finally:
        grid.db.dispose()
