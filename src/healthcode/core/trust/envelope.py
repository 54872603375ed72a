"""The one signed envelope for every document the hub publishes: trust lists, rule sets, value
sets, risk areas.

Wire format: a COSE_Sign1 (RFC 9052, ES256, tag 18, kid of the root certificate in the protected
header) signed by the national root, whose payload is a CBOR map::

    {"v": 1,                      envelope version; a verifier refuses any other
     "kind": "trust-list",        "trust-list" | "rule-set" | "value-set" | "risk-areas"
     "seq": 42,                   sequence number; grows with every publication of this kind
     "nbf": 1668902400,           not before (seconds since the epoch, UTC)
     "exp": 1669507200,           expires (seconds since the epoch, UTC)
     "digest": h'…',              SHA-256 of content
     "content": h'…'}             the document itself (bytes; JSON for the hub's documents)

:func:`open_envelope` checks, in this order (each failure a :class:`TrustError` with a stable
code):

1. it is a COSE_Sign1 whose payload is such a map          ``ENVELOPE_MALFORMED``
2. the version is known                                    ``ENVELOPE_VERSION_UNKNOWN``
3. the kind is the one asked for                           ``ENVELOPE_KIND``
4. the root's signature verifies                           ``ENVELOPE_SIGNATURE_INVALID``
5. the digest matches the content                          ``ENVELOPE_DIGEST_MISMATCH``
6. not before ``nbf`` (less the clock skew)                ``ENVELOPE_NOT_YET_VALID``
7. no older than what the verifier holds: a lower sequence,
   or the same sequence with another digest                ``ENVELOPE_ROLLBACK``
8. not expired by more than the staleness tolerance        ``ENVELOPE_EXPIRED``

A document past its expiry but within the tolerance opens, and says how stale it is: a
checkpoint keeps working offline on its cached copy and can show "trust list 3 h out of date".

>>> from datetime import datetime, timedelta, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.trust.certs import make_root
>>> t = datetime(2022, 11, 20, tzinfo=timezone.utc)
>>> root = make_root(now=t)
>>> raw = seal(b"{}", kind="trust-list", sequence=1, not_before=t,
...            expires=t + timedelta(days=1), root=root)
>>> doc = open_envelope(raw, root_cert=root.certificate, kind="trust-list",
...                     clock=FixedClock(t + timedelta(days=1, hours=2)),
...                     max_staleness=timedelta(hours=6))
>>> (doc.content, doc.sequence, doc.stale_by)
(b'{}', 1, datetime.timedelta(seconds=7200))
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import cbor2
from cryptography import x509

from healthcode.core.clock import Clock
from healthcode.core.codes.cose import sign1_decode, sign1_encode, verify_signature
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.trust.certs import KeyPair, kid_of

__all__ = [
    "ENVELOPE_VERSION",
    "KINDS",
    "DocumentKind",
    "Held",
    "OpenedDocument",
    "open_envelope",
    "peek",
    "seal",
]

ENVELOPE_VERSION = 1
DocumentKind = Literal["trust-list", "rule-set", "value-set", "risk-areas"]
KINDS: frozenset[str] = frozenset({"trust-list", "rule-set", "value-set", "risk-areas"})
#: Clock skew tolerated on ``nbf`` (a checkpoint's clock may run a little behind the hub's).
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: The largest envelope accepted (bounds memory on hostile input; a trust list is ~100 KiB).
MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
_FIELDS = ("v", "kind", "seq", "nbf", "exp", "digest", "content")


@dataclass(frozen=True, slots=True)
class Held:
    """What a verifier already holds of one kind of document: to refuse rollbacks."""

    sequence: int
    digest: bytes


@dataclass(frozen=True, slots=True)
class OpenedDocument:
    """A document taken out of a verified envelope, with its freshness."""

    kind: str
    sequence: int
    not_before: datetime
    expires: datetime
    digest: bytes
    content: bytes
    stale_by: timedelta  # zero while not expired

    @property
    def held(self) -> Held:
        return Held(self.sequence, self.digest)

    @property
    def is_stale(self) -> bool:
        return self.stale_by > timedelta(0)


def _epoch(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("timezone-aware datetime required")
    return int(value.timestamp())


def seal(
    content: bytes,
    *,
    kind: DocumentKind,
    sequence: int,
    not_before: datetime,
    expires: datetime,
    root: KeyPair,
) -> bytes:
    """Wrap ``content`` in an envelope signed by the national root.

    Raises ValueError on a kind outside :data:`KINDS`, a negative sequence or an empty validity.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    if sequence < 0:
        raise ValueError("sequence must be >= 0")
    if expires <= not_before:
        raise ValueError("expires must be after not_before")
    payload = {
        "v": ENVELOPE_VERSION,
        "kind": kind,
        "seq": sequence,
        "nbf": _epoch(not_before),
        "exp": _epoch(expires),
        "digest": hashlib.sha256(content).digest(),
        "content": bytes(content),
    }
    return sign1_encode(
        cbor2.dumps(payload), private_key=root.private_key, kid=kid_of(root.certificate)
    )


def _malformed(message: str) -> TrustError:
    return TrustError(ErrorCode.ENVELOPE_MALFORMED, message)


def _decode(raw: bytes) -> tuple[Any, dict[str, Any]]:
    if not isinstance(raw, bytes | bytearray) or len(raw) > MAX_ENVELOPE_BYTES:
        raise _malformed("envelope must be bytes of reasonable size")
    try:
        msg = sign1_decode(bytes(raw))
        payload = cbor2.loads(msg.payload)
    except VerificationFailed as exc:
        raise _malformed(f"not a COSE_Sign1: {exc.message}") from exc
    except Exception as exc:  # cbor2 raises several kinds on hostile input
        raise _malformed(f"payload is not CBOR: {exc}") from exc
    if not isinstance(payload, Mapping):
        raise _malformed("payload must be a map")
    return msg, dict(payload)


def _check_fields(body: dict[str, Any]) -> None:
    if body.get("v") != ENVELOPE_VERSION or isinstance(body.get("v"), bool):
        raise TrustError(ErrorCode.ENVELOPE_VERSION_UNKNOWN, f"envelope version {body.get('v')!r}")
    missing = [name for name in _FIELDS if name not in body]
    if missing:
        raise _malformed(f"missing fields: {', '.join(missing)}")
    for name in ("seq", "nbf", "exp"):
        if not isinstance(body[name], int) or isinstance(body[name], bool) or body[name] < 0:
            raise _malformed(f"{name} must be a non-negative integer")
    for name in ("digest", "content"):
        if not isinstance(body[name], bytes):
            raise _malformed(f"{name} must be a byte string")
    if not isinstance(body["kind"], str):
        raise _malformed("kind must be a string")


def peek(raw: bytes) -> dict[str, Any]:
    """The envelope's fields WITHOUT checking anything: for display only (``trust show``).

    Raises TrustError ``ENVELOPE_MALFORMED`` / ``ENVELOPE_VERSION_UNKNOWN``.
    """
    msg, body = _decode(raw)
    _check_fields(body)
    return {**body, "kid": msg.kid}


def open_envelope(
    raw: bytes,
    *,
    root_cert: x509.Certificate,
    kind: DocumentKind,
    clock: Clock,
    held: Held | None = None,
    max_staleness: timedelta = timedelta(0),
) -> OpenedDocument:
    """Verify an envelope and return its document; see the module docstring for the checks.

    Raises TrustError with one of the ``ENVELOPE_*`` codes above.
    """
    msg, body = _decode(raw)
    _check_fields(body)
    if body["kind"] != kind:
        raise TrustError(ErrorCode.ENVELOPE_KIND, f"expected a {kind}, got a {body['kind']!r}")
    try:
        verify_signature(msg, root_cert.public_key())
    except VerificationFailed as exc:
        raise TrustError(ErrorCode.ENVELOPE_SIGNATURE_INVALID, exc.message) from exc
    content: bytes = body["content"]
    digest = hashlib.sha256(content).digest()
    if digest != body["digest"]:
        raise TrustError(ErrorCode.ENVELOPE_DIGEST_MISMATCH, "content does not match its digest")
    try:
        not_before = datetime.fromtimestamp(body["nbf"], UTC)
        expires = datetime.fromtimestamp(body["exp"], UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _malformed(f"time out of range: {exc}") from exc
    now = clock.now()
    if now + MAX_CLOCK_SKEW < not_before:
        raise TrustError(ErrorCode.ENVELOPE_NOT_YET_VALID, f"valid from {not_before.isoformat()}")
    sequence: int = body["seq"]
    if held is not None and (
        sequence < held.sequence or (sequence == held.sequence and digest != held.digest)
    ):
        raise TrustError(
            ErrorCode.ENVELOPE_ROLLBACK,
            f"{kind} #{sequence} is older than or conflicts with the held #{held.sequence}",
            held=held.sequence,
            offered=sequence,
        )
    stale_by = max(now - expires, timedelta(0))
    if stale_by > max_staleness:
        raise TrustError(
            ErrorCode.ENVELOPE_EXPIRED,
            f"{kind} #{sequence} expired {stale_by} ago (tolerance {max_staleness})",
            stale_by_seconds=int(stale_by.total_seconds()),
        )
    return OpenedDocument(
        kind=kind,
        sequence=sequence,
        not_before=not_before,
        expires=expires,
        digest=digest,
        content=content,
        stale_by=stale_by,
    )
