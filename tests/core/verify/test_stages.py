"""Shared stages: prefix, zlib, signature lookup trying every key with a kid."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from healthcode.core.codes.cose import sign1_encode
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
    with pytest.raises(VerificationFailed) as err:
        inflate(data)
    assert (err.value.code, err.value.stage) == ("DECOMPRESS_FAILED", "decompress")


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
