"""``healthcode keys ...``: a network's national root and province signers on disk.

The network directory is ``--home`` (env ``HEALTHCODE_HOME``, default ``./var/keys``). Private
keys are encrypted with ``HEALTHCODE_KEY_PASSPHRASE`` when it is set, and stored unencrypted
otherwise (demo only: production keeps the root in an HSM).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer

from healthcode.cli import options
from healthcode.core.codes.native import MAX_CODE_LIFETIME
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.trust.network import DEFAULT_SIGNER_VALIDITY, Network

__all__ = ["app"]

app = options.command_group("Keys: national root, province signers, rotation, revocation.")

Province = Annotated[
    str, typer.Option("--province", metavar="CODE", help="province code (GB/T 2260)")
]
SignerDays = Annotated[
    int,
    typer.Option(
        "--signer-days",
        min=1,
        max=options.MAX_DAYS,
        metavar="DAYS",
        help="validity of new signer certificates",
    ),
]


def _hex(value: str, option: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise InvalidInput(
            ErrorCode.USAGE, f"{option} {value!r} is not hexadecimal", option=option
        ) from None


@app.command("init")
def init(
    provinces: Annotated[
        str, typer.Option("--provinces", metavar="CODES", help="comma-separated province codes")
    ],
    home: options.Home = options.DEFAULT_HOME,
    passphrase: options.Passphrase = None,
    signer_days: SignerDays = DEFAULT_SIGNER_VALIDITY.days,
    now: options.Now = None,
) -> None:
    """Create a new network: a national root and one signer per province."""
    codes = [p.strip() for p in provinces.split(",") if p.strip()]
    net = Network.init(
        home,
        provinces=codes,
        clock=options.clock_of(now),
        passphrase=passphrase.encode() if passphrase else None,
        signer_validity=timedelta(days=signer_days),
    )
    typer.echo(f"network created in {home}: root {net.root_certificate_path}")
    for signer in net.signers():
        typer.echo(f"  signer {signer['kid']}  province {signer['province']}")
    if not passphrase:
        typer.echo(
            "warning: private keys are NOT encrypted (set HEALTHCODE_KEY_PASSPHRASE)", err=True
        )


@app.command("list")
def list_signers(
    home: options.Home = options.DEFAULT_HOME, as_json: options.AsJson = False
) -> None:
    """List the signers with their state."""
    signers = options.open_network(home, None).signers()
    if as_json:
        typer.echo(json.dumps(signers, indent=2))
        return
    for s in signers:
        state = "revoked" if s["revoked"] else "retired" if s["retired_at"] else "active"
        typer.echo(f"{s['kid']}  {s['province']}  {state:7}  {s['not_before']} .. {s['not_after']}")


@app.command("rotate")
def rotate(
    province: Province,
    home: options.Home = options.DEFAULT_HOME,
    passphrase: options.Passphrase = None,
    signer_days: SignerDays = DEFAULT_SIGNER_VALIDITY.days,
    now: options.Now = None,
) -> None:
    """A new signer for a province; the old one retires but stays trusted for its codes."""
    net = options.open_network(home, passphrase)
    pair = net.rotate(province, clock=options.clock_of(now), validity=timedelta(days=signer_days))
    typer.echo(f"province {province}: new signer {pair.kid.hex()}; publish a new trust list")


@app.command("revoke")
def revoke(
    kid: Annotated[
        str | None, typer.Option("--kid", metavar="HEX", help="revoke a signer (hex kid)")
    ] = None,
    serial: Annotated[
        str | None, typer.Option("--serial", metavar="HEX", help="revoke one code (hex serial)")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="TIME", help="keep a serial listed until (ISO 8601)"),
    ] = None,
    home: options.Home = options.DEFAULT_HOME,
    now: options.Now = None,
) -> None:
    """Revoke a signer (every code it signed) or a single code by serial."""
    if (kid is None) == (serial is None):
        raise InvalidInput(ErrorCode.USAGE, "give exactly one of --kid and --serial")
    net = options.open_network(home, None)
    clock = options.clock_of(now)
    if kid is not None:
        net.revoke_signer(_hex(kid, "--kid"), clock=clock)
        typer.echo(f"signer {kid} revoked; publish a new trust list")
        return
    assert serial is not None
    end = (
        options.clock_of(until, option="--until").now()
        if until
        else clock.now() + MAX_CODE_LIFETIME
    )
    net.revoke_serial(_hex(serial, "--serial"), until=end)
    typer.echo(f"code {serial} revoked until {end.isoformat()}; publish a new trust list")
