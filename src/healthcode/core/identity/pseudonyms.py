"""Keyed pseudonyms of identity documents: HMAC-SHA256 over an unambiguous encoding."""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import Unpack

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import InvalidInput
from healthcode.core.identity.documents import CheckOptions, ValidId, check_id
from healthcode.core.identity.kinds import IdType

__all__ = ["MIN_KEY_BYTES", "KeyedHmac", "Pseudonymiser", "pseudonym"]

#: A pseudonym key must have at least this many bytes (256 bits, the HMAC-SHA256 output size).
MIN_KEY_BYTES = 32
_DOMAIN = b"healthcode/pseudonym/v1"


class KeyedHmac:
    """HMAC-SHA256 under one key (the standard library's ``hmac``), for many messages.

    >>> KeyedHmac(b"k" * 32).hexdigest(b"msg") == hmac.new(b"k" * 32, b"msg", "sha256").hexdigest()
    True
    """

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = bytes(key)

    def __repr__(self) -> str:
        return f"KeyedHmac(key=<{len(self._key)} bytes>)"

    def hexdigest(self, message: bytes) -> str:
        """HMAC-SHA256 of ``message`` as 64 lower-case hex digits."""
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def _field(value: str) -> bytes:
    raw = value.encode("utf-8")
    return struct.pack(">I", len(raw)) + raw


class Pseudonymiser:
    """Derives keyed pseudonyms of identity documents; holds the key, never shows it.

    The pseudonym is HMAC-SHA256(key, message), written as 64 lower-case hex digits. The
    message is the domain tag ``healthcode/pseudonym/v1`` followed by three fields, each a
    4-byte big-endian length and its UTF-8 bytes: the :class:`IdType` value, the issuing state
    (foreign passports; empty otherwise) and the number normalised by :func:`validate_id`.
    Length prefixes make the encoding unambiguous, so every service that shares the key
    derives the same pseudonym for the same document, and no two documents share one.

    >>> p = Pseudonymiser(key=bytes(range(32)))
    >>> p.pseudonym(IdType.PASSPORT_CN, "e12345678") == p.pseudonym("passport_cn", "E12345678")
    True
    >>> p
    Pseudonymiser(key=<32 bytes>)

    Raises InvalidInput ``PSEUDONYM_KEY_TOO_SHORT`` (field ``key``) for a key shorter than
    :data:`MIN_KEY_BYTES` bytes, or one that is not bytes.
    """

    __slots__ = ("_hmac", "_key")

    def __init__(self, *, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
            raise InvalidInput(
                ErrorCode.PSEUDONYM_KEY_TOO_SHORT,
                f"a pseudonym key needs at least {MIN_KEY_BYTES} bytes",
                field="key",
            )
        self._key = bytes(key)
        self._hmac = KeyedHmac(self._key)

    def __repr__(self) -> str:
        return f"Pseudonymiser(key=<{len(self._key)} bytes>)"

    def pseudonym(self, id_type: IdType | str, number: str, **options: Unpack[CheckOptions]) -> str:
        """The pseudonym of a document: 64 lower-case hex digits.

        The number is validated first (see :func:`validate_id`), so ``e12345678`` and
        ``E12345678`` give the same pseudonym. Raises InvalidInput as :func:`validate_id`.
        """
        return self.pseudonym_of(check_id(id_type, number, **options))

    def pseudonym_of(self, valid: ValidId) -> str:
        """The pseudonym of a number already checked by :func:`check_id` (no second check).

        >>> p = Pseudonymiser(key=bytes(range(32)))
        >>> p.pseudonym_of(check_id("passport_cn", "e12345678")) == p.pseudonym(
        ...     "passport_cn", "E12345678")
        True
        """
        parts = (valid.id_type.value, valid.state, valid.number)
        return self._hmac.hexdigest(_DOMAIN + b"".join(_field(part) for part in parts))


def pseudonym(
    key: bytes, id_type: IdType | str, number: str, **options: Unpack[CheckOptions]
) -> str:
    """The keyed pseudonym of a document (see :class:`Pseudonymiser` for the exact encoding).

    >>> pseudonym(b"0" * 32, IdType.TAIWAN_PERMIT, "12345678")[:16]
    '722ad499f1d9f3a4'

    Raises InvalidInput ``PSEUDONYM_KEY_TOO_SHORT`` and the codes of :func:`validate_id`.
    """
    return Pseudonymiser(key=key).pseudonym(id_type, number, **options)
