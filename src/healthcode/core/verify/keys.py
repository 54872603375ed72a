"""How a verifier finds signing keys: by kid, from whatever trust material it holds.

Every format's signature stage asks a :class:`KeyStore` for the keys that share a kid and tries
each one (kids are short hashes, so two signers may share one). The native trust list, EU DSC
lists and SMART Health Card issuer JWKS all implement this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = ["KeyStore", "StaticKeyStore", "TrustedKey"]


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
