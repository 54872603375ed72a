"""Base45 (RFC 9285), strict.

Hand-written rather than taken from the ``base45`` package: it is 40 lines, and the verifier
needs it strict (every invalid character, dangling character and out-of-range triple is an
error with a stable code) and fast (a lookup table, no regular expressions).

>>> b45encode(b"ietf!")
'QED8WEX0'
>>> b45decode("QED8WEX0")
b'ietf!'

Raises :class:`healthcode.core.errors.VerificationFailed` (``BASE45_INVALID``, stage
``"base45"``) on any malformed input.
"""

from __future__ import annotations

from healthcode.core.errors import VerificationFailed

__all__ = ["ALPHABET", "b45decode", "b45encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_STAGE = "base45"


def b45encode(data: bytes) -> str:
    """Encode bytes as Base45 text."""
    out: list[str] = []
    append = out.append
    n = len(data)
    for i in range(0, n - 1, 2):
        value = (data[i] << 8) | data[i + 1]
        value, c = divmod(value, 45)
        e, d = divmod(value, 45)
        append(ALPHABET[c] + ALPHABET[d] + ALPHABET[e])
    if n % 2:
        d, c = divmod(data[-1], 45)
        append(ALPHABET[c] + ALPHABET[d])
    return "".join(out)


def _fail(message: str) -> VerificationFailed:
    return VerificationFailed("BASE45_INVALID", message, stage=_STAGE)


def b45decode(text: str) -> bytes:
    """Decode Base45 text; raises VerificationFailed ``BASE45_INVALID`` when it is malformed."""
    if not isinstance(text, str):
        raise _fail("Base45 input must be text")
    try:
        values = [_VALUE[ch] for ch in text]
    except KeyError as exc:
        raise _fail(f"invalid Base45 character {exc.args[0]!r}") from None
    n = len(values)
    if n % 3 == 1:
        raise _fail("dangling Base45 character at the end")
    out = bytearray()
    for i in range(0, n - 2, 3):
        value = values[i] + values[i + 1] * 45 + values[i + 2] * 2025
        if value > 0xFFFF:
            raise _fail(f"Base45 triple at {i} is {value}, more than 65535")
        out += value.to_bytes(2, "big")
    if n % 3 == 2:
        value = values[-2] + values[-1] * 45
        if value > 0xFF:
            raise _fail(f"Base45 pair at the end is {value}, more than 255")
        out.append(value)
    return bytes(out)
