"""CBOR Web Token claims (RFC 8392) and the HCERT claim, with time checks at a given instant.

>>> from datetime import datetime, timezone
>>> raw = encode_claims({ISS: "CN", IAT: 1_700_000_000, EXP: 1_700_086_400})
>>> claims = decode_claims(raw)
>>> now = datetime(2023, 11, 15, tzinfo=timezone.utc)  # what the verifier's clock said
>>> check_times(claims, now, skew=timedelta(minutes=5))[1].isoformat()
'2023-11-15T22:13:20+00:00'

Raises :class:`healthcode.core.errors.VerificationFailed` at stage ``"claims"``:
``CWT_MALFORMED``, ``CWT_EXPIRED``, ``CWT_NOT_YET_VALID``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import cbor2

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import VerificationFailed

__all__ = [
    "CTI",
    "EXP",
    "HCERT",
    "HCERT_DGC",
    "IAT",
    "ISS",
    "NBF",
    "SUB",
    "check_times",
    "decode_claims",
    "encode_claims",
    "hcert_payload",
    "to_instant",
]

ISS = 1
SUB = 2
EXP = 4
NBF = 5
IAT = 6
CTI = 7
HCERT = -260  # HCERT 1.3, section 3.3.3: the health certificate claim
HCERT_DGC = 1  # inside HCERT: the EU DCC payload


def _fail(code: ErrorCode, message: str) -> VerificationFailed:
    return VerificationFailed(code, message)


def encode_claims(claims: Mapping[int, Any]) -> bytes:
    """The CBOR form of a claims map (integer keys)."""
    return cbor2.dumps(dict(claims))


def decode_claims(payload: bytes) -> dict[Any, Any]:
    """Decode a CWT claims map; raises ``CWT_MALFORMED`` when it is not one CBOR map."""
    stream = BytesIO(payload)
    try:
        claims = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # cbor2 raises several kinds on hostile input
        raise _fail(ErrorCode.CWT_MALFORMED, f"claims are not valid CBOR: {exc}") from exc
    if stream.tell() != len(payload):
        raise _fail(ErrorCode.CWT_MALFORMED, "trailing bytes after the claims map")
    if type(claims) is dict:  # what cbor2 returns for a map; nobody else holds it
        return claims
    if not isinstance(claims, Mapping):
        raise _fail(ErrorCode.CWT_MALFORMED, f"claims must be a map, not {type(claims).__name__}")
    return dict(claims)


def to_instant(claims: Mapping[Any, Any], key: int) -> datetime | None:
    """A NumericDate claim as an aware datetime, None when absent; ``CWT_MALFORMED`` if bad."""
    value = claims.get(key)
    if value is None:
        return None
    if type(value) is not int:  # the usual case skips these checks; bool is not int here
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(ErrorCode.CWT_MALFORMED, f"claim {key} must be a NumericDate")
        if not math.isfinite(value):
            raise _fail(ErrorCode.CWT_MALFORMED, f"claim {key} is not a finite number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise _fail(ErrorCode.CWT_MALFORMED, f"claim {key} is out of range") from exc


def check_times(
    claims: Mapping[Any, Any], now: datetime, *, skew: timedelta
) -> tuple[datetime | None, datetime | None]:
    """Check ``iat``, ``nbf`` and ``exp`` at ``now`` with ``skew`` tolerance.

    ``now`` is the one instant the verifier's clock gave for this whole verification.
    Returns ``(issued_at, expires_at)``. Raises ``CWT_NOT_YET_VALID`` when ``iat`` or ``nbf`` is
    later than now + skew, ``CWT_EXPIRED`` when ``exp`` is earlier than now - skew.
    """
    issued_at = to_instant(claims, IAT)
    not_before = to_instant(claims, NBF)
    expires_at = to_instant(claims, EXP)
    if issued_at is not None and issued_at > now + skew:
        raise _fail(
            ErrorCode.CWT_NOT_YET_VALID, f"issued at {issued_at.isoformat()}, in the future"
        )
    if not_before is not None and not_before > now + skew:
        raise _fail(ErrorCode.CWT_NOT_YET_VALID, f"not valid before {not_before.isoformat()}")
    if expires_at is not None and expires_at < now - skew:
        raise _fail(ErrorCode.CWT_EXPIRED, f"expired at {expires_at.isoformat()}")
    return issued_at, expires_at


def hcert_payload(claims: Mapping[Any, Any]) -> Any:
    """The EU DCC payload at ``claims[-260][1]``; raises ``CWT_MALFORMED`` when missing."""
    hcert = claims.get(HCERT)
    if not isinstance(hcert, Mapping) or HCERT_DGC not in hcert:
        raise _fail(ErrorCode.CWT_MALFORMED, "claim -260 (hcert) with key 1 (eu_dgc_v1) is missing")
    return hcert[HCERT_DGC]
