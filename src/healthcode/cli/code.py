"""``healthcode code issue``: issue a native code (demo), as text, PNG, SVG or a paper page.
``healthcode code show``: a person's current code and why it has its colour, from a province's
service (``province/routes.py``): the person's details apply (idempotent) and give their
token, or ``--token`` gives it; the colour is the province's, never the command line's."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from healthcode.cli import options
from healthcode.core.codes.native import (
    BADGES,
    COLOURS,
    PAPER_LIFETIME,
    SCREEN_LIFETIME,
)
from healthcode.core.codes.status_list import reference_of
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.identity import mask_id, mask_name
from healthcode.core.trust.issue import check_lifetime, issue_code

__all__ = ["app"]

app = options.command_group("Native codes: a person's code from a province; a demo code.")

_Paper = Annotated[bool, typer.Option("--paper", help="a paper code: paper QR, valid a day")]
_ValidFor = Annotated[
    str | None,
    typer.Option(
        "--valid-for",
        metavar="DURATION",
        help="validity, e.g. 30m or 2h (at most 1d; default 5m, a day with --paper)",
    ),
]
_Light = Annotated[
    bool, typer.Option("--light", help="a light code: the colour only, no name, ID or badges")
]
_StatusIndex = Annotated[
    int | None,
    typer.Option(
        "--status-index",
        min=0,
        max=(1 << 40) - 1,
        metavar="N",
        help="the colour state's index in the province's status list (the status claim)",
    ),
]
_DURATION = re.compile(r"([1-9][0-9]{0,5})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _lifetime(valid_for: str | None, paper: bool) -> timedelta:
    """The code's lifetime: ``--valid-for`` (a number and s, m, h or d), else by medium.

    Raises InvalidInput ``CODE_LIFETIME_INVALID`` for a value of another form and
    ``CODE_LIFETIME_TOO_LONG`` past ``MAX_CODE_LIFETIME``.
    """
    if valid_for is None:
        return PAPER_LIFETIME if paper else SCREEN_LIFETIME
    match = _DURATION.fullmatch(valid_for)
    if match is None:
        raise InvalidInput(
            ErrorCode.CODE_LIFETIME_INVALID,
            f"--valid-for is a number and a unit (s, m, h, d) such as 30m or 2h, not {valid_for!r}",
            option="--valid-for",
        )
    lifetime = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    check_lifetime(lifetime)
    return lifetime


def _out(option: str, help: str) -> Any:
    return typer.Option(option, metavar="FILE", dir_okay=False, help=help)


def _one_of(option: str, values: list[str], allowed: Iterable[str]) -> None:
    for value in values:
        if value not in allowed:
            raise InvalidInput(
                ErrorCode.USAGE,
                f"{option} is one of {', '.join(allowed)}, not {value!r}",
                option=option,
            )


@app.command("issue")
def issue(
    province: Annotated[
        str, typer.Option("--province", metavar="CODE", help="province whose signer signs")
    ],
    colour: Annotated[
        str, typer.Option("--colour", metavar="COLOUR", help=", ".join(COLOURS))
    ] = "green",
    badge: Annotated[
        list[str] | None, typer.Option("--badge", metavar="BADGE", help=", ".join(BADGES))
    ] = None,
    subject: Annotated[str, typer.Option("--subject", metavar="HEX", help="pseudonym (hex)")] = "0"
    * 32,
    name: Annotated[
        str, typer.Option("--name", metavar="TEXT", help="full name (masked in the code)")
    ] = "张三丰",
    id_number: Annotated[
        str, typer.Option("--id", metavar="TEXT", help="ID number (masked in the code)")
    ] = "440106199003071234",
    rule_set: Annotated[
        str, typer.Option("--rule-set", metavar="TEXT", help="rule set named in the code")
    ] = "demo",
    paper: _Paper = False,
    valid_for: _ValidFor = None,
    light: _Light = False,
    status_index: _StatusIndex = None,
    png: Annotated[Path | None, _out("--png", "write the QR as PNG")] = None,
    svg: Annotated[Path | None, _out("--svg", "write the QR as SVG")] = None,
    page: Annotated[Path | None, _out("--page", "write an A4 paper page")] = None,
    home: options.Home = options.DEFAULT_HOME,
    passphrase: options.Passphrase = None,
    database: options.StateDatabase = None,
    now: options.Now = None,
) -> None:
    """Issue a code signed by the province's active signer; print it."""
    from healthcode.core.codes.qr import Medium

    _one_of("--colour", [colour], COLOURS)
    _one_of("--badge", badge or [], BADGES)
    lifetime = _lifetime(valid_for, paper)
    clock = options.clock_of(now)
    net = options.open_network(home, passphrase, database, clock=clock)
    medium: Medium = "paper" if paper else "screen"
    text = issue_code(
        signer=net.active_signer(province, at=clock.now()),
        subject=subject,
        colour=colour,
        badges=badge or [],
        rule_set=rule_set,
        masked_name=mask_name(name),
        masked_id=mask_id(id_number),
        clock=clock,
        lifetime=lifetime,
        light=light,
        status=None if status_index is None else reference_of(province, status_index),
    )
    _write(text, medium, png=png, svg=svg, page=page)
    typer.echo(text)


def _write(
    text: str, medium: Any, *, png: Path | None, svg: Path | None, page: Path | None
) -> None:
    """The code as a PNG, an SVG and an A4 paper page, where asked."""
    from healthcode.core.codes.paper import render_paper
    from healthcode.core.codes.qr import render_png, render_svg

    if png is not None:
        png.write_bytes(render_png(text, medium=medium))
    if svg is not None:
        svg.write_text(render_svg(text, medium=medium), encoding="utf-8")
    if page is not None:
        page.write_text(render_paper(text), encoding="utf-8")


DEFAULT_PROVINCE_URL = "http://127.0.0.1:8410"


def _province_call(url: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One call to a province's API. Raises InvalidInput PROVINCE_UNREACHABLE, or the
    province's own refusal (its code and message)."""
    import httpx

    from healthcode.core.errors import HealthcodeError

    try:
        r = httpx.request(method, url.rstrip("/") + path, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        raise InvalidInput(
            ErrorCode.PROVINCE_UNREACHABLE, f"{url}: {type(exc).__name__}", option="--province"
        ) from exc
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code >= 400 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if code not in {c.value for c in ErrorCode}:
            raise InvalidInput(ErrorCode.PROVINCE_UNREACHABLE, f"{url} answered {r.status_code}")
        assert isinstance(error, dict)
        raise HealthcodeError(ErrorCode[str(code)], str(error.get("message", "")))
    return body


def _shown(answer: dict[str, Any], lang: str) -> list[str]:
    until = answer.get("until") or "-"
    lines = [
        f"{answer['masked_name']} {answer['masked_id']}",
        f"colour: {answer['colour']}    until: {until}",
        f"badges: {', '.join(answer['badges']) or '-'}",
    ]
    for reason in answer["reasons"]:
        lines.append(f"  {reason['effect']:6} {reason['code']}: {reason[lang]}")
        if reason.get("until"):
            lines.append(f"         until {reason['until']}")
    if "code" in answer:
        lines += [f"serial: {answer['serial']}    expires: {answer['expires_at']}", answer["code"]]
    return lines


def _text(flag: str, help_text: str, metavar: str = "TEXT") -> Any:
    return typer.Option(flag, metavar=metavar, help=help_text)


ProvinceUrl = Annotated[str, _text("--province", "the province's service", "URL")]
Token = Annotated[str | None, _text("--token", "the person's token")]
IdNumber = Annotated[str | None, _text("--id", "ID number (to apply)")]
IdTypeOption = Annotated[str, _text("--id-type", "ID type (to apply)")]
Name = Annotated[str | None, _text("--name", "full name (to apply)")]
Phone = Annotated[str | None, _text("--phone", "phone number (to apply)")]
Residence = Annotated[str | None, _text("--residence", "region of residence (to apply)", "CODE")]
Lang = Annotated[str, _text("--lang", "language of the reasons: zh or en", "LANG")]


def _token_of(province: str, application: dict[str, str | None]) -> str:
    """The person's token, from an application (idempotent). Raises InvalidInput USAGE when a
    field is missing; what the province refuses."""
    if not all(application.values()):
        raise InvalidInput(
            ErrorCode.USAGE,
            "give --token, or --id, --name, --phone and --residence",
            option="--token",
        )
    return str(_province_call(province, "POST", "/v1/applications", json=application)["token"])


@app.command("show")
def show(
    province: ProvinceUrl = DEFAULT_PROVINCE_URL,
    token: Token = None,
    id_number: IdNumber = None,
    id_type: IdTypeOption = "resident_id",
    name: Name = None,
    phone: Phone = None,
    residence: Residence = None,
    paper: Annotated[bool, typer.Option("--paper", help="a paper code (a day)")] = False,
    explain_only: Annotated[bool, typer.Option("--no-code", help="the colour only")] = False,
    lang: Lang = "zh",
    png: Annotated[Path | None, _out("--png", "write the QR as PNG")] = None,
    as_json: options.AsJson = False,
    text_only: Annotated[
        bool, typer.Option("--text", help="print only the signed code's text (for scripts)")
    ] = False,
) -> None:
    """Show a person's current code and why it has its colour, from a province's service."""
    import json

    from healthcode.core.codes.qr import Medium, render_png

    _one_of("--lang", [lang], ("zh", "en"))
    if token is None:
        application = {"id_type": id_type, "id_number": id_number, "name": name, "phone": phone}
        token = _token_of(province, {**application, "residence_region": residence})
        if not (as_json or text_only):
            typer.echo(f"token: {token}")
    auth = {"Authorization": f"Bearer {token}"}
    medium: Medium = "paper" if paper else "screen"
    if explain_only:
        answer = _province_call(province, "GET", "/v1/me", headers=auth)
    else:
        answer = _province_call(
            province, "GET", "/v1/me/code", headers=auth, params={"medium": medium}
        )
        if png is not None:
            png.write_bytes(render_png(answer["code"], medium=medium))
    if as_json:
        typer.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        return
    if text_only and not explain_only:
        typer.echo(answer["code"])
        return
    for line in _shown(answer, lang):
        typer.echo(line)
