"""``healthcode trust publish|show``: the signed trust list of a network."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from healthcode.cli import options
from healthcode.core.errors import HealthcodeError
from healthcode.core.trust.certs import kid_of, load_certificate
from healthcode.core.trust.envelope import open_envelope, peek
from healthcode.core.trust.trustlist import TrustList

__all__ = ["app"]

app = options.command_group("Trust list: publish a signed one, show one.")


@app.command("publish")
def publish(
    home: options.Home = options.DEFAULT_HOME,
    passphrase: options.Passphrase = None,
    hours: Annotated[
        int,
        typer.Option(
            "--hours", min=1, max=options.MAX_HOURS, metavar="HOURS", help="validity of the list"
        ),
    ] = 24,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="also write it here")
    ] = None,
    database: options.StateDatabase = None,
    now: options.Now = None,
) -> None:
    """Sign the network's current trust list (next sequence number of the shared counter)."""
    clock = options.clock_of(now)
    net = options.open_network(home, passphrase, database, clock=clock)
    raw = net.publish(clock=clock, validity=timedelta(hours=hours))
    if out is not None:
        out.write_bytes(raw)
    info = peek(raw)
    typer.echo(
        f"trust list #{info['seq']} ({len(raw)} bytes) -> "
        f"{out or home / 'published' / 'trust-list.cose'}"
    )


@app.command("show")
def show(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="a signed trust list (trust-list.cose)")
    ],
    root: Annotated[
        Path | None,
        typer.Option(
            "--root", metavar="FILE", help="national root certificate (default: in --home)"
        ),
    ] = None,
    home: options.Home = options.DEFAULT_HOME,
    max_stale_hours: options.MaxStaleHours = 24,
    as_json: options.AsJson = False,
    now: options.Now = None,
) -> None:
    """Verify a signed trust list against the root and show it (exit 1 when it fails)."""
    raw = file.read_bytes()
    try:
        root_cert = load_certificate((root or home / "root.cert.pem").read_bytes())
    except HealthcodeError as exc:
        raise options.refused(exc, "--root") from exc
    doc = open_envelope(
        raw,
        root_cert=root_cert,
        kind="trust-list",
        clock=options.clock_of(now),
        max_staleness=timedelta(hours=max_stale_hours),
    )
    listing = TrustList.from_content(doc.content, root_cert=root_cert)
    out: dict[str, Any] = {
        "sequence": doc.sequence,
        "not_before": doc.not_before.isoformat(),
        "expires": doc.expires.isoformat(),
        "stale_by_seconds": int(doc.stale_by.total_seconds()),
        "digest": doc.digest.hex(),
        "publisher": kid_of(doc.publisher).hex() if doc.publisher is not None else None,
        "revoked_publishers": sorted(k.hex() for k in doc.revoked_publishers),
        "content": listing.to_json(),
    }
    if as_json:
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    typer.echo(f"trust list #{doc.sequence}: valid {out['not_before']} .. {out['expires']}")
    typer.echo(f"  sealed by publisher {out['publisher']}")
    if doc.is_stale:
        typer.echo(f"STALE: expired {doc.stale_by} ago")
    for signer in out["content"]["signers"]:
        revoked = " REVOKED" if signer["kid"] in out["content"]["revoked_signers"] else ""
        retired = f" retired {signer['retired_at']}" if signer["retired_at"] else ""
        typer.echo(f"  signer {signer['kid']}  {signer['province']}{retired}{revoked}")
    typer.echo(f"  revoked codes: {len(out['content']['revoked_serials'])}")
