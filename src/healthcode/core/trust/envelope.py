"""The one signed envelope for every document the hub publishes: trust lists, rule sets, value
sets, risk areas, purge statements.

Wire format: a COSE_Sign1 (RFC 9052, ES256, tag 18, kid of the publisher certificate in the
protected header) signed by a *publisher*: a key the national root certified for publishing
(:data:`.certs.PUBLISHER_EKU`, a short validity). The root itself signs no document: it stays
offline. The payload is a CBOR map::

    {"v": 2,                      envelope version; a verifier refuses any other
     "kind": "trust-list",        "trust-list" | "rule-set" | "value-set" | "risk-areas"
                                  | "purge-statement"
     "seq": 42,                   sequence number; grows with every publication of this kind
     "nbf": 1668902400,           not before (seconds since the epoch, UTC)
     "exp": 1669507200,           expires (seconds since the epoch, UTC)
     "digest": h'…',              SHA-256 of content
     "content": h'…',             the document itself (bytes; JSON for the hub's documents)
     "publisher": h'…',           the publisher's certificate (DER)
     "revoked": [h'…']}           kids of the publishers revoked so far (not yet expired)

:func:`open_envelope` checks, in this order (each failure a :class:`TrustError` with a stable
code):

1. it is a COSE_Sign1 whose payload is such a map          ``ENVELOPE_MALFORMED``
2. the version is known                                    ``ENVELOPE_VERSION_UNKNOWN``
3. the kind is the one asked for                           ``ENVELOPE_KIND``
4. the publisher certificate was issued by the root for publishing, and covers the whole
   validity of the document (``nbf`` to ``exp``)           ``ENVELOPE_PUBLISHER_INVALID``
5. the publisher is not revoked in what the verifier holds ``ENVELOPE_PUBLISHER_REVOKED``
6. the publisher's signature verifies                      ``ENVELOPE_SIGNATURE_INVALID``
7. the digest matches the content                          ``ENVELOPE_DIGEST_MISMATCH``
8. not before ``nbf`` (less the clock skew)                ``ENVELOPE_NOT_YET_VALID``
9. no older than what the verifier holds: a lower sequence,
   or the same sequence with another digest                ``ENVELOPE_ROLLBACK``
10. not expired by more than the staleness tolerance       ``ENVELOPE_EXPIRED``

What a verifier holds of a kind (:class:`Held`) carries the revoked publishers of the document
it took; every document names every revoked publisher, so once a checkpoint has taken one
document published after a revocation, a stolen revoked key cannot move it forward, however
high a sequence it signs. Before that, the short validity of a publisher certificate bounds
what a stolen key can do (docs/security.md).

A document past its expiry but within the tolerance opens, and says how stale it is: a
checkpoint keeps working offline on its cached copy and can show "trust list 3 h out of date".

>>> from datetime import datetime, timedelta, timezone
>>> from healthcode.core.clock import FixedClock
>>> from healthcode.core.trust.certs import make_publisher, make_root
>>> t = datetime(2022, 11, 20, tzinfo=timezone.utc)
>>> root = make_root(now=t)
>>> publisher = make_publisher(root=root, not_before=t, not_after=t + timedelta(days=30))
>>> raw = seal(b"{}", kind="trust-list", sequence=1, not_before=t,
...            expires=t + timedelta(days=1), publisher=publisher)
>>> doc = open_envelope(raw, root_cert=root.certificate, kind="trust-list",
...                     clock=FixedClock(t + timedelta(days=1, hours=2)),
...                     max_staleness=timedelta(hours=6))
>>> (doc.content, doc.sequence, doc.stale_by)
(b'{}', 1, datetime.timedelta(seconds=7200))
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from healthcode.core.clock import Clock
from healthcode.core.codes.cose import sign1_decode, sign1_encode, verify_signature
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.trust.certs import (
    KeyPair,
    check_publisher,
    check_validity,
    kid_of,
    load_certificate,
)

__all__ = [
    "ENVELOPE_VERSION",
    "KINDS",
    "SEALED_KINDS",
    "DocumentKind",
    "Held",
    "OpenedDocument",
    "open_envelope",
    "peek",
    "seal",
]

ENVELOPE_VERSION = 2
DocumentKind = Literal["trust-list", "rule-set", "value-set", "risk-areas", "purge-statement"]
#: The kinds the hub publishes on demand (``GET /v1/published/{kind}``).
KINDS: frozenset[str] = frozenset({"trust-list", "rule-set", "value-set", "risk-areas"})
#: Every kind sealed in an envelope: the published ones and the hub's purge statements.
SEALED_KINDS: frozenset[str] = KINDS | {"purge-statement"}
#: Clock skew tolerated on ``nbf`` (a checkpoint's clock may run a little behind the hub's).
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: The largest envelope accepted (bounds memory on hostile input; a trust list is ~100 KiB).
MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
_FIELDS = ("v", "kind", "seq", "nbf", "exp", "digest", "content", "publisher", "revoked")
#: The most revoked publishers an envelope may name (bounds work on hostile input).
MAX_REVOKED_PUBLISHERS = 1000


@dataclass(frozen=True, slots=True)
class Held:
    """What a verifier already holds of one kind of document: to refuse rollbacks, and
    documents of the publishers revoked when it was published."""

    sequence: int
    digest: bytes
    revoked_publishers: frozenset[bytes] = frozenset()


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
    publisher: x509.Certificate | None = None
    revoked_publishers: frozenset[bytes] = frozenset()

    @property
    def held(self) -> Held:
        return Held(self.sequence, self.digest, self.revoked_publishers)

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
    publisher: KeyPair,
    revoked_publishers: Iterable[bytes] = (),
) -> bytes:
    """Wrap ``content`` in an envelope signed by ``publisher`` (a key the root certified for
    publishing), naming the publishers revoked so far.

    Raises ValueError on a kind outside :data:`KINDS`, a negative sequence, an empty validity
    or one the publisher's certificate does not cover.
    """
    if kind not in SEALED_KINDS:
        raise ValueError(f"kind must be one of {sorted(SEALED_KINDS)}, not {kind!r}")
    if sequence < 0:
        raise ValueError("sequence must be >= 0")
    if expires <= not_before:
        raise ValueError("expires must be after not_before")
    cert = publisher.certificate
    if not_before < cert.not_valid_before_utc or expires > cert.not_valid_after_utc:
        raise ValueError("the publisher certificate must cover the document's validity")
    payload = {
        "v": ENVELOPE_VERSION,
        "kind": kind,
        "seq": sequence,
        "nbf": _epoch(not_before),
        "exp": _epoch(expires),
        "digest": hashlib.sha256(content).digest(),
        "content": bytes(content),
        "publisher": cert.public_bytes(serialization.Encoding.DER),
        "revoked": sorted(set(revoked_publishers)),
    }
    return sign1_encode(cbor2.dumps(payload), private_key=publisher.private_key, kid=publisher.kid)


def _malformed(message: str) -> TrustError:
    return TrustError(ErrorCode.ENVELOPE_MALFORMED, message)


def _decode(raw: bytes) -> tuple[Any, dict[str, Any]]:
    if not isinstance(raw, bytes | bytearray) or len(raw) > MAX_ENVELOPE_BYTES:
        raise _malformed("envelope must be bytes of reasonable size")
    try:
        msg = sign1_decode(bytes(raw), max_bytes=MAX_ENVELOPE_BYTES)
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
    for name in ("digest", "content", "publisher"):
        if not isinstance(body[name], bytes):
            raise _malformed(f"{name} must be a byte string")
    revoked = body["revoked"]
    if (
        not isinstance(revoked, list)
        or len(revoked) > MAX_REVOKED_PUBLISHERS
        or not all(isinstance(k, bytes) for k in revoked)
    ):
        raise _malformed("revoked must be a short list of byte strings")
    if not isinstance(body["kind"], str):
        raise _malformed("kind must be a string")


def peek(raw: bytes) -> dict[str, Any]:
    """The envelope's fields WITHOUT checking anything: for display only (``trust show``).

    Raises TrustError ``ENVELOPE_MALFORMED`` / ``ENVELOPE_VERSION_UNKNOWN``.
    """
    msg, body = _decode(raw)
    _check_fields(body)
    return {**body, "kid": msg.kid}


def _times(body: dict[str, Any]) -> tuple[datetime, datetime]:
    try:
        return datetime.fromtimestamp(body["nbf"], UTC), datetime.fromtimestamp(body["exp"], UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _malformed(f"time out of range: {exc}") from exc


def _publisher(
    body: dict[str, Any],
    root_cert: x509.Certificate,
    validity: tuple[datetime, datetime],
    held: Held | None,
) -> x509.Certificate:
    """The publisher certificate, checked against the root and what the verifier holds."""
    try:
        cert = load_certificate(body["publisher"])
        check_publisher(cert, root_cert=root_cert)
        for instant in validity:  # the certificate covers the document's whole life
            check_validity(cert, instant)
    except TrustError as exc:
        raise TrustError(
            ErrorCode.ENVELOPE_PUBLISHER_INVALID, f"publisher refused: {exc.message}"
        ) from exc
    kid = kid_of(cert)
    revoked = (held.revoked_publishers if held is not None else frozenset()) | set(body["revoked"])
    if kid in revoked:
        raise TrustError(ErrorCode.ENVELOPE_PUBLISHER_REVOKED, f"publisher {kid.hex()} is revoked")
    return cert


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
    msg, body = _decode(raw)  # 1-2
    _check_fields(body)
    not_before, expires = _times(body)
    if body["kind"] != kind:  # 3
        raise TrustError(ErrorCode.ENVELOPE_KIND, f"expected a {kind}, got a {body['kind']!r}")
    publisher = _publisher(body, root_cert, (not_before, expires), held)  # 4-5
    try:  # 6
        verify_signature(msg, publisher.public_key())
    except VerificationFailed as exc:
        raise TrustError(ErrorCode.ENVELOPE_SIGNATURE_INVALID, exc.message) from exc
    content: bytes = body["content"]
    digest = hashlib.sha256(content).digest()
    if digest != body["digest"]:  # 7
        raise TrustError(ErrorCode.ENVELOPE_DIGEST_MISMATCH, "content does not match its digest")
    now = clock.now()
    if now + MAX_CLOCK_SKEW < not_before:  # 8
        raise TrustError(ErrorCode.ENVELOPE_NOT_YET_VALID, f"valid from {not_before.isoformat()}")
    sequence: int = body["seq"]
    if held is not None and (  # 9
        sequence < held.sequence or (sequence == held.sequence and digest != held.digest)
    ):
        raise TrustError(
            ErrorCode.ENVELOPE_ROLLBACK,
            f"{kind} #{sequence} is older than or conflicts with the held #{held.sequence}",
            held=held.sequence,
            offered=sequence,
        )
    stale_by = max(now - expires, timedelta(0))
    if stale_by > max_staleness:  # 10
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
        publisher=publisher,
        revoked_publishers=frozenset(body["revoked"])
        | (held.revoked_publishers if held else set()),
    )
