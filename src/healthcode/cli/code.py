"""``healthcode code issue``: issue a native code (demo), as text, PNG, SVG or a paper page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from healthcode.cli.keys import DEFAULT_HOME, Home, Now, Passphrase, clock_of, fail, open_network
from healthcode.core.codes.native import (
    BADGES,
    COLOURS,
    PAPER_LIFETIME,
    SCREEN_LIFETIME,
)
from healthcode.core.codes.paper import render_paper
from healthcode.core.codes.qr import Medium, render_png, render_svg
from healthcode.core.errors import HealthcodeError
from healthcode.core.identity import mask_id, mask_name
from healthcode.core.trust.issue import issue_code

__all__ = ["app"]

app = typer.Typer(help="Native codes: issue a demo code.", no_args_is_help=True)


@app.command("issue")
def issue(
    province: Annotated[str, typer.Option("--province")],
    colour: Annotated[str, typer.Option("--colour", help=", ".join(COLOURS))] = "green",
    badge: Annotated[list[str] | None, typer.Option("--badge", help=", ".join(BADGES))] = None,
    subject: Annotated[str, typer.Option(help="pseudonym (hex)")] = "0" * 32,
    name: Annotated[str, typer.Option(help="full name (masked in the code)")] = "张三丰",
    id_number: Annotated[str, typer.Option("--id", help="ID number (masked in the code)")] = (
        "440106199003071234"
    ),
    rule_set: Annotated[str, typer.Option("--rule-set")] = "demo",
    paper: Annotated[bool, typer.Option("--paper", help="paper lifetime (a day)")] = False,
    png: Annotated[Path | None, typer.Option("--png", help="write the QR as PNG")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", help="write the QR as SVG")] = None,
    page: Annotated[Path | None, typer.Option("--page", help="write an A4 paper page")] = None,
    home: Home = DEFAULT_HOME,
    passphrase: Passphrase = None,
    now: Now = None,
) -> None:
    """Issue a code signed by the province's active signer; print it."""
    net = open_network(home, passphrase)
    clock = clock_of(now)
    medium: Medium = "paper" if paper else "screen"
    try:
        signer = net.active_signer(province, at=clock.now())
        text = issue_code(
            signer=signer,
            subject=subject,
            colour=colour,
            badges=badge or [],
            rule_set=rule_set,
            masked_name=mask_name(name),
            masked_id=mask_id(id_number),
            clock=clock,
            lifetime=PAPER_LIFETIME if paper else SCREEN_LIFETIME,
        )
        if png is not None:
            png.write_bytes(render_png(text, medium=medium))
        if svg is not None:
            svg.write_text(render_svg(text, medium=medium), encoding="utf-8")
        if page is not None:
            page.write_text(render_paper(text), encoding="utf-8")
    except HealthcodeError as exc:
        raise fail(f"{exc.code}: {exc.message}") from exc
    typer.echo(text)
