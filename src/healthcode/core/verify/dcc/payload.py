"""The EU DCC payload inside the CWT: decoded to JSON types, its kind, what a result shows.

>>> dcc_kind({"ver": "1.3.0", "v": [{}]})
'v'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from healthcode.core.codes.cose import CoseSign1
from healthcode.core.codes.cwt import decode_claims, hcert_payload
from healthcode.core.error_codes import ErrorCode, Stage
from healthcode.core.errors import VerificationFailed
from healthcode.core.verify.stages import stage

__all__ = ["KINDS", "badges_of", "dcc_kind", "decode_dcc_claims", "subject_of"]

#: The groups of a DCC payload: vaccination, test, recovery (exactly one is present).
KINDS = ("v", "t", "r")


@stage(Stage.CLAIMS)
def decode_dcc_claims(msg: CoseSign1) -> tuple[dict[Any, Any], dict[str, Any]]:
    """The CWT claims and the DCC payload (as JSON types); ``CWT_MALFORMED`` (claims)."""
    claims = decode_claims(msg.payload)
    payload = _jsonable(hcert_payload(claims))
    if not isinstance(payload, dict):
        raise VerificationFailed(ErrorCode.CWT_MALFORMED, "the DCC payload is not a map")
    return claims, payload


def _jsonable(value: Any, depth: int = 0) -> Any:
    """CBOR values as JSON values (dates as ISO text); raises CWT_MALFORMED for the rest."""
    if depth > 32:
        raise VerificationFailed(ErrorCode.CWT_MALFORMED, "the payload nests too deep")
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise VerificationFailed(ErrorCode.CWT_MALFORMED, f"payload key {k!r} is not text")
            out[k] = _jsonable(v, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, datetime):  # CBOR tag 0/1 date-times: RFC 3339 text, UTC as "Z"
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise VerificationFailed(ErrorCode.CWT_MALFORMED, f"payload holds a {type(value).__name__}")


def dcc_kind(payload: Mapping[str, Any]) -> str | None:
    """``"v"``, ``"t"`` or ``"r"``: which group the payload holds (None when not exactly one)."""
    present = [k for k in KINDS if k in payload]
    return present[0] if len(present) == 1 else None


def subject_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    nam = payload.get("nam") if isinstance(payload.get("nam"), Mapping) else {}
    assert isinstance(nam, Mapping)
    return {"family_name": nam.get("fn"), "given_name": nam.get("gn"), "dob": payload.get("dob")}


def badges_of(payload: Mapping[str, Any]) -> tuple[str, ...]:
    kind = dcc_kind(payload)
    entries = payload.get(kind) if kind else None
    entry = entries[0] if isinstance(entries, list) and entries else {}
    if kind == "v" and isinstance(entry, Mapping):
        return (f"vaccination {entry.get('dn')}/{entry.get('sd')}",)
    if kind == "t":
        return ("test",)
    if kind == "r":
        return ("recovery",)
    return ()
