"""Small verifier stages shared by every format: prefix, Base45, zlib, COSE, signature.

Each stage takes the previous layer and returns the next one, or raises
:class:`healthcode.core.errors.VerificationFailed` with a stable code and its stage name.

>>> from healthcode.core.codes.base45 import b45encode
>>> import zlib
>>> text = "CN1:" + b45encode(zlib.compress(b"cose bytes"))
>>> inflate(decode_base45(strip_prefix(text, "CN1:")))
b'cose bytes'
"""

from __future__ import annotations

import zlib
from datetime import datetime

from healthcode.core.codes.base45 import b45decode
from healthcode.core.codes.cose import (
    ALG_ES256,
    ALG_PS256,
    CoseSign1,
    sign1_decode,
    verify_signature,
)
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed
from healthcode.core.verify.keys import KeyStore, TrustedKey
from healthcode.core.verify.result import Stage

__all__ = [
    "MAX_INFLATED_BYTES",
    "check_key_validity",
    "check_signature",
    "decode_base45",
    "decode_cose",
    "inflate",
    "strip_prefix",
]

#: A QR code carries under 3 KiB; inflating more than this is a zip bomb, not a credential.
MAX_INFLATED_BYTES = 64 * 1024


def strip_prefix(text: str, prefix: str) -> str:
    """The text after ``prefix``; raises ``PREFIX_INVALID`` (stage prefix) when it is absent."""
    if not isinstance(text, str) or not text.startswith(prefix):
        raise VerificationFailed(
            ErrorCode.PREFIX_INVALID, f"the text does not start with {prefix!r}", stage=Stage.PREFIX
        )
    return text[len(prefix) :]


def decode_base45(text: str) -> bytes:
    """Base45 text to bytes; raises ``BASE45_INVALID`` (stage base45)."""
    return b45decode(text)


def inflate(data: bytes, *, max_size: int = MAX_INFLATED_BYTES) -> bytes:
    """Inflate zlib data (RFC 1950); raises ``DECOMPRESS_FAILED`` (stage decompress).

    The data must be complete zlib with nothing after it, and inflate to at most ``max_size``.
    """
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, max_size)
    except zlib.error as exc:
        raise VerificationFailed(
            ErrorCode.DECOMPRESS_FAILED, f"not valid zlib data: {exc}", stage=Stage.DECOMPRESS
        ) from exc
    if inflater.unconsumed_tail:
        raise VerificationFailed(
            ErrorCode.DECOMPRESS_FAILED,
            f"inflates to more than {max_size} bytes",
            stage=Stage.DECOMPRESS,
        )
    if not inflater.eof:
        raise VerificationFailed(
            ErrorCode.DECOMPRESS_FAILED, "zlib stream is truncated", stage=Stage.DECOMPRESS
        )
    if inflater.unused_data:
        raise VerificationFailed(
            ErrorCode.DECOMPRESS_FAILED,
            "bytes after the end of the zlib stream",
            stage=Stage.DECOMPRESS,
        )
    return out


def decode_cose(data: bytes) -> CoseSign1:
    """COSE_Sign1 bytes to a message; raises ``COSE_MALFORMED`` (stage cose)."""
    return sign1_decode(data)


def check_signature(msg: CoseSign1, keys: KeyStore) -> TrustedKey:
    """Find the signer: try every trusted key that shares the message's kid.

    Returns the key that verifies. Raises ``KID_MISSING`` / ``ALG_UNSUPPORTED`` (stage cose),
    ``KEY_NOT_IN_TRUST_LIST``, ``KEY_REVOKED`` or ``SIGNATURE_INVALID`` (stage signature).
    """
    if msg.kid is None or msg.kid == b"":
        raise VerificationFailed(
            ErrorCode.KID_MISSING, "the message carries no kid", stage=Stage.COSE
        )
    if msg.alg not in (ALG_ES256, ALG_PS256):
        raise VerificationFailed(
            ErrorCode.ALG_UNSUPPORTED, f"alg {msg.alg} is not ES256 or PS256", stage=Stage.COSE
        )
    candidates = keys.keys_for_kid(msg.kid)
    if not candidates:
        raise VerificationFailed(
            ErrorCode.KEY_NOT_IN_TRUST_LIST,
            f"no trusted key has kid {msg.kid.hex()}",
            stage=Stage.SIGNATURE,
            kid=msg.kid.hex(),
        )
    last: VerificationFailed | None = None
    revoked = 0
    for key in candidates:
        if key.revoked:
            revoked += 1
            continue
        try:
            verify_signature(msg, key.public_key)
        except VerificationFailed as exc:
            last = exc
            continue
        return key
    if revoked == len(candidates):
        raise VerificationFailed(
            ErrorCode.KEY_REVOKED,
            f"the key with kid {msg.kid.hex()} is revoked",
            stage=Stage.SIGNATURE,
        )
    assert last is not None
    raise last


def check_key_validity(key: TrustedKey, instant: datetime) -> None:
    """The signer's key must be valid at ``instant``.

    Raises ``KEY_EXPIRED`` or ``KEY_NOT_YET_VALID`` (stage signature).
    """
    if key.not_before is not None and instant < key.not_before:
        raise VerificationFailed(
            ErrorCode.KEY_NOT_YET_VALID,
            f"the signer is valid from {key.not_before.isoformat()}",
            stage=Stage.SIGNATURE,
        )
    if key.not_after is not None and instant > key.not_after:
        raise VerificationFailed(
            ErrorCode.KEY_EXPIRED,
            f"the signer expired at {key.not_after.isoformat()}",
            stage=Stage.SIGNATURE,
        )
