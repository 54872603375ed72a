"""`healthcode org ...`: onboard organisations and manage their tokens (database from config)."""

from __future__ import annotations

from typing import Annotated

import typer

from healthcode.config import ConfigError, Settings
from healthcode.core.clock import SystemClock
from healthcode.core.errors import HealthcodeError
from healthcode.hub.orgs import OrgService
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade
from healthcode.store.models import ORG_KINDS

app = typer.Typer(help="Organisations of the hub and their API tokens.", no_args_is_help=True)


def _service() -> OrgService:
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    db = Database.from_url(settings.database_url)
    upgrade(db)
    return OrgService(db=db, clock=SystemClock(), token_days=settings.token_days)


def _fail(exc: HealthcodeError) -> typer.Exit:
    typer.echo(f"error: {exc.code}: {exc.message}", err=True)
    return typer.Exit(1)


@app.command()
def add(
    kind: Annotated[str, typer.Option(help=" | ".join(ORG_KINDS))],
    region: Annotated[str, typer.Option(help="GB/T 2260 region code")],
    name: Annotated[str, typer.Option(help="the organisation's name")],
) -> None:
    """Onboard an organisation; prints its token once (only a hash is kept)."""
    try:
        org_id, token = _service().add(kind=kind, region_code=region, name=name)
    except HealthcodeError as exc:
        raise _fail(exc) from exc
    typer.echo(f"organisation {org_id} ({kind}, {region}) added; its token (shown once):")
    typer.echo(token)


@app.command()
def token(org_id: int) -> None:
    """Issue another token for an organisation (printed once)."""
    try:
        typer.echo(_service().issue_token(org_id))
    except HealthcodeError as exc:
        raise _fail(exc) from exc


@app.command("list")
def list_tokens() -> None:
    """List tokens: id, organisation, kind, region, state, expiry."""
    service = _service()
    now = service.clock.now()
    for t in service.tokens():
        typer.echo(
            f"{t.id}\torg {t.org_id}\t{t.kind}\t{t.region_code}\t{t.org_name}\t"
            f"{t.state(now)}\texpires {t.expires_at.isoformat()}"
        )


@app.command()
def revoke(token_id: int) -> None:
    """Revoke a token now."""
    try:
        _service().revoke(token_id)
    except HealthcodeError as exc:
        raise _fail(exc) from exc
    typer.echo(f"token {token_id} revoked")


@app.command()
def expire(token_id: int) -> None:
    """End a token's validity now."""
    try:
        _service().expire(token_id)
    except HealthcodeError as exc:
        raise _fail(exc) from exc
    typer.echo(f"token {token_id} expired")
