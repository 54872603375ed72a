"""`healthcode hub ...`: run the hub, migrate its database, purge expired data.

The web framework and the database layer are imported inside the commands that use them.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from healthcode.cli.options import command_group, migrated_database, settings
from healthcode.core.errors import ConfigError

__all__ = ["app", "app_from_env", "settled"]

app = command_group("The national data hub.")


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    migrated_database()
    typer.echo("database at head")


def app_from_env() -> Any:
    """The hub's ASGI app from the environment: what each ``serve --workers`` process builds
    (its start-up heap then frozen, ``settled``)."""
    from healthcode.hub.app import create_app
    from healthcode.hub.services import Hub

    return settled(create_app(Hub.from_settings(settings())))


def settled(built: Any) -> Any:
    """``built`` (an app), once what start-up made is out of the garbage collector's sight
    (``gc.freeze``) in a server process: its modules, routes, tables and caches live until it
    ends, and a full collection that scans them (~140,000 objects) held the event loop for
    300-500 ms on the project's 2-core machine (docs/benchmarks.md, "The hub's tail"); frozen,
    a collection scans only what requests made. Only ``serve`` does it: a test process builds
    many apps."""
    gc.collect()
    gc.freeze()
    return built


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option("--host", metavar="HOST", help="address to bind (HEALTHCODE_HUB_HOST)"),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", metavar="PORT", help="port to bind (HEALTHCODE_HUB_PORT)"),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            metavar="INTEGER",
            help="server processes (each with its own connection pool)",
        ),
    ] = 1,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            metavar="DIR",
            help="a network data folder (healthcode init): its database, keys and address",
        ),
    ] = None,
) -> None:
    """Migrate the database, then serve the hub's HTTP API."""
    import os

    import uvicorn

    from healthcode.hub.app import create_app
    from healthcode.hub.services import Hub

    if data is not None:
        from healthcode.network.datadir import DataDir

        # every ``--workers`` process reads the same settings from the environment
        os.environ.update(DataDir.open(data).hub_environment({}))
    config = settings()
    hub = Hub.from_settings(config)
    migrated_database(hub.db)
    hub.db.check_capacity(workers, read_connections=config.read_connections)  # all fit
    # Warnings and errors only, no access log (a log line per request costs more than a cached
    # status query); uvicorn picks uvloop and httptools when they are installed
    # (``uvicorn[standard]``), else asyncio and h11.
    options: dict[str, Any] = {
        "host": host or config.hub_host,
        "port": port or config.hub_port,
        "log_level": "warning",
        "access_log": False,
    }
    if workers > 1:
        hub.db.dispose()
        typer.echo(f"hub on http://{options['host']}:{options['port']} ({workers} workers)")
        uvicorn.run("healthcode.cli.hub:app_from_env", factory=True, workers=workers, **options)
        return
    typer.echo(f"hub on http://{options['host']}:{options['port']}")
    uvicorn.run(settled(create_app(hub)), **options)


@app.command()
def purge(
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="also write the signed statement here"),
    ] = None,
) -> None:
    """Delete what has passed its retention period; print the statement, sealed by the
    network's publisher (its key in HEALTHCODE_HOME/publishers/)."""
    from healthcode.config import ENVIRONMENT
    from healthcode.core.clock import SystemClock
    from healthcode.hub.purge import PurgeService

    config = settings()
    if not config.network_home:
        variable = ENVIRONMENT["network_home"][0]
        raise ConfigError(variable, "is missing: the publishing key seals the statement")
    passphrase = config.key_passphrase.encode() if config.key_passphrase else None
    service = PurgeService.of_network(
        db=migrated_database(),
        clock=SystemClock(),
        home=Path(config.network_home),
        passphrase=passphrase,
    )
    signed = service.run()
    if out is not None:
        out.write_bytes(signed.cose)
    typer.echo(json.dumps(signed.statement, ensure_ascii=False, indent=2))
