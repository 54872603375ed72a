"""Base45 (RFC 9285), strict: the plain reference implementation, as the RFC describes it.

>>> b45encode(b"ietf!")
'QED8WEX0'
>>> b45decode("QED8WEX0")
b'ietf!'

Two bytes ``a, b`` become three characters ``c, d, e`` with ``256 a + b = c + 45 d + 2025 e``;
a last single byte becomes two characters. Decoding is strict: a character outside the
alphabet, a dangling character, or a group above 65535 (255 for a last pair) is an error.

The verifier decodes with :mod:`healthcode.core.codes.base45_fast`, which gives the same bytes
and the same errors (a property test keeps the two equal) several times faster: Base45 is a
large part of a native verification (``bench/native_bench.py`` measures both).

Raises :class:`healthcode.core.errors.VerificationFailed` (``BASE45_INVALID``, stage
``"base45"``) on any malformed input.
"""

from __future__ import annotations

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed

__all__ = ["ALPHABET", "b45decode", "b45encode"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}


def _fail(message: str) -> VerificationFailed:
    return VerificationFailed(ErrorCode.BASE45_INVALID, message)


def b45encode(data: bytes) -> str:
    """Encode bytes as Base45 text."""
    out = []
    for i in range(0, len(data) - 1, 2):
        e, rest = divmod(data[i] * 256 + data[i + 1], 2025)
        d, c = divmod(rest, 45)
        out.append(ALPHABET[c] + ALPHABET[d] + ALPHABET[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out.append(ALPHABET[c] + ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode Base45 text; raises VerificationFailed ``BASE45_INVALID`` when it is malformed."""
    if not isinstance(text, str):
        raise _fail("Base45 input must be text")
    for ch in text:
        if ch not in _VALUE:
            raise _fail(f"invalid Base45 character {ch!r}")
    if len(text) % 3 == 1:
        raise _fail("dangling Base45 character at the end")
    out = bytearray()
    for i in range(0, len(text) - 2, 3):
        value = _VALUE[text[i]] + 45 * _VALUE[text[i + 1]] + 2025 * _VALUE[text[i + 2]]
        if value > 0xFFFF:
            raise _fail(f"Base45 triple at {i} is {value}, more than 65535")
        out += value.to_bytes(2, "big")
    if len(text) % 3 == 2:
        value = _VALUE[text[-2]] + 45 * _VALUE[text[-1]]
        if value > 0xFF:
            raise _fail(f"Base45 pair at the end is {value}, more than 255")
        out.append(value)
    return bytes(out)
