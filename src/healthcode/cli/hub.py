"""`healthcode hub ...`: run the hub, migrate its database, purge expired data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from healthcode.config import ConfigError, Settings
from healthcode.core.clock import SystemClock
from healthcode.core.errors import HealthcodeError
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade

app = typer.Typer(help="The national data hub.", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def migrate() -> None:
    """Upgrade the database to the newest schema."""
    db = Database.from_url(_settings().database_url)
    upgrade(db)
    typer.echo("database at head")


def app_from_env() -> Any:
    """The hub's ASGI app from the environment: what each ``serve --workers`` process builds."""
    from healthcode.hub.app import create_app
    from healthcode.hub.services import Hub

    return create_app(Hub.from_settings(Settings.from_env()))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="default HEALTHCODE_HUB_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="default HEALTHCODE_HUB_PORT")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="server processes (each with its own connection pool)")
    ] = 1,
) -> None:
    """Migrate the database, then serve the hub's HTTP API."""
    import uvicorn

    from healthcode.hub.app import create_app
    from healthcode.hub.services import Hub

    settings = _settings()
    hub = Hub.from_settings(settings)
    upgrade(hub.db)
    bind_host, bind_port = host or settings.hub_host, port or settings.hub_port
    # Warnings and errors only, no access log (a log line per request costs more than a cached
    # status query); uvicorn picks uvloop and httptools when they are installed
    # (``uvicorn[standard]``), else asyncio and h11.
    options: dict[str, Any] = {
        "host": bind_host,
        "port": bind_port,
        "log_level": "warning",
        "access_log": False,
    }
    if workers > 1:
        hub.db.dispose()
        uvicorn.run("healthcode.cli.hub:app_from_env", factory=True, workers=workers, **options)
        return
    uvicorn.run(create_app(hub), **options)


@app.command()
def purge(
    out: Annotated[Path | None, typer.Option(help="also write the signed statement here")] = None,
) -> None:
    """Delete what has passed its retention period; print the signed statement."""
    from healthcode.core.trust.certs import load_private_key
    from healthcode.hub.purge import PurgeService

    settings = _settings()
    if not settings.signing_key_file:
        typer.echo("error: Config 'HEALTHCODE_HUB_SIGNING_KEY_FILE' is missing", err=True)
        raise typer.Exit(2)
    try:
        key = load_private_key(Path(settings.signing_key_file).read_bytes())
    except (OSError, HealthcodeError) as exc:
        typer.echo(f"error: HEALTHCODE_HUB_SIGNING_KEY_FILE: {exc}", err=True)
        raise typer.Exit(2) from exc
    db = Database.from_url(settings.database_url)
    upgrade(db)
    signed = PurgeService(db=db, clock=SystemClock(), signing_key=key).run()
    if out is not None:
        out.write_bytes(signed.cose)
    typer.echo(json.dumps(signed.statement, ensure_ascii=False, indent=2))
