"""Trusted public keys by kid: what trust material gives a verifier.

Every format's signature stage asks a :class:`KeyStore` for the keys that share a kid and tries
each one (kids are short hashes, so two signers may share one). The native trust list, EU DSC
lists and SMART Health Card issuer JWKS all implement this protocol.

This module sits between the codecs and trust: trust material builds :class:`TrustedKey` objects
and the verifier reads them, so neither imports the other for it.

>>> StaticKeyStore([]).keys_for_kid(b"x")
()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = ["NO_KEYS", "KeyStore", "StaticKeyStore", "TrustedKey"]


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One trusted public key and what the trust material says about it."""

    kid: bytes
    public_key: Any  # a `cryptography` EC or RSA public key
    issuer: str  # province code (native), country code (EU DCC) or issuer URL (SHC)
    not_before: datetime | None = None
    not_after: datetime | None = None
    certificate: Any = None  # a `cryptography.x509.Certificate`, when the key came with one
    revoked: bool = False
    usages: frozenset[str] = field(default_factory=frozenset)  # e.g. {"v", "t", "r"} for DSCs


class KeyStore(Protocol):
    """Anything that lists the trusted keys of a kid."""

    def keys_for_kid(self, kid: bytes) -> Sequence[TrustedKey]:
        """Every trusted key with this kid (empty when none)."""
        ...


class StaticKeyStore:
    """A key store over a fixed list of keys.

    >>> StaticKeyStore([]).keys_for_kid(b"x")
    ()
    """

    def __init__(self, keys: Sequence[TrustedKey]) -> None:
        self._by_kid: dict[bytes, tuple[TrustedKey, ...]] = {}
        for key in keys:
            self._by_kid[key.kid] = (*self._by_kid.get(key.kid, ()), key)

    def keys_for_kid(self, kid: bytes) -> Sequence[TrustedKey]:
        return self._by_kid.get(kid, ())

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kid.values())


#: A key store with no key: a format given no trust material fails at its signature stage.
NO_KEYS = StaticKeyStore([])
