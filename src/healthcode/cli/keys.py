"""``healthcode keys ...``: a network's national root and province signers on disk.

The network directory is ``--home`` (env ``HEALTHCODE_HOME``, default ``./var/keys``); it holds
the private keys. The trust state (signers, revocations, sequences) is in ``--database`` (env
``HEALTHCODE_DATABASE_URL``: the hub's database, shared with every hub process), or in
``DIR/network.db`` for a network without a hub. Private keys are encrypted with
``HEALTHCODE_KEY_PASSPHRASE`` when it is set, and stored unencrypted otherwise (demo only:
production keeps the root offline, in an HSM; see docs/security.md).
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
from healthcode.core.trust.network import (
    DEFAULT_PUBLISHER_VALIDITY,
    DEFAULT_SIGNER_VALIDITY,
    Network,
)

__all__ = ["app"]

app = options.command_group("Keys: national root, province signers, rotation, revocation.")
publisher_app = options.command_group(
    "The publishing key: certified by the root, it seals what the hub publishes."
)
app.add_typer(publisher_app, name="publisher")

Province = Annotated[
    str, typer.Option("--province", metavar="CODE", help="province code (GB/T 2260)")
]
SignerDays = Annotated[int, options.days("--signer-days", "validity of new signer certificates")]
PublisherDays = Annotated[
    int, options.days("--publisher-days", "validity of a new publisher certificate (keep it short)")
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
    publisher_days: PublisherDays = DEFAULT_PUBLISHER_VALIDITY.days,
    database: options.StateDatabase = None,
    now: options.Now = None,
) -> None:
    """Create a new network: a national root and one signer per province."""
    codes = [p.strip() for p in provinces.split(",") if p.strip()]
    clock = options.clock_of(now)
    store = options.state_store(home, database, clock=clock, create=True)
    net = Network.init(
        home,
        store=store,
        provinces=codes,
        clock=clock,
        passphrase=passphrase.encode() if passphrase else None,
        signer_validity=timedelta(days=signer_days),
        publisher_validity=timedelta(days=publisher_days),
    )
    typer.echo(f"network created in {home}: root {net.root_certificate_path}")
    for signer in net.signers():
        typer.echo(f"  signer {signer['kid']}  province {signer['province']}")
    for publisher in net.publishers():
        typer.echo(f"  publisher {publisher['kid']}  until {publisher['not_after']}")
    from healthcode.hub.witness import witness_home

    for line in witness_home(store.db, clock, home, codes):  # type: ignore[attr-defined]
        typer.echo(f"  {line}")
    if not passphrase:
        typer.echo(
            "warning: private keys are NOT encrypted (set HEALTHCODE_KEY_PASSPHRASE)", err=True
        )


@app.command("list")
def list_signers(
    home: options.Home = options.DEFAULT_HOME,
    database: options.StateDatabase = None,
    as_json: options.AsJson = False,
) -> None:
    """List the signers with their state."""
    signers = options.open_network(home, None, database).signers()
    _print_states(signers, as_json, "province")


@app.command("rotate")
def rotate(
    province: Province,
    home: options.Home = options.DEFAULT_HOME,
    passphrase: options.Passphrase = None,
    signer_days: SignerDays = DEFAULT_SIGNER_VALIDITY.days,
    database: options.StateDatabase = None,
    now: options.Now = None,
) -> None:
    """A new signer for a province; the old one retires but stays trusted for its codes."""
    clock = options.clock_of(now)
    net = options.open_network(home, passphrase, database, clock=clock)
    pair = net.rotate(province, clock=clock, validity=timedelta(days=signer_days))
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
    database: options.StateDatabase = None,
    now: options.Now = None,
) -> None:
    """Revoke a signer (every code it signed) or a single code by serial."""
    if (kid is None) == (serial is None):
        raise InvalidInput(ErrorCode.USAGE, "give exactly one of --kid and --serial")
    clock = options.clock_of(now)
    net = options.open_network(home, None, database, clock=clock)
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


def _print_states(entries: list[dict[str, object]], as_json: bool, column: str) -> None:
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        state = "revoked" if e["revoked"] else "retired" if e["retired_at"] else "active"
        typer.echo(
            f"{e['kid']}  {e.get(column, '-')}  {state:7}  {e['not_before']} .. {e['not_after']}"
        )


@publisher_app.command("list")
def list_publishers(
    home: options.Home = options.DEFAULT_HOME,
    database: options.StateDatabase = None,
    as_json: options.AsJson = False,
) -> None:
    """List the publishers with their state."""
    _print_states(options.open_network(home, None, database).publishers(), as_json, "role")


@publisher_app.command("rotate")
def rotate_publisher(
    home: options.Home = options.DEFAULT_HOME,
    passphrase: options.Passphrase = None,
    publisher_days: PublisherDays = DEFAULT_PUBLISHER_VALIDITY.days,
    database: options.StateDatabase = None,
    now: options.Now = None,
) -> None:
    """The root certifies a new publishing key (run where the root is: offline); the old one
    retires. Copy publishers/<kid>.key.pem to the hub's key home."""
    clock = options.clock_of(now)
    net = options.open_network(home, passphrase, database, clock=clock)
    pair = net.rotate_publisher(clock=clock, validity=timedelta(days=publisher_days))
    typer.echo(f"new publisher {pair.kid.hex()}: give the hub publishers/{pair.kid.hex()}.key.pem")


@publisher_app.command("revoke")
def revoke_publisher(
    kid: Annotated[str, typer.Option("--kid", metavar="HEX", help="the publisher's kid (hex)")],
    home: options.Home = options.DEFAULT_HOME,
    database: options.StateDatabase = None,
    now: options.Now = None,
) -> None:
    """Revoke a publishing key (stolen, lost): every document sealed after this names it."""
    clock = options.clock_of(now)
    net = options.open_network(home, None, database, clock=clock)
    net.revoke_publisher(_hex(kid, "--kid"), clock=clock)
    typer.echo(f"publisher {kid} revoked; rotate the publisher if it was the active one")
