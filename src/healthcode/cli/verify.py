"""``healthcode verify``: verify codes of any format (native, EU DCC, SMART Health Card).

Inputs are the TEXT arguments, else one text per line on standard input, plus the QR codes in
each ``--image``. Exit status: 0 when every input is valid, 1 when any is not, 2 on usage errors
(including trust material that cannot be trusted: a native trust list must be the signed
envelope that ``healthcode trust publish`` writes, opened with ``--national-root``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509

from healthcode.cli.options import MAX_HOURS, MaxStaleHours, clock_of, command_group, refused
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, InvalidInput, TrustError
from healthcode.core.keys import NO_KEYS, KeyStore
from healthcode.core.trust.envelope import OpenedDocument, open_envelope
from healthcode.core.trust.trustlist import TrustList
from healthcode.core.verify import (
    DccSchema,
    DccSettings,
    DscTrustList,
    NativeSettings,
    ShcSettings,
    ShcTrust,
    VerificationResult,
    Verifier,
)
from healthcode.core.verify.qrimage import decode_image
from healthcode.core.verify.shc import PREFIX as SHC_PREFIX

__all__ = ["Trust", "app", "load_trust", "verify"]

#: First bytes of a signed envelope: CBOR tag 18 (COSE_Sign1), tag 61 (CWT) or a bare array(4).
_ENVELOPE_STARTS = (b"\xd2", b"\xd8\x3d", b"\x84")
#: What the EU DCC schema stage needs, and where to get it (the project does not ship it).
DCC_SCHEMA_HELP = (
    "EU DCC payload schema, DCC.combined-schema.json (release 1.3.x of "
    "github.com/ehn-dcc-development/ehn-dcc-schema); without it HC1: codes fail closed "
    "with SCHEMA_UNAVAILABLE"
)


@dataclasses.dataclass
class Trust:
    """Key stores per format, and the opened native trust list (for its staleness)."""

    stores: dict[str, KeyStore]
    native_list: OpenedDocument | None = None

    def warnings(self) -> tuple[str, ...]:
        """Warnings every native result carries (a stale trust list)."""
        doc = self.native_list
        if doc is None or not doc.is_stale:
            return ()
        return (
            f"TRUSTLIST_STALE: trust list #{doc.sequence} expired "
            f"{int(doc.stale_by.total_seconds())} s ago ({doc.expires.isoformat()})",
        )


def _usage(message: str, option: str) -> InvalidInput:
    """A usage error about ``option`` (exit 2)."""
    return InvalidInput(ErrorCode.USAGE, message, option=option)


def load_trust(
    paths: list[Path],
    *,
    shc_issuer: str | None,
    national_root: Path | None,
    clock: Clock,
    max_staleness: timedelta = timedelta(hours=24),
) -> Trust:
    """Key stores per format from trust files, detected by content.

    A JSON array is the EU gateway's DSC list; a JSON object with ``keys`` is an SHC issuer
    JWKS (with ``--shc-issuer``; CRLs in ``crl/`` beside it are read too); a COSE_Sign1 is the
    native trust list in its signed envelope, opened with ``--national-root`` on ``clock``
    (signature, digest, validity; at most ``max_staleness`` past its expiry); anything else is
    PEM or DER signer certificates (EU DSCs).

    Raises TrustError ``TRUSTLIST_UNSIGNED`` for a bare (unsigned) native trust list, whose
    revocations anyone could have deleted; ``ENVELOPE_*`` when the envelope does not open;
    ``TRUSTLIST_MALFORMED`` / ``CERT_*`` for a bad list inside it.
    """
    dsc = DscTrustList()
    shc = ShcTrust()
    trust = Trust(stores={"dcc": dsc, "shc": shc})
    for path in paths:
        data = path.read_bytes()
        head = data.lstrip()[:1]
        doc: Any = json.loads(data) if head in (b"[", b"{") else None
        if isinstance(doc, list):
            dsc.merge(DscTrustList.from_gateway_json(data))
        elif isinstance(doc, dict) and "keys" in doc:
            _add_jwks(shc, path, doc, shc_issuer)
        elif isinstance(doc, dict) and str(doc.get("format", "")).startswith("healthcode-trust"):
            raise TrustError(
                ErrorCode.TRUSTLIST_UNSIGNED,
                f"{path} is a bare trust list; give the signed envelope (trust-list.cose "
                "from `healthcode trust publish`), so that its revocations are covered by "
                "the national root's signature",
            )
        elif data.startswith(_ENVELOPE_STARTS):
            if national_root is None:
                raise _usage(f"{path}: a signed trust list needs --national-root FILE", "--trust")
            if trust.native_list is not None:
                raise _usage(f"{path}: only one native trust list can be given", "--trust")
            root = _certificate(national_root.read_bytes())
            opened = open_envelope(
                data, root_cert=root, kind="trust-list", clock=clock, max_staleness=max_staleness
            )
            trust.stores["native"] = TrustList.from_content(opened.content, root_cert=root)
            trust.native_list = opened
        else:
            dsc.add_pem_or_der(data)
    return trust


def _add_jwks(shc: ShcTrust, path: Path, jwks: dict[str, Any], issuer: str | None) -> None:
    """An SHC issuer's keys, and the revocation lists in ``crl/`` beside them."""
    if not issuer:
        raise _usage(f"{path}: a JWKS needs --shc-issuer URL (the issuer it belongs to)", "--trust")
    shc.add_jwks(jwks, issuer=issuer)
    crl_dir = path.parent / "crl"
    for crl in sorted(crl_dir.glob("*.json")) if crl_dir.is_dir() else []:
        shc.add_crl(crl.read_bytes())


def _certificate(data: bytes) -> x509.Certificate:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _texts(texts: list[str], images: list[Path]) -> list[str]:
    out = list(texts)
    if not texts and not images:
        out = [line.strip("\r\n") for line in sys.stdin if line.strip()]
    for image in images:
        out.extend(decode_image(image.read_bytes()))
    return _join_shc_chunks(out)


def _join_shc_chunks(texts: list[str]) -> list[str]:
    """Chunks of one SMART Health Card (``shc:/i/n/...``) on separate lines become one input."""
    out: list[str] = []
    pending: list[str] = []
    for text in texts:
        body = text[len(SHC_PREFIX) :] if text.startswith(SHC_PREFIX) else ""
        if body.count("/") == 2:
            pending.append(text)
            if len(pending) == int(body.split("/")[1] or 0):
                out.append("\n".join(pending))
                pending = []
            continue
        out.append(text)
    if pending:
        out.append("\n".join(pending))
    return out


def _line(result: VerificationResult) -> str:
    warned = "".join(f" (warning {w})" for w in result.warnings)
    if result.valid:
        extra = f" colour={result.colour}" if result.colour else ""
        return f"VALID   {result.format:7} issuer={result.issuer} kid={result.kid}{extra}{warned}"
    return f"INVALID {result.format:7} {result.stage}: {result.error_code}: {result.reason}{warned}"


app = command_group(
    "Verify health codes: native (CN1:), EU DCC (HC1:) and SMART Health Cards (shc:/)."
)

_Texts = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="CODE...", help="codes; none: one per line on stdin", show_default=False
    ),
]
_Images = Annotated[
    list[Path] | None,
    typer.Option("--image", metavar="FILE", help="PNG/JPEG with QR codes"),
]
_Trust = Annotated[
    list[Path] | None,
    typer.Option(
        "--trust",
        metavar="FILE",
        help="signed native trust list (trust-list.cose, with --national-root), EU DSCs "
        "(gateway JSON, PEM/DER) or an SHC JWKS",
    ),
]
_At = Annotated[
    str | None, typer.Option("--at", metavar="TIME", help="verify as of this ISO 8601 time")
]
_Json = Annotated[bool, typer.Option("--json", help="one JSON result per input")]
_Schema = Annotated[
    Path | None,
    typer.Option(
        "--dcc-schema", envvar="HEALTHCODE_DCC_SCHEMA", metavar="FILE", help=DCC_SCHEMA_HELP
    ),
]
_Issuer = Annotated[
    str | None, typer.Option("--shc-issuer", metavar="URL", help="issuer URL of a JWKS")
]
_Root = Annotated[
    Path | None,
    typer.Option(
        "--national-root",
        metavar="FILE",
        help="national root certificate that signs the trust list",
    ),
]
_Skew = Annotated[
    int,
    typer.Option(
        "--skew", min=0, max=MAX_HOURS * 3600, metavar="SECONDS", help="clock skew tolerated"
    ),
]


@app.command("verify")
def verify(
    texts: _Texts = None,
    image: _Images = None,
    trust: _Trust = None,
    at: _At = None,
    as_json: _Json = False,
    dcc_schema: _Schema = None,
    shc_issuer: _Issuer = None,
    national_root: _Root = None,
    skew_seconds: _Skew = 300,
    max_stale_hours: MaxStaleHours = 24,
) -> None:
    """Verify health codes: native (CN1:), EU DCC (HC1:) and SMART Health Cards (shc:/)."""
    clock = clock_of(at, option="--at")
    try:
        loaded = load_trust(
            list(trust or []),
            shc_issuer=shc_issuer,
            national_root=national_root,
            clock=clock,
            max_staleness=timedelta(hours=max_stale_hours),
        )
    except (HealthcodeError, ValueError) as exc:
        raise refused(exc, "--trust") from exc
    try:
        inputs = _texts(list(texts or []), list(image or []))
    except HealthcodeError as exc:
        raise refused(exc, "--image") from exc
    schema = None
    if dcc_schema is not None:
        try:
            schema = DccSchema.load(dcc_schema)
        except (HealthcodeError, ValueError) as exc:
            raise refused(exc, "--dcc-schema") from exc
    if not inputs:
        raise _usage("no code given (arguments, standard input or --image)", "CODE")
    stores, skew = loaded.stores, timedelta(seconds=skew_seconds)
    verifier = Verifier.default(
        native=NativeSettings(trust=stores.get("native", NO_KEYS), skew=skew),
        dcc=DccSettings(trust=stores.get("dcc", NO_KEYS), schema=schema, skew=skew),
        shc=ShcSettings(trust=stores.get("shc", NO_KEYS), skew=skew),
        clock=clock,
    )
    native_warnings = loaded.warnings()
    all_valid = True
    for text in inputs:
        result = verifier.verify(text)
        if native_warnings and result.format == "native":
            result = dataclasses.replace(result, warnings=result.warnings + native_warnings)
        all_valid &= result.valid
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False) if as_json else _line(result))
    raise typer.Exit(code=0 if all_valid else 1)
