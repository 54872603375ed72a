"""``healthcode keys ...``: a network's national root and province signers on disk.

The network directory is ``--home`` (env ``HEALTHCODE_HOME``, default ``./var/keys``). Private
keys are encrypted with ``HEALTHCODE_KEY_PASSPHRASE`` when it is set, and stored unencrypted
otherwise (demo only: production keeps the root in an HSM).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from healthcode.core.clock import Clock, FixedClock, SystemClock, parse_instant
from healthcode.core.codes.native import MAX_CODE_LIFETIME
from healthcode.core.errors import HealthcodeError
from healthcode.core.trust.network import DEFAULT_SIGNER_VALIDITY, Network

__all__ = ["Home", "Now", "Passphrase", "app", "clock_of", "fail", "open_network"]

app = typer.Typer(
    help="Keys: national root, province signers, rotation, revocation.", no_args_is_help=True
)

Home = Annotated[Path, typer.Option("--home", envvar="HEALTHCODE_HOME", help="network directory")]
Passphrase = Annotated[
    str | None,
    typer.Option(
        "--passphrase",
        envvar="HEALTHCODE_KEY_PASSPHRASE",
        hidden=True,
        help="passphrase of the private keys",
    ),
]
Now = Annotated[str | None, typer.Option("--now", help="act as of this ISO 8601 time")]
DEFAULT_HOME = Path("var/keys")


def clock_of(now: str | None) -> Clock:
    """The clock for a command: fixed when ``--now`` is given."""
    if now is None:
        return SystemClock()
    try:
        return FixedClock(parse_instant(now))
    except ValueError:
        raise fail(f"--now {now!r} is not an ISO 8601 time", code=2) from None


def fail(message: str, *, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=code)


def open_network(home: Path, passphrase: str | None) -> Network:
    try:
        return Network.open(home, passphrase=passphrase.encode() if passphrase else None)
    except HealthcodeError as exc:
        raise fail(f"{exc.code}: {exc.message}") from exc


@app.command("init")
def init(
    provinces: Annotated[str, typer.Option("--provinces", help="comma-separated province codes")],
    home: Home = DEFAULT_HOME,
    passphrase: Passphrase = None,
    signer_days: Annotated[int, typer.Option(help="validity of signer certificates")] = (
        DEFAULT_SIGNER_VALIDITY.days
    ),
    now: Now = None,
) -> None:
    """Create a new network: a national root and one signer per province."""
    codes = [p.strip() for p in provinces.split(",") if p.strip()]
    try:
        net = Network.init(
            home,
            provinces=codes,
            clock=clock_of(now),
            passphrase=passphrase.encode() if passphrase else None,
            signer_validity=timedelta(days=signer_days),
        )
    except HealthcodeError as exc:
        raise fail(f"{exc.code}: {exc.message}") from exc
    typer.echo(f"network created in {home}: root {net.root_certificate_path}")
    for signer in net.signers():
        typer.echo(f"  signer {signer['kid']}  province {signer['province']}")
    if not passphrase:
        typer.echo(
            "warning: private keys are NOT encrypted (set HEALTHCODE_KEY_PASSPHRASE)", err=True
        )


@app.command("list")
def list_signers(
    home: Home = DEFAULT_HOME, as_json: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List the signers with their state."""
    signers = open_network(home, None).signers()
    if as_json:
        typer.echo(json.dumps(signers, indent=2))
        return
    for s in signers:
        state = "revoked" if s["revoked"] else "retired" if s["retired_at"] else "active"
        typer.echo(f"{s['kid']}  {s['province']}  {state:7}  {s['not_before']} .. {s['not_after']}")


@app.command("rotate")
def rotate(
    province: Annotated[str, typer.Option("--province")],
    home: Home = DEFAULT_HOME,
    passphrase: Passphrase = None,
    signer_days: Annotated[int, typer.Option(help="validity of the new certificate")] = (
        DEFAULT_SIGNER_VALIDITY.days
    ),
    now: Now = None,
) -> None:
    """A new signer for a province; the old one retires but stays trusted for its codes."""
    net = open_network(home, passphrase)
    try:
        pair = net.rotate(province, clock=clock_of(now), validity=timedelta(days=signer_days))
    except HealthcodeError as exc:
        raise fail(f"{exc.code}: {exc.message}") from exc
    typer.echo(f"province {province}: new signer {pair.kid.hex()}; publish a new trust list")


@app.command("revoke")
def revoke(
    kid: Annotated[str | None, typer.Option("--kid", help="revoke a signer (hex kid)")] = None,
    serial: Annotated[str | None, typer.Option("--serial", help="revoke one code (hex)")] = None,
    until: Annotated[str | None, typer.Option(help="keep a serial listed until (ISO 8601)")] = None,
    home: Home = DEFAULT_HOME,
    now: Now = None,
) -> None:
    """Revoke a signer (every code it signed) or a single code by serial."""
    if (kid is None) == (serial is None):
        raise fail("give exactly one of --kid and --serial", code=2)
    net = open_network(home, None)
    clock = clock_of(now)
    try:
        if kid is not None:
            net.revoke_signer(bytes.fromhex(kid), clock=clock)
            typer.echo(f"signer {kid} revoked; publish a new trust list")
        else:
            assert serial is not None
            end = parse_instant(until) if until else clock.now() + MAX_CODE_LIFETIME
            net.revoke_serial(bytes.fromhex(serial), until=end)
            typer.echo(f"code {serial} revoked until {end.isoformat()}; publish a new trust list")
    except ValueError as exc:
        raise fail(f"bad value: {exc}", code=2) from exc
    except HealthcodeError as exc:
        raise fail(f"{exc.code}: {exc.message}") from exc
