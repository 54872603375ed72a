"""The one source of truth of a network's trust state, as core sees it: a protocol.

The trust state is one JSON document: the provinces, every signer and publisher with its
certificate (PEM), creation, retirement and revocation, the revoked serials, and the rule-set
and value-set digests the trust list names. Every publisher (``healthcode trust publish``, any
number of hub processes) reads it at the moment it publishes, inside the transaction that draws
the next sequence number of the document's kind and stores the document:

- ``update(change)`` runs ``change`` on the current state under the store's lock and commits the
  changed state atomically (all of the change or none of it);
- ``publish(kind, draft)`` runs ``draft`` on the current state and the last published document
  of that kind under the same lock; the document it seals carries the next sequence number and
  is stored in the same transaction, so a sequence is never used twice and a change committed
  before the publication is always in it.

The store lives outside core (``store/trust_state.py``: a row of the hub's database); core
holds the protocol, the values that cross it, and what is read out of a state: the trust list
(:func:`trust_list_of`), the active key of a role (:func:`active_kid`), the publishers revoked
(:func:`revoked_publishers_of`) and a document ready to seal (:func:`draft_of`).

State document (JSON)::

    {"provinces": ["110000", ...], "root_certificate": "<PEM>",
     "signers": {"<kid hex>": {"province", "certificate": "<PEM>", "created_at", "retired_at"}},
     "publishers": {"<kid hex>": {"certificate": "<PEM>", "created_at", "retired_at"}},
     "revoked_signers": {"<kid hex>": "<ISO 8601>"}, "revoked_publishers": {...},
     "revoked_serials": {"<serial hex>": "<until>"}, "rule_sets": {}, "value_sets": {},
     "sequences": {"trust-list": 7, ...}}
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, TypeVar

from cryptography import x509

from healthcode.core.clock import parse_instant
from healthcode.core.codes.native import MAX_CODE_LIFETIME
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import KeyPair, load_certificate, province_of_certificate
from healthcode.core.trust.envelope import DocumentKind, seal
from healthcode.core.trust.trustlist import SignerEntry, TrustList

__all__ = [
    "Draft",
    "Published",
    "StateStore",
    "TrustStateDoc",
    "active_kid",
    "certificate_of",
    "draft_of",
    "revoked_publishers_of",
    "trust_list_of",
]

#: The state document (JSON types only): see the module docstring.
TrustStateDoc = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Published:
    """A signed document as stored: its kind, sequence, content digest (hex) and envelope."""

    kind: str
    seq: int
    digest: str
    envelope: bytes
    not_before: datetime
    expires: datetime


@dataclass(frozen=True, slots=True)
class Draft:
    """A document ready to seal: ``seal(sequence)`` returns the envelope with that sequence."""

    digest: str
    not_before: datetime
    expires: datetime
    seal: Callable[[int], bytes]


class StateStore(Protocol):
    """Where the trust state and the published documents live (one transaction each call)."""

    def load(self) -> TrustStateDoc | None:
        """The current state, or None when no network was created in this store."""

    def create(self, state: TrustStateDoc) -> None:
        """Store the first state. Raises TrustError ``NETWORK_EXISTS`` when there is one."""

    def update(self, change: Callable[[TrustStateDoc], T]) -> T:
        """Apply ``change`` (it mutates the state it is given) and commit; return its result.

        Raises TrustError ``NETWORK_MISSING``; what ``change`` raises (nothing is committed).
        """

    def last(self, kind: str) -> Published | None:
        """The newest published document of ``kind``."""

    def publish(
        self, kind: str, draft: Callable[[TrustStateDoc, Published | None], Draft | None]
    ) -> Published:
        """Seal and store the next document of ``kind``, or keep the last one when ``draft``
        returns None. Raises TrustError ``NETWORK_MISSING``; what ``draft`` raises."""


def certificate_of(info: dict[str, Any]) -> x509.Certificate:
    """The certificate of a signer's or publisher's entry in the state."""
    return load_certificate(str(info["certificate"]).encode("ascii"))


def trust_list_of(state: TrustStateDoc, *, at: datetime) -> TrustList:
    """The trust list of a state as of ``at``: signers still useful, revocations still needed."""
    entries = []
    for _kid_hex, info in sorted(state["signers"].items()):
        cert = certificate_of(info)
        if cert.not_valid_after_utc < at:
            continue  # expired: every code it signed has expired too
        retired = None if info["retired_at"] is None else parse_instant(info["retired_at"])
        if retired is not None and retired + MAX_CODE_LIFETIME < at:
            continue  # retired long enough that no code of it is still valid
        if province_of_certificate(cert) != info["province"]:
            raise TrustError(ErrorCode.CERT_PROVINCE, f"signer {_kid_hex} is in another province")
        entries.append(SignerEntry(info["province"], cert, retired))
    serials = {
        bytes.fromhex(k): parse_instant(v)
        for k, v in state["revoked_serials"].items()
        if parse_instant(v) >= at
    }
    listed = {e.kid for e in entries}
    revoked = frozenset(
        bytes.fromhex(k) for k in state["revoked_signers"] if bytes.fromhex(k) in listed
    )
    return TrustList(
        signers=entries,
        revoked_signers=revoked,
        revoked_serials=serials,
        rule_sets=dict(state["rule_sets"]),
        value_sets=dict(state["value_sets"]),
    )


def active_kid(
    state: TrustStateDoc,
    role: Literal["signers", "publishers"],
    *,
    at: datetime,
    province: str | None = None,
) -> str:
    """The kid (hex) of the newest key of ``role`` (of ``province`` for signers) that is
    neither retired nor revoked and is valid at ``at``.

    Raises TrustError ``SIGNER_UNKNOWN`` / ``PUBLISHER_UNKNOWN`` when there is none.
    """
    revoked = state["revoked_signers" if role == "signers" else "revoked_publishers"]
    candidates = []
    for kid_hex, info in state[role].items():
        if info["retired_at"] is not None or kid_hex in revoked:
            continue
        if province is not None and info.get("province") != province:
            continue
        cert = certificate_of(info)
        if cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            candidates.append((cert.not_valid_before_utc, kid_hex))
    if not candidates:
        if role == "signers":
            raise TrustError(ErrorCode.SIGNER_UNKNOWN, f"province {province} has no active signer")
        raise TrustError(ErrorCode.PUBLISHER_UNKNOWN, "no active publisher (keys publisher rotate)")
    return str(max(candidates)[1])


def revoked_publishers_of(state: TrustStateDoc, *, at: datetime) -> frozenset[bytes]:
    """Kids of the revoked publishers whose certificates have not expired at ``at``."""
    return frozenset(
        bytes.fromhex(kid_hex)
        for kid_hex in state["revoked_publishers"]
        if kid_hex in state["publishers"]
        and certificate_of(state["publishers"][kid_hex]).not_valid_after_utc >= at
    )


def draft_of(
    state: TrustStateDoc,
    publisher: KeyPair,
    *,
    kind: DocumentKind,
    content: bytes,
    now: datetime,
    validity: timedelta,
) -> Draft:
    """``content`` ready to seal by ``publisher`` at ``now``: valid for ``validity`` but never
    past the publisher's certificate, naming the publishers revoked in ``state``."""
    expires = min(now + validity, publisher.certificate.not_valid_after_utc)
    revoked = revoked_publishers_of(state, at=now)
    if expires <= now:
        raise TrustError(ErrorCode.PUBLISHER_UNKNOWN, "the publisher certificate has expired")
    return Draft(
        digest=hashlib.sha256(content).hexdigest(),
        not_before=now,
        expires=expires,
        seal=lambda seq: seal(
            content,
            kind=kind,
            sequence=seq,
            not_before=now,
            expires=expires,
            publisher=publisher,
            revoked_publishers=revoked,
        ),
    )
