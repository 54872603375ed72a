"""``healthcode checkpoint serve``: the checkpoint service (``checkpoint/``).

Configured by the ``HEALTHCODE_CHECKPOINT_*`` variables (``config.CHECKPOINT_ENVIRONMENT``), or
from a network data folder (``--data DIR``, made by ``healthcode init``): its trust store, the
national root, the hub's address and the checkpoint's token there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from healthcode.cli.options import command_group

__all__ = ["app"]

app = command_group("The checkpoint: verifies codes of every province, EU DCC and SHC.")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option("--host", metavar="HOST", help="HEALTHCODE_CHECKPOINT_HOST")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", metavar="PORT", help="HEALTHCODE_CHECKPOINT_PORT")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", metavar="DIR", help="a network data folder (healthcode init)"),
    ] = None,
) -> None:
    """Serve the checkpoint's HTTP API; it refreshes its trust list from the hub."""
    import uvicorn

    from healthcode.checkpoint.app import create_app
    from healthcode.checkpoint.service import Checkpoint
    from healthcode.config import CheckpointSettings

    environ: dict[str, Any] = dict(os.environ)
    if data is not None:
        from healthcode.network.datadir import DataDir

        environ.update(DataDir.open(data).checkpoint_environment())
    settings = CheckpointSettings.from_env(environ)
    checkpoint = Checkpoint.from_settings(settings)
    checkpoint.start()
    where = f"http://{host or settings.host}:{port or settings.port}"
    trust = checkpoint.trust_status()
    typer.echo(f"checkpoint on {where} (trust list: {trust['describe'] if trust else 'none yet'})")
    try:
        uvicorn.run(
            create_app(checkpoint),
            host=host or settings.host,
            port=port or settings.port,
            log_level="warning",
            access_log=False,
        )
    finally:
        checkpoint.stop()
