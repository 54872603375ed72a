"""``healthcode verify``'s status lists (``--status-list``, ``--status-max-age-hours``) and its
language (``--lang zh|en``, Chinese by default): what a result line says to a person.

A Status List Token given with ``--status-list`` is opened with the national root
(``--national-root``, else the one the trust store recorded) and the publishers the held trust
list names revoked; one that does not open stops the run (exit 2, its ``STATUS_LIST_*`` code).
With lists given, every native code that carries a status claim is checked against them (the
``status_list`` stage).

A result line keeps its stable, machine-read part (``VALID``/``INVALID``, format, stage, code) and
adds, after `` | ``, what the worker compares with the person's document in the chosen language:
the kind of certificate, the colour, the masked name, date of birth and ID, and the reason for a
refusal in plain words.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509

from healthcode.cli.options import MAX_HOURS, refused
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, InvalidInput
from healthcode.core.trust.envelope import OpenedDocument
from healthcode.core.trust.status_lists import HeldStatusLists, open_status_list
from healthcode.core.verify.display import worker_view
from healthcode.core.verify.result import VerificationResult
from healthcode.core.verify.words import LANGS

__all__ = [
    "Lang",
    "StatusListFiles",
    "StatusMaxAge",
    "check_lang_option",
    "load_status_lists",
    "result_line",
    "status_max_age",
    "with_view",
]

StatusListFiles = Annotated[
    list[Path] | None,
    typer.Option(
        "--status-list",
        metavar="FILE",
        help="a Status List Token of the hub (CWT, GET /v1/status-lists/{province}/{chunk}): "
        "native codes pointing into it are refused when superseded or revoked there",
    ),
]
StatusMaxAge = Annotated[
    float,
    typer.Option(
        "--status-max-age-hours",
        min=0,
        max=MAX_HOURS,
        metavar="HOURS",
        help="refuse codes against a status list older than this (from its iat): STATUS_LIST_STALE",
    ),
]
Lang = Annotated[
    str,
    typer.Option("--lang", metavar="LANG", help="language of what a worker reads: zh or en"),
]


def check_lang_option(lang: str) -> str:
    """Raises InvalidInput ``LANG_UNKNOWN`` (exit 2) for a language other than zh or en."""
    if lang not in LANGS:
        raise InvalidInput(
            ErrorCode.LANG_UNKNOWN, f"--lang is zh or en, not {lang!r}", option="--lang"
        )
    return lang


def status_max_age(hours: float) -> timedelta:
    return timedelta(hours=hours)


def load_status_lists(
    paths: list[Path], *, root: x509.Certificate | None, trust_list: OpenedDocument | None
) -> HeldStatusLists | None:
    """The tokens of ``paths`` opened with ``root``; None when none is given. Raises a usage
    error (exit 2) for a token that does not open, or when there is no root."""
    if not paths:
        return None
    if root is None:
        raise InvalidInput(
            ErrorCode.USAGE,
            "a status list needs --national-root FILE (or a trust store that recorded one)",
            option="--status-list",
        )
    revoked = trust_list.revoked_publishers if trust_list is not None else frozenset()
    tokens = []
    for path in paths:
        try:
            tokens.append(
                open_status_list(path.read_bytes(), root_cert=root, revoked_publishers=revoked)
            )
        except HealthcodeError as exc:
            raise refused(exc, "--status-list") from exc
    return HeldStatusLists(tokens)


def result_line(result: VerificationResult, lang: str) -> str:
    """One line: the stable part, then `` | `` and the worker's words."""
    warned = "".join(f" (warning {w})" for w in result.warnings)
    if result.valid:
        extra = f" colour={result.colour}" if result.colour else ""
        head = f"VALID   {result.format:7} issuer={result.issuer} kid={result.kid}{extra}{warned}"
    else:
        head = f"INVALID {result.format:7} {result.stage}: {result.error_code}: {result.reason}"
        head += warned
    view = worker_view(result, lang)
    holder = view["holder"]
    shown = [view["certificate"], view["colour"], holder["name"], holder["date_of_birth"]]
    shown += [holder["id"], view["reason"]]
    return head + " | " + " · ".join(str(s) for s in shown if s)


def with_view(result: VerificationResult, lang: str) -> dict[str, Any]:
    """The JSON result with ``shown``, the worker's view in ``lang``."""
    return {**result.to_json(), "shown": worker_view(result, lang)}
