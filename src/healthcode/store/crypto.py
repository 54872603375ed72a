"""Field encryption at rest: AES-256-GCM with a key from configuration.

Each value gets a fresh 96-bit nonce; the stored form is ``version || nonce || ciphertext+tag``.
The associated data binds a ciphertext to its column and row
(``"identities.name_enc|<pseudonym>"``),
so a value copied to another row or column does not decrypt.

>>> c = FieldCipher(key=bytes(32))
>>> blob = c.encrypt("张三", context="identities.name_enc|p1")
>>> c.decrypt(blob, context="identities.name_enc|p1")
'张三'
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError

__all__ = ["FieldCipher"]

_VERSION = b"\x01"
_NONCE = 12


class FieldCipher:
    """Encrypt and decrypt one text field; ``key`` is 32 bytes."""

    def __init__(self, *, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the field key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def encrypt(self, text: str, *, context: str) -> bytes:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, text.encode("utf-8"), context.encode("utf-8"))
        return _VERSION + nonce + sealed

    def encrypt_many(self, fields: Sequence[tuple[str, str]]) -> list[bytes]:
        """``encrypt(text, context=context)`` of each ``(text, context)``, the nonces drawn
        from the system's generator in one call for all of them (a call each costs a system
        call; a batch has thousands of fields)."""
        nonces = os.urandom(_NONCE * len(fields))
        seal = self._aead.encrypt
        out = []
        for i, (text, context) in enumerate(fields):
            nonce = nonces[i * _NONCE : (i + 1) * _NONCE]
            out.append(
                _VERSION + nonce + seal(nonce, text.encode("utf-8"), context.encode("utf-8"))
            )
        return out

    def decrypt(self, blob: bytes, *, context: str) -> str:
        """Raises TrustError FIELD_DECRYPT_FAILED if the blob, key or context is wrong."""
        if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
            raise TrustError(
                ErrorCode.FIELD_DECRYPT_FAILED, "not an encrypted field of a known version"
            )
        nonce, sealed = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        try:
            plain = self._aead.decrypt(nonce, sealed, context.encode("utf-8"))
        except InvalidTag as exc:
            raise TrustError(ErrorCode.FIELD_DECRYPT_FAILED, "wrong key or context") from exc
        return plain.decode("utf-8")
