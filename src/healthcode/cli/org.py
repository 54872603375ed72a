"""`healthcode org ...`: onboard organisations and manage their tokens (database from config)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from healthcode.cli.options import command_group, migrated_database, settings
from healthcode.store.models import ORG_KINDS

if TYPE_CHECKING:
    from healthcode.hub.orgs import OrgService

__all__ = ["app"]

app = command_group("Organisations of the hub and their API tokens.")

OrgId = Annotated[int, typer.Argument(metavar="ORG", help="the organisation's id")]
TokenId = Annotated[int, typer.Argument(metavar="TOKEN", help="the token's id")]


def _service() -> OrgService:
    from healthcode.core.clock import SystemClock
    from healthcode.hub.orgs import OrgService

    config = settings()
    return OrgService(db=migrated_database(), clock=SystemClock(), token_days=config.token_days)


@app.command()
def add(
    kind: Annotated[str, typer.Option("--kind", metavar="KIND", help=" | ".join(ORG_KINDS))],
    region: Annotated[str, typer.Option("--region", metavar="CODE", help="GB/T 2260 region code")],
    name: Annotated[str, typer.Option("--name", metavar="TEXT", help="the organisation's name")],
) -> None:
    """Onboard an organisation; prints its token once (only a hash is kept)."""
    org_id, token = _service().add(kind=kind, region_code=region, name=name)
    typer.echo(f"organisation {org_id} ({kind}, {region}) added; its token (shown once):")
    typer.echo(token)


@app.command()
def token(org_id: OrgId) -> None:
    """Issue another token for an organisation (printed once)."""
    typer.echo(_service().issue_token(org_id))


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
def revoke(token_id: TokenId) -> None:
    """Revoke a token now."""
    _service().revoke(token_id)
    typer.echo(f"token {token_id} revoked")


@app.command()
def expire(token_id: TokenId) -> None:
    """End a token's validity now."""
    _service().expire(token_id)
    typer.echo(f"token {token_id} expired")
