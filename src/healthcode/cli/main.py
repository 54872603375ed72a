"""Entry point of the `healthcode` command; each group lives in its own module."""

from __future__ import annotations

import typer

from healthcode.cli import code, hub, keys, org, rules, trust
from healthcode.cli import verify as verify_cmd

app = typer.Typer(
    name="healthcode",
    help="Interoperable health codes: rules, codes, trust, verification and services.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(rules.app, name="rules")
app.add_typer(keys.app, name="keys")
app.add_typer(trust.app, name="trust")
app.add_typer(code.app, name="code")
app.command("verify")(verify_cmd.verify)
app.add_typer(org.app, name="org")
app.add_typer(hub.app, name="hub")


if __name__ == "__main__":  # pragma: no cover
    app()
