"""What every command group shares: its ``typer.Typer``, the common options and their helpers.

Options used by more than one command are declared once here (``--home``, ``--now``, ``--json``,
the key passphrase), each with a help line and a metavar that reads as a word (``DIR``,
``TIME``). The helpers turn a value into what a command works with (a clock, the key network,
the settings, a migrated database) and raise the project's own errors, which the handler of
:mod:`healthcode.cli.main` prints and maps to an exit status.

This module imports only typer and the light parts of ``healthcode.core``; the database layer is
imported inside the helpers that need it, so commands without a database start without it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from healthcode.core.clock import Clock, FixedClock, SystemClock, parse_instant
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, InvalidInput, TrustError

if TYPE_CHECKING:
    from healthcode.config import Settings
    from healthcode.core.trust.network import Network
    from healthcode.core.trust.state import StateStore
    from healthcode.store.db import Database

__all__ = [
    "DEFAULT_HOME",
    "MAX_DAYS",
    "MAX_HOURS",
    "AsJson",
    "Home",
    "MaxStaleHours",
    "Now",
    "Passphrase",
    "StateDatabase",
    "TrustStoreDir",
    "clock_of",
    "command_group",
    "days",
    "default_trust_store",
    "migrated_database",
    "open_network",
    "refused",
    "settings",
]

#: Bounds of durations given in hours or days: past them a date leaves the calendar.
MAX_HOURS = 24 * 366 * 10
MAX_DAYS = 366 * 100


def days(flag: str, help_text: str) -> Any:
    """A validity in whole days, from 1 to ``MAX_DAYS`` (an ``Annotated`` option)."""
    return typer.Option(flag, min=1, max=MAX_DAYS, metavar="DAYS", help=help_text)


Home = Annotated[
    Path,
    typer.Option(
        "--home", envvar="HEALTHCODE_HOME", metavar="DIR", help="network directory (keys, lists)"
    ),
]
Passphrase = Annotated[
    str | None,
    typer.Option(
        "--passphrase",
        envvar="HEALTHCODE_KEY_PASSPHRASE",
        hidden=True,
        metavar="TEXT",
        help="passphrase of the private keys",
    ),
]
Now = Annotated[
    str | None, typer.Option("--now", metavar="TIME", help="act as of this ISO 8601 time")
]
AsJson = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
MaxStaleHours = Annotated[
    int,
    typer.Option(
        "--max-stale-hours",
        min=0,
        max=MAX_HOURS,
        metavar="HOURS",
        help="accept a signed trust list this long past its expiry (warned), no longer",
    ),
]
StateDatabase = Annotated[
    str | None,
    typer.Option(
        "--database",
        envvar="HEALTHCODE_DATABASE_URL",
        metavar="URL",
        help="database holding the trust state, the hub's (default: DIR/network.db)",
    ),
]
TrustStoreDir = Annotated[
    Path | None,
    typer.Option(
        "--trust-store",
        envvar="HEALTHCODE_TRUST_STORE",
        metavar="DIR",
        show_default=False,
        help="folder of the checkpoint's trust state (the newest trust list taken, the national "
        "root); default $XDG_DATA_HOME/healthcode/trust or ~/.local/share/healthcode/trust",
    ),
]
DEFAULT_HOME = Path("var/keys")


def default_trust_store() -> Path:
    """Where a checkpoint keeps its trust state when no ``--trust-store`` is given: the user's
    data folder (XDG Base Directory: ``$XDG_DATA_HOME``, else ``~/.local/share``)."""
    data_home = os.environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if os.path.isabs(data_home) else Path.home() / ".local" / "share"
    return base / "healthcode" / "trust"


def command_group(help: str) -> typer.Typer:
    """A command group as every module declares it: plain help text, help when run bare."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, add_completion=False)


def clock_of(now: str | None, *, option: str = "--now") -> Clock:
    """The clock for a command: fixed at ``now`` when given, the system clock otherwise.

    Raises InvalidInput ``TIME_FORMAT`` when ``now`` is not an ISO 8601 time.
    """
    if now is None:
        return SystemClock()
    try:
        return FixedClock(parse_instant(now))
    except ValueError:
        raise InvalidInput(
            ErrorCode.TIME_FORMAT, f"{option} {now!r} is not an ISO 8601 time", option=option
        ) from None


def refused(exc: HealthcodeError | ValueError, option: str) -> InvalidInput:
    """What ``option`` named was refused: a usage error (exit 2) that keeps the refusal's code.

    A ValueError (a file that is not JSON, not UTF-8) becomes ``FILE_ERROR``.
    """
    if isinstance(exc, HealthcodeError):
        return InvalidInput(exc.code, exc.message, **{**exc.details, "option": option})
    return InvalidInput(ErrorCode.FILE_ERROR, f"{option}: {exc}", option=option)


def open_network(
    home: Path, passphrase: str | None, database: str | None = None, *, clock: Clock | None = None
) -> Network:
    """The key network in ``home`` with its trust state in ``database`` (see :func:`state_store`).
    A home of the earlier layout (``network.json``) is adopted into the state first.

    Raises TrustError ``NETWORK_MISSING`` when there is none.
    """
    from healthcode.core.trust.legacy import LEGACY_STATE, adopt
    from healthcode.core.trust.network import Network

    key = passphrase.encode() if passphrase else None
    legacy = (home / LEGACY_STATE).is_file()
    store = state_store(home, database, clock=clock, create=legacy)
    if legacy:
        adopt(home, store=store, clock=clock or SystemClock(), passphrase=key)
    return Network.open(home, store=store, passphrase=key)


def state_store(
    home: Path, database: str | None, *, clock: Clock | None = None, create: bool = False
) -> StateStore:
    """The trust state: in ``database`` (the hub's, ``HEALTHCODE_DATABASE_URL``) when given, so
    the CLI and every hub process share one; else in ``home/network.db`` (a network without a
    hub), made only when ``create``. The database is migrated first.

    Raises TrustError ``NETWORK_MISSING``, InvalidInput ``DATABASE_UNAVAILABLE``.
    """
    if database is None:
        path = home / "network.db"
        if not create and not path.is_file():
            raise TrustError(ErrorCode.NETWORK_MISSING, f"no network in {home} (run keys init)")
        home.mkdir(parents=True, exist_ok=True)
        database = f"sqlite:///{path}"
    from sqlalchemy.exc import SQLAlchemyError

    from healthcode.store.db import Database
    from healthcode.store.trust_state import SqlStateStore

    try:
        db = Database.from_url(database)
    except SQLAlchemyError as exc:  # a URL that does not parse, a driver that is missing
        raise InvalidInput(
            ErrorCode.DATABASE_UNAVAILABLE, f"cannot open --database: {exc}"
        ) from exc
    return SqlStateStore(migrated_database(db), clock=clock or SystemClock())


def settings() -> Settings:
    """The settings from the environment. Raises ConfigError naming a bad variable."""
    from healthcode.config import Settings

    return Settings.from_env()


def migrated_database(database: Database | None = None) -> Database:
    """The configured database (or ``database``), upgraded to the newest schema.

    Raises InvalidInput ``DATABASE_UNAVAILABLE`` when it cannot be opened or reached (a wrong
    ``HEALTHCODE_DATABASE_URL``, a server that is down), with the driver's first line.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from healthcode.store.db import Database
    from healthcode.store.migrate import upgrade

    try:
        db = database or Database.from_url(settings().database_url)
        upgrade(db)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise InvalidInput(
            ErrorCode.DATABASE_UNAVAILABLE,
            f"cannot open the database (HEALTHCODE_DATABASE_URL): {reason}",
        ) from exc
    return db
