"""``healthcode verify``: verify codes of any format (native, EU DCC, SMART Health Card).

Inputs are the TEXT arguments, else one text per line on standard input, plus the QR codes in
each ``--image``. Every input gets one result line, whatever it holds (a line that is not UTF-8,
a malformed card): one bad input never stops the others. Exit status: 0 when every input is
valid, 1 when any is not, 2 on usage errors (including trust material that cannot be trusted: a
native trust list must be the signed envelope that ``healthcode trust publish`` writes).

The checkpoint keeps its trust state between runs in a trust store folder (``--trust-store DIR``,
``HEALTHCODE_TRUST_STORE``, default ``$XDG_DATA_HOME/healthcode/trust`` or
``~/.local/share/healthcode/trust``): the newest signed native trust list it has taken and the
national root it takes lists from. A list given with ``--trust`` is taken into the store when it
is not older than the held one, and refused (``ENVELOPE_ROLLBACK``, exit 2) when it is: last
month's list, from before a revocation, cannot bring a revoked signer back. Without a native list
in ``--trust`` the held one is used; past its expiry plus ``--max-stale-hours`` it stops the run
(``ENVELOPE_EXPIRED``, exit 2) until a newer list is given. Standard error says which list is
used and how fresh it is (sequence, issued, age, expiry).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer
from cryptography import x509

from healthcode.cli.options import (
    MAX_HOURS,
    MaxStaleHours,
    TrustStoreDir,
    clock_of,
    command_group,
    default_trust_store,
    refused,
)
from healthcode.cli.verify_material import Anchors, Revocation, ValueSets, dcc_settings
from healthcode.cli.verify_status import (
    Lang,
    StatusListFiles,
    StatusMaxAge,
    check_lang_option,
    load_status_lists,
    result_line,
    status_max_age,
    with_view,
)
from healthcode.core.clock import Clock
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, InvalidInput, TrustError
from healthcode.core.keys import NO_KEYS, KeyStore
from healthcode.core.trust.certs import load_certificate
from healthcode.core.trust.envelope import OpenedDocument
from healthcode.core.trust.trustlist import TrustStatus, TrustStore
from healthcode.core.verify import (
    DscTrustList,
    NativeSettings,
    ShcSettings,
    ShcTrust,
    Verifier,
)
from healthcode.core.verify.qrimage import decode_image
from healthcode.core.verify.shc import MAX_CHUNKS
from healthcode.core.verify.shc import PREFIX as SHC_PREFIX
from healthcode.core.verify.verifier import MAX_TEXT_LENGTH

__all__ = ["Trust", "app", "load_trust", "read_lines", "verify"]

#: First bytes of a signed envelope: CBOR tag 18 (COSE_Sign1), tag 61 (CWT) or a bare array(4).
_ENVELOPE_STARTS = (b"\xd2", b"\xd8\x3d", b"\x84")
#: The EU DCC schema option: an override of the shipped schema (release 1.3.3).
DCC_SCHEMA_HELP = (
    "EU DCC payload schema DCC.combined-schema.json of a newer release of "
    "github.com/ehn-dcc-development/eu-dcc-schema (default: the shipped release 1.3.3; one "
    "that cannot be read: SCHEMA_UNAVAILABLE, exit 2)"
)
#: The longest line read from standard input: past it a line is no code (TEXT_TOO_LONG), and
#: only its first bytes are kept. Four bytes per character: UTF-8's longest.
MAX_LINE_BYTES = 4 * (MAX_TEXT_LENGTH + 1)


@dataclasses.dataclass
class Trust:
    """Key stores per format, and the native trust list in use (for its freshness)."""

    stores: dict[str, KeyStore]
    native_list: OpenedDocument | None = None
    native_status: TrustStatus | None = None
    notes: list[str] = dataclasses.field(default_factory=list)  # for standard error

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
    store_dir: Path | None = None,
    shc_anchors: list[Path] | None = None,
) -> Trust:
    """Key stores per format from trust files, detected by content, and the trust store.

    A JSON array is the EU gateway's DSC list; a JSON object with ``keys`` is an SHC issuer
    JWKS (with ``--shc-issuer``; CRLs in ``crl/`` beside it are read too); one with
    ``issuer_info`` a VCI directory snapshot of SHC issuers (their keys and CRLs); a COSE_Sign1
    is the native trust list in its signed envelope, taken into the trust store in ``store_dir``
    (opened with the national root on ``clock``: signature, digest, validity, not older than the
    held list, at most ``max_staleness`` past its expiry); anything else is PEM or DER signer
    certificates (EU DSCs). Without a native list among ``paths`` the store's list is used.

    Raises TrustError ``TRUSTLIST_UNSIGNED`` for a bare (unsigned) native trust list, whose
    revocations anyone could have deleted; ``ENVELOPE_ROLLBACK`` for a list older than the held
    one; other ``ENVELOPE_*`` codes when the envelope does not open; ``TRUSTLIST_MALFORMED`` /
    ``CERT_*`` for a bad list inside it; ``TRUST_STORE_ROOT_MISMATCH`` for a national root
    other than the store's.
    """
    dsc = DscTrustList()
    shc = ShcTrust()
    for anchor in shc_anchors or []:
        shc.add_anchor(anchor.read_bytes())
    trust = Trust(stores={"dcc": dsc, "shc": shc})
    envelopes: list[tuple[Path, bytes]] = []
    for path in paths:
        data = path.read_bytes()
        head = data.lstrip()[:1]
        doc: Any = json.loads(data) if head in (b"[", b"{") else None
        if isinstance(doc, list):
            dsc.merge(DscTrustList.from_gateway_json(data))
        elif isinstance(doc, dict) and _is_shc(doc):
            _add_shc(trust, shc, path, doc, shc_issuer)
        elif isinstance(doc, dict) and str(doc.get("format", "")).startswith("healthcode-trust"):
            raise TrustError(
                ErrorCode.TRUSTLIST_UNSIGNED,
                f"{path} is a bare trust list; give the signed envelope (trust-list.cose "
                "from `healthcode trust publish`), so that its revocations are covered by "
                "the national root's signature",
            )
        elif data.startswith(_ENVELOPE_STARTS):
            envelopes.append((path, data))
        else:
            dsc.add_pem_or_der(data)
    if len(envelopes) > 1:
        raise _usage(f"{envelopes[1][0]}: only one native trust list can be given", "--trust")
    directory = store_dir if store_dir is not None else default_trust_store()
    store = _open_store(directory, national_root, clock, max_staleness, needed=bool(envelopes))
    if store is not None:
        _use_store(trust, store, envelopes[0] if envelopes else None)
    return trust


def _open_store(
    directory: Path,
    national_root: Path | None,
    clock: Clock,
    max_staleness: timedelta,
    *,
    needed: bool,
) -> TrustStore | None:
    """The trust store in ``directory`` under the given root, else the root it recorded.

    None when there is neither (a checkpoint that verifies no native code needs none).
    """
    root = load_certificate(national_root.read_bytes()) if national_root is not None else None
    root = root or TrustStore.recorded_root(directory)
    if root is None:
        if needed:
            raise _usage(
                f"a signed trust list needs --national-root FILE (the trust store {directory} "
                "has recorded none yet)",
                "--trust",
            )
        return None
    return TrustStore(directory, root_cert=root, clock=clock, max_staleness=max_staleness)


def _use_store(trust: Trust, store: TrustStore, given: tuple[Path, bytes] | None) -> None:
    """Take the given list into the store (refusing a rollback), then use the store's list."""
    before = store.opened()
    if given is not None:
        path, data = given
        try:
            opened = store.accept(data)
        except TrustError as exc:
            if exc.code == ErrorCode.ENVELOPE_ROLLBACK and before is not None:
                held = store.status().describe()
                raise TrustError(
                    exc.code,
                    f"{path}: {exc.message}; refused: {store.directory} keeps {held}",
                    **exc.details,
                ) from exc
            raise
        if before is None or opened.sequence != before.sequence:
            was = f" (it held #{before.sequence})" if before is not None else ""
            trust.notes.append(f"took trust list #{opened.sequence} into {store.directory}{was}")
    elif before is None:
        return
    trust.stores["native"] = store.current()
    trust.native_list = store.opened()
    trust.native_status = store.status()
    trust.notes.append(f"{trust.native_status.describe()} (trust store {store.directory})")


def _is_shc(doc: dict[str, Any]) -> bool:
    """A JWKS, or a VCI directory (snapshot or issuer list)."""
    return bool({"keys", "issuer_info", "participating_issuers"} & doc.keys())


def _add_shc(
    trust: Trust, shc: ShcTrust, path: Path, doc: dict[str, Any], issuer: str | None
) -> None:
    """An SHC issuer's JWKS, or the issuers of a VCI directory snapshot."""
    if "keys" in doc:
        _add_jwks(shc, path, doc, issuer)
        return
    count = shc.add_directory(doc)
    trust.notes.append(f"{path}: {count} SMART Health Cards issuers (VCI directory)")


def _add_jwks(shc: ShcTrust, path: Path, jwks: dict[str, Any], issuer: str | None) -> None:
    """An SHC issuer's keys, and the revocation lists in ``crl/`` beside them."""
    if not issuer:
        raise _usage(f"{path}: a JWKS needs --shc-issuer URL (the issuer it belongs to)", "--trust")
    shc.add_jwks(jwks, issuer=issuer)
    crl_dir = path.parent / "crl"
    for crl in sorted(crl_dir.glob("*.json")) if crl_dir.is_dir() else []:
        shc.add_crl(crl.read_bytes())


def read_lines(stream: BinaryIO) -> Iterator[str]:
    """One text per non-blank line of ``stream``, as it arrives.

    A line is decoded on its own: bytes that are not UTF-8 become lone surrogates, which the
    verifier refuses (``TEXT_NOT_UNICODE``) for that line only. A line longer than any code is
    cut at :data:`MAX_LINE_BYTES` (the rest is skipped), so it reads as too long.
    """
    while True:
        raw = stream.readline(MAX_LINE_BYTES)
        if not raw:
            return
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
        text = raw.decode("utf-8", "surrogateescape").strip("\r\n")
        if text.strip():
            yield text


def _texts(texts: list[str], images: list[str]) -> Iterator[str]:
    if texts or images:
        yield from texts
    else:
        yield from read_lines(sys.stdin.buffer)
    yield from images


def _decode_images(images: list[Path]) -> list[str]:
    """The QR texts of every picture; a usage error (``--image``) for one that cannot be read."""
    out: list[str] = []
    try:
        for image in images:
            out.extend(decode_image(image.read_bytes()))
    except HealthcodeError as exc:
        raise refused(exc, "--image") from exc
    return out


def _chunk_count(text: str) -> int | None:
    """``n`` of a chunk ``shc:/i/n/...`` of a SMART Health Card, None for any other text."""
    fields = text[len(SHC_PREFIX) :].split("/") if text.startswith(SHC_PREFIX) else []
    # A count of thousands of digits is no count (and int() refuses it).
    if len(fields) != 3 or not (0 < len(fields[1]) <= 3 and fields[1].isascii()):
        return None
    count = int(fields[1]) if fields[1].isdigit() else 0
    return count if 0 < count <= MAX_CHUNKS else None


def join_shc_chunks(texts: Iterable[str]) -> Iterator[str]:
    """Chunks of one SMART Health Card (``shc:/i/n/...``) on separate lines become one input.

    A run of chunks ends when it holds ``n`` of them; an unfinished run is verified as it is
    (and fails ``SHC_CHUNK_MISSING``). Anything else passes through unchanged.
    """
    pending: list[str] = []
    for text in texts:
        count = _chunk_count(text)
        if count is None:
            if pending:
                yield "\n".join(pending)
                pending = []
            yield text
            continue
        pending.append(text)
        if len(pending) >= count:
            yield "\n".join(pending)
            pending = []
    if pending:
        yield "\n".join(pending)


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
        help="signed native trust list (trust-list.cose; taken into the trust store unless it "
        "is older than the held one), EU DSCs (gateway JSON, PEM/DER), an SHC JWKS or a VCI "
        "directory snapshot of SHC issuers",
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
        help="national root certificate that signs the trust list (recorded in the trust "
        "store with the first list; later runs may omit it)",
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
    trust_store: TrustStoreDir = None,
    at: _At = None,
    as_json: _Json = False,
    dcc_schema: _Schema = None,
    dcc_value_sets: ValueSets = None,
    dcc_revocation: Revocation = None,
    shc_issuer: _Issuer = None,
    shc_anchor: Anchors = None,
    national_root: _Root = None,
    skew_seconds: _Skew = 300,
    max_stale_hours: MaxStaleHours = 24,
    status_list: StatusListFiles = None,
    status_max_age_hours: StatusMaxAge = 12,
    lang: Lang = "zh",
) -> None:
    """Verify health codes: native (CN1:), EU DCC (HC1:) and SMART Health Cards (shc:/)."""
    check_lang_option(lang)
    clock = clock_of(at, option="--at")
    try:
        loaded = load_trust(
            list(trust or []),
            shc_issuer=shc_issuer,
            national_root=national_root,
            clock=clock,
            max_staleness=timedelta(hours=max_stale_hours),
            store_dir=trust_store,
            shc_anchors=list(shc_anchor or []),
        )
    except (HealthcodeError, ValueError) as exc:
        raise refused(exc, "--trust") from exc
    pictures = _decode_images(list(image or []))
    skew = timedelta(seconds=skew_seconds)
    dcc = dcc_settings(
        loaded.stores.get("dcc", NO_KEYS),
        schema=dcc_schema,
        value_sets=list(dcc_value_sets or []),
        revocation=list(dcc_revocation or []),
        skew=skew,
    )
    root = _root_of(national_root, trust_store)
    lists = load_status_lists(list(status_list or []), root=root, trust_list=loaded.native_list)
    for note in loaded.notes:
        typer.echo(note, err=True)
    native = loaded.stores.get("native", NO_KEYS)
    max_age = status_max_age(status_max_age_hours)
    verifier = Verifier.default(
        native=NativeSettings(trust=native, skew=skew, status_lists=lists, status_max_age=max_age),
        dcc=dcc,
        shc=ShcSettings(trust=loaded.stores.get("shc", NO_KEYS), skew=skew),
        clock=clock,
    )
    inputs = join_shc_chunks(_texts(list(texts or []), pictures))
    code = _verify_each(verifier, inputs, loaded.warnings(), as_json=as_json, lang=lang)
    raise typer.Exit(code=code)


def _root_of(national_root: Path | None, store_dir: Path | None) -> x509.Certificate | None:
    """The national root given, else the one the trust store recorded (None: neither)."""
    if national_root is not None:
        return load_certificate(national_root.read_bytes())
    return TrustStore.recorded_root(store_dir if store_dir is not None else default_trust_store())


def _verify_each(
    verifier: Verifier,
    inputs: Iterable[str],
    native_warnings: tuple[str, ...],
    *,
    as_json: bool,
    lang: str,
) -> int:
    """Verify and print each input as it comes; the exit status (0 all valid, 1 any not).

    Raises InvalidInput ``USAGE`` when there is no input at all.
    """
    count, all_valid = 0, True
    for text in inputs:
        result = verifier.verify(text)
        if native_warnings and result.format == "native":
            result = dataclasses.replace(result, warnings=result.warnings + native_warnings)
        all_valid &= result.valid
        count += 1
        shown = with_view(result, lang) if as_json else None
        typer.echo(json.dumps(shown, ensure_ascii=False) if as_json else result_line(result, lang))
    if not count:
        raise _usage("no code given (arguments, standard input or --image)", "CODE")
    return 0 if all_valid else 1
