"""Status List Tokens (draft-ietf-oauth-status-list, CWT form) signed by the hub's publisher,
and a checkpoint's held copies of them.

The hub signs each list with the publisher key the national root certified
(:data:`~healthcode.core.trust.certs.PUBLISHER_EKU`), as it seals every published document; the
token carries the publisher's certificate in the COSE header ``33`` (x5chain, RFC 9360), so a
checkpoint needs nothing but the national root to open it (the draft's "Key Resolution and Trust
Management" leaves the method to the ecosystem).

:func:`open_status_list` checks, in this order (each a TrustError with a stable code):

1. a COSE_Sign1 tagged 18 and not 61, protected ``16`` (typ) = ``application/statuslist+cwt``,
   one certificate in ``33`` whose kid is the message's kid                ``STATUS_LIST_INVALID``
2. the certificate: issued by the root for publishing, valid at ``iat``, not a revoked
   publisher; 3. the signature                                      ``STATUS_LIST_SIGNER_INVALID``
4. the claims: ``sub`` a URI, ``iat`` required, ``exp`` after ``iat`` when present, ``ttl`` a
   positive integer when present, ``status_list`` ``{bits, lst}``          ``STATUS_LIST_INVALID``

Freshness is judged when a list is used (:meth:`StatusListToken.check_fresh`): ``exp`` passed
(the draft: "MUST be checked") or older than the verifier's maximum age (from ``iat``) is
``STATUS_LIST_STALE``; ``iat`` in the future beyond the skew is
``STATUS_LIST_INVALID``. :class:`StatusListStore` keeps the newest token of each URI in a folder
and refuses one with an older ``iat`` (``ENVELOPE_ROLLBACK``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from healthcode.core.codes.cose import sign1_decode, sign1_encode, verify_signature
from healthcode.core.codes.cwt import EXP, IAT, SUB, decode_claims, encode_claims
from healthcode.core.codes.status_list import (
    CLAIM_STATUS_LIST,
    CLAIM_TTL,
    HEADER_TYP,
    TYP,
    StatusList,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import HealthcodeError, TrustError
from healthcode.core.trust.certs import (
    KeyPair,
    check_publisher,
    check_validity,
    kid_of,
    load_certificate,
)

__all__ = [
    "HEADER_X5CHAIN",
    "MAX_TOKEN_BYTES",
    "HeldStatusLists",
    "StatusListStore",
    "StatusListToken",
    "open_status_list",
    "seal_status_list",
]

#: COSE header parameter x5chain (RFC 9360).
HEADER_X5CHAIN = 33
#: The largest token opened (hostile input; a list of 2^24 two-bit statuses at a high revocation
#: rate compresses to a few MiB).
MAX_TOKEN_BYTES = 64 * 1024 * 1024
_TAG_COSE_SIGN1 = 18


@dataclass(frozen=True, slots=True)
class StatusListToken:
    """An opened Status List Token: its URI, times, list, and the token as signed."""

    uri: str
    issued_at: datetime
    expires_at: datetime | None
    ttl: int | None
    status_list: StatusList
    publisher_kid: bytes
    raw: bytes

    def check_fresh(self, now: datetime, *, max_age: timedelta, skew: timedelta) -> None:
        """Raises TrustError ``STATUS_LIST_INVALID`` (issued in the future) or
        ``STATUS_LIST_STALE`` (``exp`` passed, or older than ``max_age``)."""
        if self.issued_at > now + skew:
            raise TrustError(ErrorCode.STATUS_LIST_INVALID, "the list is issued in the future")
        if self.expires_at is not None and self.expires_at < now - skew:
            raise TrustError(
                ErrorCode.STATUS_LIST_STALE, f"{self.uri} expired {self.expires_at.isoformat()}"
            )
        age = now - self.issued_at
        if age > max_age:
            raise TrustError(
                ErrorCode.STATUS_LIST_STALE,
                f"{self.uri} is {int(age.total_seconds())} s old; at most "
                f"{int(max_age.total_seconds())} s",
                age_seconds=int(age.total_seconds()),
            )

    def describe(self, now: datetime) -> dict[str, Any]:
        """The token's freshness for display."""
        return {
            "uri": self.uri,
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "ttl": self.ttl,
            "age_seconds": int((now - self.issued_at).total_seconds()),
            "size": self.status_list.size,
            "bytes": len(self.raw),
        }


def seal_status_list(
    status_list: StatusList,
    *,
    uri: str,
    issued_at: datetime,
    expires_at: datetime,
    ttl: timedelta,
    publisher: KeyPair,
) -> bytes:
    """The Status List Token (CWT form) of ``status_list``, signed ES256 by ``publisher``.

    Raises ValueError when the publisher's certificate does not cover ``issued_at``.
    """
    cert = publisher.certificate
    if not cert.not_valid_before_utc <= issued_at <= cert.not_valid_after_utc:
        raise ValueError("the publisher certificate must be valid when the list is issued")
    claims = {
        SUB: uri,
        IAT: int(issued_at.timestamp()),
        EXP: int(expires_at.timestamp()),
        CLAIM_TTL: max(1, int(ttl.total_seconds())),
        CLAIM_STATUS_LIST: status_list.encode(),
    }
    return sign1_encode(
        encode_claims(claims),
        private_key=publisher.private_key,
        kid=publisher.kid,
        headers={HEADER_TYP: TYP},
        unprotected_headers={HEADER_X5CHAIN: cert.public_bytes(serialization.Encoding.DER)},
    )


def _invalid(message: str) -> TrustError:
    return TrustError(ErrorCode.STATUS_LIST_INVALID, message)


def _certificate(raw: bytes) -> tuple[Any, x509.Certificate]:
    """Step 1: the message and its certificate."""
    if not isinstance(raw, bytes) or not raw or len(raw) > MAX_TOKEN_BYTES:
        raise _invalid(f"a status list token is 1 to {MAX_TOKEN_BYTES} bytes")
    try:
        msg = sign1_decode(raw, max_bytes=MAX_TOKEN_BYTES)
    except HealthcodeError as exc:
        raise _invalid(f"not a COSE_Sign1: {exc.message}") from exc
    if msg.tags != (_TAG_COSE_SIGN1,):
        raise _invalid("a Status List Token is COSE_Sign1_Tagged (18) and not tagged 61")
    if msg.protected.get(HEADER_TYP) != TYP:
        raise _invalid(f"the protected header's typ (16) must be {TYP}")
    chain = msg.protected.get(HEADER_X5CHAIN, msg.unprotected.get(HEADER_X5CHAIN))
    if type(chain) is not bytes:
        raise _invalid("x5chain (33) must hold the publisher's certificate")
    try:
        cert = load_certificate(chain)
    except TrustError as exc:
        raise _invalid(f"x5chain: {exc.message}") from exc
    if msg.kid != kid_of(cert):
        raise _invalid("the kid is not the kid of the certificate in x5chain")
    return msg, cert


def _claims(payload: bytes) -> tuple[str, datetime, datetime | None, int | None, StatusList]:
    """Step 4: the claims of the token."""
    try:
        claims = decode_claims(payload)
    except HealthcodeError as exc:
        raise _invalid(exc.message) from exc
    uri, iat, exp, ttl = (claims.get(k) for k in (SUB, IAT, EXP, CLAIM_TTL))
    if not isinstance(uri, str) or ":" not in uri or len(uri) > 200:
        raise _invalid("sub (2) must be the list's URI")
    if type(iat) is not int or iat < 0:
        raise _invalid("iat (6) is required, a NumericDate")
    if exp is not None and (type(exp) is not int or exp <= iat):
        raise _invalid("exp (4) must be a NumericDate after iat")
    if ttl is not None and (type(ttl) is not int or ttl <= 0):
        raise _invalid("ttl (65534) must be a positive integer")
    lst = StatusList.decode(claims.get(CLAIM_STATUS_LIST))
    try:
        issued = datetime.fromtimestamp(iat, UTC)
        expires = datetime.fromtimestamp(exp, UTC) if exp is not None else None
    except (OverflowError, OSError, ValueError) as exc:
        raise _invalid(f"a time is out of range: {exc}") from exc
    return uri, issued, expires, ttl, lst


def open_status_list(
    raw: bytes, *, root_cert: x509.Certificate, revoked_publishers: Iterable[bytes] = ()
) -> StatusListToken:
    """Verify a Status List Token against the national root (the module docstring's checks;
    freshness is the caller's, at the instant it uses the list).

    Raises TrustError ``STATUS_LIST_INVALID``, ``STATUS_LIST_SIGNER_INVALID`` (the publisher
    or the signature).
    """
    msg, cert = _certificate(raw)
    uri, issued, expires, ttl, lst = _claims(msg.payload)
    try:
        check_publisher(cert, root_cert=root_cert)
        check_validity(cert, issued)
    except TrustError as exc:
        raise TrustError(
            ErrorCode.STATUS_LIST_SIGNER_INVALID, f"publisher refused: {exc.message}"
        ) from exc
    if kid_of(cert) in set(revoked_publishers):
        raise TrustError(ErrorCode.STATUS_LIST_SIGNER_INVALID, "the publisher is revoked")
    try:
        verify_signature(msg, cert.public_key())
    except HealthcodeError as exc:
        raise TrustError(ErrorCode.STATUS_LIST_SIGNER_INVALID, exc.message) from exc
    return StatusListToken(uri, issued, expires, ttl, lst, kid_of(cert), raw)


class StatusListStore:
    """A checkpoint's Status List Tokens in ``directory``: the newest of each URI.

    ``accept`` opens a token with the root and keeps it unless one with a later ``iat`` is held
    (an older one: ``ENVELOPE_ROLLBACK``; the same ``iat`` with other bytes too). The files
    survive the process, named by a hash of the URI; a token read back is opened again.
    """

    SUFFIX = ".statuslist.cwt"

    def __init__(
        self,
        directory: Path | str,
        *,
        root_cert: x509.Certificate,
        revoked_publishers: Iterable[bytes] = (),
    ) -> None:
        self.directory = Path(directory)
        self.root_cert = root_cert
        self.revoked = frozenset(revoked_publishers)
        self._held: dict[str, StatusListToken] = {}
        for path in sorted(self.directory.glob("*" + self.SUFFIX)):
            with suppress(TrustError):  # a file another key or root wrote is not held
                token = self._open(path.read_bytes())
                self._held[token.uri] = token

    def _open(self, raw: bytes) -> StatusListToken:
        return open_status_list(raw, root_cert=self.root_cert, revoked_publishers=self.revoked)

    def _path(self, uri: str) -> Path:
        return self.directory / (sha256(uri.encode()).hexdigest()[:32] + self.SUFFIX)

    def accept(self, raw: bytes) -> StatusListToken:
        """Open ``raw`` and keep it as its URI's list. Raises what :func:`open_status_list`
        raises, and ``ENVELOPE_ROLLBACK`` for a token older than the held one."""
        token = self._open(raw)
        held = self._held.get(token.uri)
        if held is not None and (
            token.issued_at < held.issued_at
            or (token.issued_at == held.issued_at and token.raw != held.raw)
        ):
            raise TrustError(
                ErrorCode.ENVELOPE_ROLLBACK,
                f"{token.uri} issued {token.issued_at.isoformat()} is older than the held one "
                f"({held.issued_at.isoformat()})",
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(token.uri)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        self._held[token.uri] = token
        return token

    def token_for(self, uri: str) -> StatusListToken | None:
        """The held token of ``uri``, None when none is held."""
        return self._held.get(uri)

    def __iter__(self) -> Iterator[StatusListToken]:
        return iter(list(self._held.values()))

    def __len__(self) -> int:
        return len(self._held)


class HeldStatusLists:
    """Status List Tokens held in memory by URI (the command line's ``--status-list``)."""

    def __init__(self, tokens: Iterable[StatusListToken] = ()) -> None:
        self._held = {t.uri: t for t in tokens}

    def token_for(self, uri: str) -> StatusListToken | None:
        return self._held.get(uri)

    def __len__(self) -> int:
        return len(self._held)
