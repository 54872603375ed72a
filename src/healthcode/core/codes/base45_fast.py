"""Base45 (RFC 9285), strict and fast: the verifier's decoder and the issuer's encoder.

The same function as the plain reference :mod:`healthcode.core.codes.base45` (same bytes, same
errors; ``tests/core/codes/test_base45.py`` keeps the two equal), kept because Base45 sits on
the hot path of every verification and this form saves well over 10% of a native verification
(``bench/native_bench.py`` measures both; figures in ``docs/benchmarks.md``). Not taken from the
``base45`` package: the verifier needs it strict (every invalid character, dangling character and
out-of-range triple is an error with a stable code).

>>> b45encode(b"ietf!")
'QED8WEX0'
>>> b45decode("QED8WEX0")
b'ietf!'

How it is fast without a C extension: no Python loop runs per character. Decoding maps the
text to character values with one ``bytes.translate``, reads them as one big integer whose
3-byte *lanes* are the 3-character groups, and computes every group's value ``c + 45 d +
2025 e`` at once with masks, shifts and multiplications of that integer (a lane holds at most
91,124, so no lane carries into the next). Encoding does the same in 8-byte lanes, dividing
every lane by 45 and 2025 at once with exact multiply-and-shift constants (valid for every
value below 65,536; the tests check all of them). Strided slice assignment spreads and gathers
the bytes.

Raises :class:`healthcode.core.errors.VerificationFailed` (``BASE45_INVALID``, stage
``"base45"``) on any malformed input.
"""

from __future__ import annotations

from healthcode.core.codes.base45 import ALPHABET
from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed

__all__ = ["b45decode", "b45encode"]

_INVALID = 0xFF
#: Byte -> character value (0-44), or _INVALID for a byte outside the alphabet.
_VALUES = bytes(ALPHABET.find(chr(b)) if chr(b) in ALPHABET else _INVALID for b in range(256))
#: Character value -> its ASCII byte.
_CHARS = ALPHABET.encode("ascii").ljust(256, b"\0")
# floor(v / 45) == (v * _DIV45) >> 22 and floor(v / 2025) == (v * _DIV2025) >> 27 for every
# 0 <= v < 65536 (the rounding errors 11 / 2**22 and 1297 / 2**27 stay below one step).
_DIV45, _SHIFT45 = 93_207, 22
_DIV2025, _SHIFT2025 = 66_281, 27


def b45encode(data: bytes) -> str:
    """Encode bytes as Base45 text."""
    n = len(data)
    pairs = n // 2
    # One 8-byte big-endian lane per 2-byte pair, holding its value v.
    spread = bytearray(8 * pairs)
    spread[6::8] = data[0 : 2 * pairs : 2]
    spread[7::8] = data[1 : 2 * pairs : 2]
    v = int.from_bytes(spread, "big")
    lane_mask = int.from_bytes(b"\0\0\0\0\0\0\xff\xff" * pairs, "big")
    q = (v * _DIV45 >> _SHIFT45) & lane_mask  # v // 45 in every lane
    e = (v * _DIV2025 >> _SHIFT2025) & lane_mask  # v // 2025
    c = v - 45 * q  # v % 45; no lane borrows, each lane is >= 0
    d = q - 45 * e  # (v // 45) % 45
    lanes = ((c << 16) | (d << 8) | e).to_bytes(8 * pairs, "big")
    out = bytearray(3 * pairs + 2 * (n % 2))
    out[0 : 3 * pairs : 3] = lanes[5::8]
    out[1 : 3 * pairs : 3] = lanes[6::8]
    out[2 : 3 * pairs : 3] = lanes[7::8]
    if n % 2:
        out[-1], out[-2] = divmod(data[-1], 45)
    return out.translate(_CHARS).decode("ascii")


def _fail(message: str) -> VerificationFailed:
    return VerificationFailed(ErrorCode.BASE45_INVALID, message)


def _first_invalid(text: str) -> str:
    return next(ch for ch in text if ch not in ALPHABET)


def b45decode(text: str) -> bytes:
    """Decode Base45 text; raises VerificationFailed ``BASE45_INVALID`` when it is malformed."""
    if not isinstance(text, str):
        raise _fail("Base45 input must be text")
    try:
        values = text.encode("ascii").translate(_VALUES)
    except UnicodeEncodeError:
        raise _fail(f"invalid Base45 character {_first_invalid(text)!r}") from None
    if _INVALID in values:
        raise _fail(f"invalid Base45 character {_first_invalid(text)!r}")
    n = len(values)
    if n % 3 == 1:
        raise _fail("dangling Base45 character at the end")
    groups = n // 3
    # One 3-byte little-endian lane per group: c + 256 d + 65536 e.
    x = int.from_bytes(values[: 3 * groups], "little")
    low = int.from_bytes(b"\xff\0\0" * groups, "little")
    total = (x & low) + 45 * ((x >> 8) & low) + 2025 * ((x >> 16) & low)
    lanes = total.to_bytes(3 * groups, "little")  # each lane: low byte, high byte, overflow
    overflow = lanes[2::3]
    if overflow.strip(b"\0"):
        i = 3 * (len(overflow) - len(overflow.lstrip(b"\0")))
        value = int.from_bytes(lanes[i : i + 3], "little")
        raise _fail(f"Base45 triple at {i} is {value}, more than 65535")
    out = bytearray(2 * groups + n % 3 // 2)
    out[0 : 2 * groups : 2] = lanes[1::3]
    out[1 : 2 * groups : 2] = lanes[0::3]
    if n % 3 == 2:
        value = values[-2] + values[-1] * 45
        if value > 0xFF:
            raise _fail(f"Base45 pair at the end is {value}, more than 255")
        out[-1] = value
    return bytes(out)
