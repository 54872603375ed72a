"""SMART Health Cards text: the numeric ``shc:/`` form (single or chunked) and the compact JWS.

>>> encode_numeric("eyJ")
'shc:/567629'
>>> decode_numeric("shc:/567629")
'eyJ'
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import VerificationFailed

__all__ = [
    "MAX_CHUNKS",
    "PREFIX",
    "Jws",
    "b64url_decode",
    "decode_jws",
    "decode_numeric",
    "encode_numeric",
    "parse_json_object",
]

PREFIX = "shc:/"
#: The deprecated chunked form allows at most a handful of QR codes (the spec's examples use 3).
MAX_CHUNKS = 16


def _fail(code: ErrorCode, message: str, stage: Stage | None = None) -> VerificationFailed:
    # Only ALG_UNSUPPORTED and KID_MISSING name their stage here: the catalogue puts them at
    # COSE, and a JWS raises them at its own stage; the others take the catalogue's.
    return VerificationFailed(code, message, stage=stage)


def encode_numeric(jws: str) -> str:
    """The single-QR numeric form of a compact JWS."""
    return PREFIX + "".join(f"{ord(ch) - 45:02d}" for ch in jws)


def _digits_to_text(digits: str) -> str:
    if len(digits) % 2 or not digits.isascii() or not digits.isdigit():
        raise _fail(ErrorCode.SHC_NUMERIC_INVALID, "not an even run of digits")
    out = []
    for i in range(0, len(digits), 2):
        value = int(digits[i : i + 2])
        if value > 77:  # "z" - 45: the highest character of base64url and "."
            raise _fail(ErrorCode.SHC_NUMERIC_INVALID, f"digit pair {value} is above 77")
        out.append(chr(value + 45))
    return "".join(out)


def _is_count(field: str) -> bool:
    """A chunk index or count: a few ASCII digits (``int`` refuses thousands of them)."""
    return 0 < len(field) <= 3 and field.isascii() and field.isdigit()


def decode_numeric(text: str) -> str:
    """The compact JWS in a ``shc:/`` text: one numeric text, or all chunks of the chunked form.

    Chunks (``shc:/1/3/...``) may come in any order, separated by whitespace.
    """
    parts = text.split()
    if not parts or not all(p.startswith(PREFIX) for p in parts):
        raise _fail(ErrorCode.SHC_NUMERIC_INVALID, "every part must start with shc:/")
    bodies = [p[len(PREFIX) :] for p in parts]
    if len(bodies) == 1 and "/" not in bodies[0]:
        return _digits_to_text(bodies[0])
    chunks: dict[int, str] = {}
    total = None
    for body in bodies:
        fields = body.split("/")
        if len(fields) != 3 or not all(_is_count(f) for f in fields[:2]):
            raise _fail(ErrorCode.SHC_NUMERIC_INVALID, "a chunk must be shc:/i/n/digits")
        index, count = int(fields[0]), int(fields[1])
        if not 1 <= index <= count <= MAX_CHUNKS or (total is not None and count != total):
            raise _fail(
                ErrorCode.SHC_NUMERIC_INVALID,
                f"chunk {index} of {count} is out of range",
            )
        total = count
        if index in chunks:
            raise _fail(ErrorCode.SHC_NUMERIC_INVALID, f"chunk {index} appears twice")
        chunks[index] = fields[2]
    assert total is not None
    if len(chunks) != total:
        missing = sorted(set(range(1, total + 1)) - set(chunks))
        raise _fail(ErrorCode.SHC_CHUNK_MISSING, f"chunks {missing} of {total} are missing")
    return "".join(_digits_to_text(chunks[i]) for i in range(1, total + 1))


def b64url_decode(text: str, what: str) -> bytes:
    """Unpadded base64url (RFC 7515) to bytes; raises ``JWS_MALFORMED`` naming ``what``.

    Only the canonical form is taken: a last character whose unused bits are set would decode
    to the same bytes as another text (one card, several texts).
    """
    if not text.isascii() or "=" in text:
        raise _fail(ErrorCode.JWS_MALFORMED, f"{what} is not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise _fail(ErrorCode.JWS_MALFORMED, f"{what} is not base64url") from exc
    if base64.urlsafe_b64encode(data).rstrip(b"=") != text.encode("ascii"):
        raise _fail(ErrorCode.JWS_MALFORMED, f"{what} is not canonical base64url")
    return data


def parse_json_object(raw: bytes, what: str) -> dict[str, Any]:
    """JSON bytes that must be one object of valid Unicode; raises ``JWS_MALFORMED`` (jws).

    JSON allows ``"\\ud800"``, a lone surrogate that no UTF-8 text can hold: such a string would
    break whatever prints or stores it later, so it is refused here, as is nesting deeper than
    the decoder's recursion limit (``[`` repeated a thousand times).
    """
    try:
        value = json.loads(raw)
    except RecursionError as exc:  # the decoder recurses once per level of nesting
        raise _fail(ErrorCode.JWS_MALFORMED, f"{what} nests too deep") from exc
    except ValueError as exc:  # not JSON, or not UTF-8
        raise _fail(ErrorCode.JWS_MALFORMED, f"{what} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _fail(ErrorCode.JWS_MALFORMED, f"{what} is not a JSON object")
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError) as exc:
        raise _fail(
            ErrorCode.JWS_MALFORMED, f"{what} holds text that is not valid Unicode"
        ) from exc
    return value


@dataclass(frozen=True, slots=True)
class Jws:
    """A decoded compact JWS (payload still compressed)."""

    header: dict[str, Any]
    signing_input: bytes
    payload: bytes
    signature: bytes

    @property
    def kid(self) -> str:
        return str(self.header.get("kid", ""))


def decode_jws(compact: str) -> Jws:
    """Split and decode a compact JWS; raises ``JWS_MALFORMED`` (jws)."""
    parts = compact.split(".")
    if len(parts) != 3:
        raise _fail(ErrorCode.JWS_MALFORMED, "a compact JWS has three parts")
    header = parse_json_object(b64url_decode(parts[0], "header"), "the header")
    if header.get("alg") != "ES256":
        raise _fail(ErrorCode.ALG_UNSUPPORTED, f"alg {header.get('alg')!r} is not ES256", Stage.JWS)
    if header.get("zip") != "DEF":
        raise _fail(ErrorCode.JWS_MALFORMED, "SMART Health Cards are compressed (zip DEF)")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise _fail(ErrorCode.KID_MISSING, "the header has no kid", Stage.JWS)
    payload = b64url_decode(parts[1], "payload")  # checks that it is ASCII, before encoding
    return Jws(
        header=header,
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        payload=payload,
        signature=b64url_decode(parts[2], "signature"),
    )
