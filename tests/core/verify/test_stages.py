"""Shared stages: prefix, zlib, signature lookup trying every key with a kid."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from healthcode.core.codes.cose import SIGN1_STARTS, sign1_encode
from healthcode.core.errors import VerificationFailed
from healthcode.core.keys import StaticKeyStore, TrustedKey
from healthcode.core.verify.stages import (
    MAX_INFLATED_BYTES,
    check_key_validity,
    check_signature,
    decode_cose,
    inflate,
    strip_prefix,
)


def test_prefix() -> None:
    assert strip_prefix("HC1:ABC", "HC1:") == "ABC"
    with pytest.raises(VerificationFailed) as err:
        strip_prefix("HC2:ABC", "HC1:")
    assert (err.value.code, err.value.stage) == ("PREFIX_INVALID", "prefix")


@pytest.mark.parametrize(
    "data",
    [
        b"not zlib",
        zlib.compress(b"x" * 100)[:-3],  # truncated
        zlib.compress(b"abc") + b"extra",
        zlib.compress(b"\x00" * (MAX_INFLATED_BYTES + 1)),  # too large once inflated
    ],
)
def test_inflate_refuses(data: bytes) -> None:
    for optional in (False, True):
        with pytest.raises(VerificationFailed) as err:
            inflate(data, optional=optional)
        assert (err.value.code, err.value.stage) == ("DECOMPRESS_FAILED", "decompress")


@pytest.mark.parametrize("options", [{}, {"tag": False}, {"cwt_tag": True}])
def test_optional_zlib_passes_a_cose_sign1_as_it_is(options: dict[str, bool]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cose = sign1_encode(b"p", private_key=key, kid=b"k", **options)
    assert cose.startswith(SIGN1_STARTS)
    assert inflate(cose, optional=True) == cose == inflate(zlib.compress(cose), optional=True)
    with pytest.raises(VerificationFailed) as err:
        inflate(cose)  # strict unless optional (EU DCC)
    assert err.value.code == "DECOMPRESS_FAILED"
    with pytest.raises(VerificationFailed) as err:
        inflate(cose, optional=True, max_size=len(cose) - 1)
    assert err.value.code == "DECOMPRESS_FAILED"


def test_no_zlib_stream_starts_as_a_cose_sign1() -> None:
    # RFC 1950: CM (the low nibble) is 8 and CINFO (the high nibble) at most 7.
    zlib_firsts = {cmf for cmf in range(256) if cmf & 0x0F == 8 and cmf >> 4 <= 7}
    assert not any(start[0] in zlib_firsts for start in SIGN1_STARTS)
    for level in range(10):
        assert not zlib.compress(b"\xd2\x84", level).startswith(SIGN1_STARTS)


@given(st.binary(max_size=200))
def test_optional_zlib_is_strict_zlib_or_the_bytes_as_they_are(data: bytes) -> None:
    """Optional: a COSE_Sign1 start passes unchanged; anything else is inflated exactly as the
    strict stage does, or refused with the same code."""
    for candidate in (data, zlib.compress(data)):
        if candidate.startswith(SIGN1_STARTS):
            assert inflate(candidate, optional=True) == candidate
            continue
        try:
            strict: bytes | str = inflate(candidate)
        except VerificationFailed as exc:
            strict = exc.code
        try:
            optional: bytes | str = inflate(candidate, optional=True)
        except VerificationFailed as exc:
            optional = exc.code
        assert optional == strict


def test_every_key_sharing_a_kid_is_tried() -> None:
    signer = ec.generate_private_key(ec.SECP256R1())
    decoy = ec.generate_private_key(ec.SECP256R1())
    msg = decode_cose(sign1_encode(b"p", private_key=signer, kid=b"shared"))
    keys = StaticKeyStore(
        [
            TrustedKey(kid=b"shared", public_key=decoy.public_key(), issuer="XX"),
            TrustedKey(kid=b"shared", public_key=signer.public_key(), issuer="YY"),
        ]
    )
    assert check_signature(msg, keys).issuer == "YY"


def test_unknown_kid_and_revoked_key() -> None:
    signer = ec.generate_private_key(ec.SECP256R1())
    msg = decode_cose(sign1_encode(b"p", private_key=signer, kid=b"k1"))
    with pytest.raises(VerificationFailed) as err:
        check_signature(msg, StaticKeyStore([]))
    assert (err.value.code, err.value.stage) == ("KEY_NOT_IN_TRUST_LIST", "signature")
    revoked = TrustedKey(kid=b"k1", public_key=signer.public_key(), issuer="X", revoked=True)
    with pytest.raises(VerificationFailed) as err:
        check_signature(msg, StaticKeyStore([revoked]))
    assert err.value.code == "KEY_REVOKED"


def test_missing_kid() -> None:
    signer = ec.generate_private_key(ec.SECP256R1())
    msg = decode_cose(sign1_encode(b"p", private_key=signer, kid=b"", kid_in="none"))
    with pytest.raises(VerificationFailed) as err:
        check_signature(msg, StaticKeyStore([]))
    assert err.value.code == "KID_MISSING"


def test_key_validity() -> None:
    key = TrustedKey(
        kid=b"k",
        public_key=None,
        issuer="X",
        not_before=datetime(2021, 1, 1, tzinfo=UTC),
        not_after=datetime(2022, 1, 1, tzinfo=UTC),
    )
    check_key_validity(key, datetime(2021, 6, 1, tzinfo=UTC))
    for instant, code in [
        (datetime(2020, 6, 1, tzinfo=UTC), "KEY_NOT_YET_VALID"),
        (datetime(2022, 6, 1, tzinfo=UTC), "KEY_EXPIRED"),
    ]:
        with pytest.raises(VerificationFailed) as err:
            check_key_validity(key, instant)
        assert err.value.code == code
