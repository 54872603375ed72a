"""Entry point of the ``healthcode`` command: lazy command groups and the one error handler.

Each command group lives in its own module (``COMMANDS``), imported only when that command
runs, so ``healthcode --help`` or ``healthcode verify`` does not pay for the hub's web framework
and database layer.

Every failure ends here (``report``): it prints one line ``error CODE: message`` on standard
error and exits with a status that says whose problem it is (``exit_status``): 0 on success, 1
when what was asked failed or was refused (a code that does not verify, a record or rule set
refused, a trust list that does not open), 2 when the command line or the configuration is
wrong (an unknown option, a bad option value, a file that cannot be read, a missing setting,
a database that cannot be reached).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Annotated, Any, NamedTuple

import typer
import typer.main
from typer.core import TyperGroup

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import ConfigError, HealthcodeError

__all__ = ["COMMANDS", "USAGE_CODES", "app", "exit_status", "report"]


class Entry(NamedTuple):
    """A command of ``healthcode``: the module whose ``app`` it is, its one-line help, and
    whether it is a group of subcommands (else ``app`` holds the one command itself)."""

    module: str
    help: str
    group: bool = True


COMMANDS = {
    "verify": Entry(
        "healthcode.cli.verify",
        "Verify health codes: native (CN1:), EU DCC (HC1:) and SMART Health Cards (shc:/).",
        group=False,
    ),
    "rules": Entry(
        "healthcode.cli.rules", "Colour rule sets: check a file, explain a person's colour."
    ),
    "keys": Entry(
        "healthcode.cli.keys", "Keys: national root, province signers, rotation, revocation."
    ),
    "trust": Entry("healthcode.cli.trust", "Trust list: publish a signed one, show one."),
    "code": Entry(
        "healthcode.cli.code", "Native codes: a person's code from a province; a demo code."
    ),
    "org": Entry("healthcode.cli.org", "Organisations of the hub and their API tokens."),
    "hub": Entry("healthcode.cli.hub", "The national data hub."),
    "audit": Entry("healthcode.cli.audit", "The colour log: verify checkpoints and proofs."),
    "province": Entry(
        "healthcode.cli.province",
        "A province's service: applications, codes, timely transcoding.",
    ),
    "checkpoint": Entry(
        "healthcode.cli.checkpoint",
        "The checkpoint: verifies codes of every province, EU DCC and SHC.",
    ),
    "init": Entry("healthcode.cli.init", "Make a network's data folder.", group=False),
    "serve": Entry(
        "healthcode.cli.serve",
        "Run a whole network in one process: hub, provinces, checkpoint.",
        group=False,
    ),
    "simulate": Entry(
        "healthcode.cli.simulate",
        "Drive an outbreak over a running network and watch the codes.",
        group=False,
    ),
}

#: Codes that mean the command line or the configuration is wrong (exit 2), not what it asked.
#: A bad option value is an error that names its ``option`` (TIME_FORMAT from ``--at``); the
#: same code raised for a field of a record (a time in the facts) is a refusal (exit 1).
USAGE_CODES = frozenset(
    {
        ErrorCode.USAGE,
        ErrorCode.FILE_ERROR,
        ErrorCode.FACTS_UNREADABLE,
        ErrorCode.RULESET_UNREADABLE,
        ErrorCode.CONFIG_MISSING,
        ErrorCode.CONFIG_INVALID,
        ErrorCode.DATABASE_UNAVAILABLE,
    }
)


def exit_status(error: HealthcodeError) -> int:
    """2 for a usage or configuration error, 1 when what was asked failed or was refused.

    An error that names the ``option`` whose value it refuses is a usage error whatever its code
    (``healthcode verify`` refuses a trust list given with ``--trust`` this way).
    """
    usage = isinstance(error, ConfigError) or error.code in USAGE_CODES or "option" in error.details
    return 2 if usage else 1


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def report(exc: Exception) -> int:
    """Print ``exc`` as one line ``error CODE: message`` on standard error; its exit status.

    Errors of the command-line library (an unknown option, a missing argument) are ``USAGE``;
    a file or directory that cannot be used (missing, a directory, no permission) is
    ``FILE_ERROR``; any other exception is a bug and propagates with its traceback.
    """
    if isinstance(exc, HealthcodeError):
        code, message, status = exc.code, exc.message, exit_status(exc)
    elif isinstance(exc, typer.TyperException):
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group run bare: its help is the answer
            typer.echo(exc.format_message(), err=True)
            return exc.exit_code
        code, message, status = ErrorCode.USAGE, exc.format_message(), 2
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            message += f" (see '{ctx.command_path} --help')"
    elif isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        code, message, status = ErrorCode.FILE_ERROR, f"{exc.strerror or exc}{where}", 2
    else:
        raise exc
    typer.echo(f"error {code}: {_one_line(message)}", err=True)
    return status


class LazyGroup(TyperGroup):
    """The ``healthcode`` group: imports a command's module only when that command runs, and
    sends every failure through :func:`report`."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        typer_app = importlib.import_module(entry.module).app
        build = typer.main.get_group if entry.group else typer.main.get_command
        command = build(typer_app)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The list of commands from ``COMMANDS``, without importing them."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.help) for name, entry in COMMANDS.items()])

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
            # Without standalone mode, an ``Exit`` comes back as its status; commands return None.
            status = result if isinstance(result, int) else 0
        except Exception as exc:
            status = report(exc)
        if not standalone_mode:
            return status
        sys.exit(status)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"healthcode {version('healthcode')}")
        raise typer.Exit()


app = typer.Typer(
    name="healthcode",
    cls=LazyGroup,
    help="Interoperable health codes: rules, codes, trust, verification and services.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Interoperable health codes: rules, codes, trust, verification and services."""


if __name__ == "__main__":  # pragma: no cover
    app()
