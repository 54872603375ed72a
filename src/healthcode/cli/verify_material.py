"""The trust material options of ``healthcode verify`` beside the trust lists: newer EU DCC
value sets (``--dcc-value-sets``), EU DCC revocation batches (``--dcc-revocation``), SMART
Health Cards trust anchors (``--shc-anchor``), and the EU DCC settings built from them.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from healthcode.cli.options import refused
from healthcode.core.errors import HealthcodeError
from healthcode.core.keys import KeyStore
from healthcode.core.verify import DccRevocationList, DccSchema, DccSettings
from healthcode.core.verify.dcc import load_value_sets

__all__ = ["Anchors", "Revocation", "ValueSets", "dcc_settings"]

ValueSets = Annotated[
    list[Path] | None,
    typer.Option(
        "--dcc-value-sets",
        metavar="PATH",
        help="EU DCC value set files (github.com/ehn-dcc-development/eu-dcc-valuesets), or a "
        "folder of them, each replacing the shipped value set of its valueSetId (one that cannot "
        "be read: VALUE_SETS_UNAVAILABLE, exit 2)",
    ),
]
Revocation = Annotated[
    list[Path] | None,
    typer.Option(
        "--dcc-revocation",
        metavar="PATH",
        help="EU DCC revocation batches (the gateway's JSON: kid, hashType, entries of base64 "
        "128-bit SHA-256 hashes), or a folder of them; a listed DCC fails DCC_REVOKED",
    ),
]
Anchors = Annotated[
    list[Path] | None,
    typer.Option(
        "--shc-anchor",
        metavar="FILE",
        help="X.509 trust anchor (PEM/DER) of a PKI framework: SMART Health Cards signed by a "
        "key with x5c then need a valid chain to it (SHC_X5C_INVALID)",
    ),
]


def dcc_settings(
    trust: KeyStore,
    *,
    schema: Path | None,
    value_sets: list[Path],
    revocation: list[Path],
    skew: timedelta,
) -> DccSettings:
    """The EU DCC settings: the shipped schema and value sets unless newer ones are given, and
    the revocation batches given. Raises a usage error naming the option that was refused."""
    settings = DccSettings(trust=trust, skew=skew)
    if schema is not None:
        try:
            settings = dataclasses.replace(settings, schema=DccSchema.load(schema))
        except HealthcodeError as exc:
            raise refused(exc, "--dcc-schema") from exc
    if value_sets:
        try:
            settings = dataclasses.replace(settings, value_sets=load_value_sets(value_sets))
        except HealthcodeError as exc:
            raise refused(exc, "--dcc-value-sets") from exc
    if revocation:
        try:
            held = DccRevocationList.load(revocation)
        except (HealthcodeError, OSError) as exc:
            raise refused(
                exc if isinstance(exc, HealthcodeError) else ValueError(str(exc)),
                "--dcc-revocation",
            ) from exc
        settings = dataclasses.replace(settings, revocation=held)
    return settings
