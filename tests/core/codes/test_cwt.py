"""CWT claims: decoding, the HCERT claim, and times against an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthcode.core.codes.cwt import (
    EXP,
    HCERT,
    IAT,
    ISS,
    NBF,
    check_times,
    decode_claims,
    encode_claims,
    hcert_payload,
)
from healthcode.core.errors import VerificationFailed

T0 = 1_620_000_000
SKEW = timedelta(minutes=5)


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_round_trip_and_hcert() -> None:
    raw = encode_claims({ISS: "AT", IAT: T0, EXP: T0 + 100, HCERT: {1: {"ver": "1.3.0"}}})
    claims = decode_claims(raw)
    assert claims[ISS] == "AT"
    assert hcert_payload(claims) == {"ver": "1.3.0"}


def test_times_inside_window() -> None:
    issued, expires = check_times({IAT: T0, EXP: T0 + 100}, at(T0 + 50), skew=SKEW)
    assert issued == datetime.fromtimestamp(T0, UTC)
    assert expires == datetime.fromtimestamp(T0 + 100, UTC)


@pytest.mark.parametrize(
    ("claims", "now", "code"),
    [
        ({IAT: T0, EXP: T0 + 100}, T0 + 100 + 301, "CWT_EXPIRED"),
        ({IAT: T0, EXP: T0 + 100}, T0 - 301, "CWT_NOT_YET_VALID"),
        ({NBF: T0}, T0 - 301, "CWT_NOT_YET_VALID"),
        ({EXP: "soon"}, T0, "CWT_MALFORMED"),
        ({EXP: True}, T0, "CWT_MALFORMED"),
        ({EXP: float("nan")}, T0, "CWT_MALFORMED"),
        ({EXP: 10**30}, T0, "CWT_MALFORMED"),
    ],
)
def test_time_failures(claims: dict[int, object], now: int, code: str) -> None:
    with pytest.raises(VerificationFailed) as err:
        check_times(claims, at(now), skew=SKEW)
    assert (err.value.code, err.value.stage) == (code, "claims")


def test_skew_tolerates_small_drift() -> None:
    check_times({IAT: T0 + 200, EXP: T0 + 1000}, at(T0), skew=SKEW)
    check_times({IAT: T0, EXP: T0 + 100}, at(T0 + 350), skew=SKEW)


@pytest.mark.parametrize("raw", [b"", b"\x01", cbor2.dumps([1]), cbor2.dumps({1: 2}) + b"\x00"])
def test_malformed_claims(raw: bytes) -> None:
    with pytest.raises(VerificationFailed) as err:
        decode_claims(raw)
    assert err.value.code == "CWT_MALFORMED"


def test_missing_hcert() -> None:
    with pytest.raises(VerificationFailed) as err:
        hcert_payload({ISS: "AT"})
    assert err.value.code == "CWT_MALFORMED"


@given(st.binary(max_size=200))
def test_arbitrary_bytes_only_typed_errors(raw: bytes) -> None:
    try:
        claims = decode_claims(raw)
        check_times(claims, at(T0), skew=SKEW)
        hcert_payload(claims)
    except VerificationFailed:
        pass
