"""``healthcode init [DATA_DIR]``: make a network's data folder (``network/init.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from healthcode.cli import options
from healthcode.network.datadir import DEFAULT_BASE_PORT, DEFAULT_PROVINCES

__all__ = [
    "DEFAULT_DATA_DIR",
    "PROVINCES_TEXT",
    "BasePort",
    "DataDirArgument",
    "Provinces",
    "app",
    "province_codes",
]

DEFAULT_DATA_DIR = Path("var/network")
PROVINCES_TEXT = ",".join(DEFAULT_PROVINCES)

DataDirArgument = Annotated[
    Path,
    typer.Argument(metavar="DATA_DIR", help="the network's data folder (keys, tokens, databases)"),
]
Provinces = Annotated[
    str,
    typer.Option("--provinces", metavar="CODES", help="comma-separated province codes (first run)"),
]
BasePort = Annotated[
    int,
    typer.Option(
        "--base-port",
        min=1,
        max=65500,
        metavar="PORT",
        help="the hub's port; the provinces and the checkpoint take the next ones (first run)",
    ),
]

app = options.command_group("Make a network's data folder.")


def province_codes(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


@app.command("init")
def init(
    data_dir: DataDirArgument = DEFAULT_DATA_DIR,
    provinces: Provinces = PROVINCES_TEXT,
    base_port: BasePort = DEFAULT_BASE_PORT,
    passphrase: options.Passphrase = None,
) -> None:
    """Make a network's data folder.

    Keys, the hub's database, organisations and their tokens, and the description of its
    services. Running it again keeps everything."""
    from healthcode.network.init import init_network

    report = init_network(
        data_dir,
        provinces=province_codes(provinces),
        base_port=base_port,
        passphrase=passphrase.encode() if passphrase else None,
    )
    for line in report.made:
        typer.echo(f"made  {line}")
    for line in report.kept:
        typer.echo(f"kept  {line}")
    folder = report.folder
    typer.echo(
        f"network in {folder.root}: hub {folder.url('hub')}, checkpoint "
        f"{folder.url('checkpoint')}, provinces "
        + ", ".join(f"{p} {folder.url(p)}" for p in folder.provinces)
    )
    typer.echo(f"run it: healthcode serve {folder.root}")
