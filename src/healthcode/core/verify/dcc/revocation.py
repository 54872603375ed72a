"""EU DCC revocation: lists of hashes of revoked certificates, held offline, checked as a stage.

The EU revocation concept (eHealth Network, *EU DCC Revocation*, 2022; the DCC gateway's
revocation batches and the revocation distribution service) does not publish certificates or
identifiers: an issuing country uploads *batches* of hashes, each of one hash type, for the DCCs
signed by one DSC (its ``kid``). Each hash is SHA-256 truncated to its first 128 bits (16 bytes):

``UCI``             the UCI (``ci`` of the v/t/r entry) as UTF-8 text
``COUNTRYCODEUCI``  the issuing country (the CWT ``iss``, claim 1) then the UCI, as UTF-8 text
``SIGNATURE``       the COSE_Sign1 signature: for ES256 only its first half (``r``), since
                    ``(r, n - s)`` is a second valid signature of the same message; for PS256 the
                    whole signature

A checkpoint computes the three hashes of a certificate and refuses it with ``DCC_REVOKED``
when any is in a batch held for its signer's kid (or in a batch that names no kid).

File format (``healthcode verify --dcc-revocation FILE``): the gateway's batch JSON::

    {"country": "DE", "kid": "<base64 DSC kid>", "hashType": "UCI",
     "expires": "2026-12-31T00:00:00Z", "deleted": false,
     "entries": [{"hash": "<base64 of the first 16 bytes of the SHA-256>"}, ...]}

or a JSON array of such batches, or an object ``{"batches": [...]}``. A batch marked
``"deleted": true`` is skipped. A batch past its ``expires`` is still applied: it only lists
certificates that expired with it, and applying it can refuse nothing valid.

>>> list(hashes_of(uci="URN:UVCI:01:XX:1", country="XX", signature=b"\\1" * 64, alg=-7))
['UCI', 'COUNTRYCODEUCI', 'SIGNATURE']
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthcode.core.codes.cose import ALG_ES256
from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.verify.dcc.payload import dcc_kind
from healthcode.core.verify.stages import stage

__all__ = [
    "HASH_BYTES",
    "HASH_TYPES",
    "DccRevocationList",
    "check_revocation",
    "hashes_of",
    "revocation_hash",
]

#: The hash types of the EU revocation concept.
HASH_TYPES = ("UCI", "COUNTRYCODEUCI", "SIGNATURE")
#: Each hash is SHA-256 truncated to its first 128 bits.
HASH_BYTES = 16


def revocation_hash(data: bytes) -> bytes:
    """SHA-256 of ``data``, its first 128 bits."""
    return hashlib.sha256(data).digest()[:HASH_BYTES]


def hashes_of(
    *, uci: str | None, country: str | None, signature: bytes, alg: int | None
) -> dict[str, bytes]:
    """The revocation hashes of one certificate, by hash type (UCI types only with a UCI)."""
    out: dict[str, bytes] = {}
    if uci:
        out["UCI"] = revocation_hash(uci.encode("utf-8"))
        out["COUNTRYCODEUCI"] = revocation_hash(((country or "") + uci).encode("utf-8"))
    signed = signature[: len(signature) // 2] if alg == ALG_ES256 else signature
    out["SIGNATURE"] = revocation_hash(signed)
    return out


@dataclass
class DccRevocationList:
    """Revoked DCC hashes by (DSC kid or None for any, hash type); read offline from files.

    >>> DccRevocationList().revoked(b"12345678", {"UCI": bytes(16)}) is None
    True
    """

    _hashes: dict[tuple[bytes | None, str], set[bytes]] = field(default_factory=dict)
    _batches: int = 0

    def __len__(self) -> int:
        return sum(len(v) for v in self._hashes.values())

    @property
    def batches(self) -> int:
        """How many batches are held."""
        return self._batches

    def add_batch(self, batch: Mapping[str, Any], where: str = "batch") -> None:
        """Add one gateway revocation batch; raises TrustError ``DCC_REVOCATION_LIST_INVALID``."""
        if not isinstance(batch, Mapping):
            raise _invalid(where, "a batch is a JSON object")
        if batch.get("deleted") is True:
            return
        hash_type = batch.get("hashType")
        if hash_type not in HASH_TYPES:
            raise _invalid(where, f"hashType {hash_type!r} is not one of {', '.join(HASH_TYPES)}")
        kid = _kid(batch.get("kid"), where)
        entries = batch.get("entries")
        if not isinstance(entries, list):
            raise _invalid(where, "a batch has an entries array")
        held = self._hashes.setdefault((kid, hash_type), set())
        for i, entry in enumerate(entries):
            held.add(_hash(entry, f"{where} entry {i}"))
        self._batches += 1

    def add_json(self, data: bytes | str, where: str = "revocation list") -> None:
        """A batch, an array of batches or ``{"batches": [...]}`` as JSON text."""
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise _invalid(where, f"not JSON: {exc}") from exc
        if isinstance(doc, Mapping) and "batches" in doc:
            doc = doc["batches"]
        batches = doc if isinstance(doc, list) else [doc]
        for i, batch in enumerate(batches):
            self.add_batch(batch, f"{where} batch {i}" if isinstance(doc, list) else where)

    @classmethod
    def load(cls, paths: Iterable[str | Path]) -> DccRevocationList:
        """The batches of every file (a folder: every ``*.json`` in it)."""
        out = cls()
        for path in map(Path, paths):
            for file in sorted(path.glob("*.json")) if path.is_dir() else [path]:
                out.add_json(file.read_bytes(), str(file))
        return out

    def revoked(self, kid: bytes, hashes: Mapping[str, bytes]) -> str | None:
        """The hash type under which a certificate of signer ``kid`` is revoked, or None."""
        for hash_type, value in hashes.items():
            for scope in (kid, None):
                if value in self._hashes.get((scope, hash_type), ()):
                    return hash_type
        return None


@stage(Stage.REVOCATION)
def check_revocation(
    revocation: DccRevocationList | None,
    *,
    kid: bytes,
    payload: Mapping[str, Any],
    country: str | None,
    signature: bytes,
    alg: int | None,
) -> None:
    """Raises ``DCC_REVOKED`` when a hash of the certificate is held for its signer."""
    if revocation is None or not len(revocation):
        return
    kind = dcc_kind(payload)
    entries = payload.get(kind) if kind else None
    entry = entries[0] if isinstance(entries, list) and entries else {}
    uci = entry.get("ci") if isinstance(entry, Mapping) else None
    hashes = hashes_of(
        uci=uci if isinstance(uci, str) else None, country=country, signature=signature, alg=alg
    )
    hash_type = revocation.revoked(kid, hashes)
    if hash_type is not None:
        raise VerificationFailed(
            ErrorCode.DCC_REVOKED,
            f"the certificate is revoked: its {hash_type} hash "
            f"{hashes[hash_type].hex()} is on a revocation list",
            hash_type=hash_type,
        )


def _invalid(where: str, why: str) -> TrustError:
    return TrustError(ErrorCode.DCC_REVOCATION_LIST_INVALID, f"{where}: {why}")


def _b64(text: Any, what: str, where: str) -> bytes:
    if not isinstance(text, str):
        raise _invalid(where, f"{what} is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:  # the distribution service writes kids base64url
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError) as exc:
            raise _invalid(where, f"{what} is not base64") from exc


def _kid(value: Any, where: str) -> bytes | None:
    if value is None or value == "":
        return None
    kid = _b64(value, "kid", where)
    if len(kid) != 8:
        raise _invalid(where, f"kid is {len(kid)} bytes, not the 8 of a DSC kid")
    return kid


def _hash(entry: Any, where: str) -> bytes:
    """One entry's hash, cut to 128 bits (a longer SHA-256 prefix is accepted)."""
    value = entry.get("hash") if isinstance(entry, Mapping) else entry
    raw = _b64(value, "hash", where)
    if not HASH_BYTES <= len(raw) <= 32:
        raise _invalid(where, f"hash is {len(raw)} bytes; 16 (128 bits of SHA-256) expected")
    return raw[:HASH_BYTES]
