"""``healthcode simulate [DATA_DIR]``: an outbreak over a running network (network/simulate.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from healthcode.cli import options
from healthcode.cli.init import DEFAULT_DATA_DIR, DataDirArgument

__all__ = ["app"]

app = options.command_group("Drive an outbreak over a running network and watch the codes.")


@app.command("simulate")
def simulate(
    data_dir: DataDirArgument = DEFAULT_DATA_DIR,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", min=0.1, max=600, metavar="SECONDS", help="longest wait for a colour change"
        ),
    ] = 10.0,
) -> None:
    """Drive an outbreak over a running network and watch the codes.

    Over the network that `healthcode serve DATA_DIR` runs: cases, close contacts, a
    medium-risk area designated and lifted, people travelling between provinces; it prints
    what each province's codes did and how long each transcoding took."""
    from healthcode.network.datadir import DataDir
    from healthcode.network.simulate import run

    run(DataDir.open(data_dir), say=typer.echo, wait=wait)
