"""COSE_Sign1: ES256 and PS256 (RSA 2048/3072), tags 18 / none / 61+18, kid placement."""

from __future__ import annotations

from functools import cache
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.codes.cose import (
    ALG_ES256,
    ALG_PS256,
    CoseSign1,
    sign1_decode,
    sign1_encode,
    verify_signature,
)
from healthcode.core.errors import VerificationFailed


@cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@cache
def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def key_for(alg: int, bits: int) -> Any:
    return ec_key() if alg == ALG_ES256 else rsa_key(bits)


@pytest.mark.parametrize(("alg", "bits"), [(ALG_ES256, 256), (ALG_PS256, 2048), (ALG_PS256, 3072)])
@pytest.mark.parametrize("tagging", ["18", "none", "61+18"])
@pytest.mark.parametrize("kid_in", ["protected", "unprotected"])
def test_round_trip(alg: int, bits: int, tagging: str, kid_in: str) -> None:
    key = key_for(alg, bits)
    data = sign1_encode(
        b"payload",
        private_key=key,
        kid=b"kid-8byt",
        alg=alg,
        kid_in=kid_in,
        tag=tagging != "none",
        cwt_tag=tagging == "61+18",
    )
    msg = sign1_decode(data)
    assert msg.payload == b"payload"
    assert msg.kid == b"kid-8byt"
    assert msg.alg == alg
    assert msg.tags == {"18": (18,), "none": (), "61+18": (61, 18)}[tagging]
    verify_signature(msg, key.public_key())


def test_protected_kid_wins_over_unprotected() -> None:
    data = sign1_encode(b"p", private_key=ec_key(), kid=b"good", kid_in="protected")
    item = cbor2.loads(data)
    protected, _, payload, signature = item.value
    tampered = cbor2.dumps(cbor2.CBORTag(18, [protected, {4: b"evil"}, payload, signature]))
    assert sign1_decode(tampered).kid == b"good"


def test_wrong_key_fails_signature() -> None:
    msg = sign1_decode(sign1_encode(b"p", private_key=ec_key(), kid=b"k"))
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(VerificationFailed) as err:
        verify_signature(msg, other)
    assert (err.value.code, err.value.stage) == ("SIGNATURE_INVALID", "signature")


def test_alg_and_key_mismatch_fails() -> None:
    # CO27: an RSA key for an ES256 message (and the reverse) must not verify.
    msg = sign1_decode(sign1_encode(b"p", private_key=ec_key(), kid=b"k"))
    with pytest.raises(VerificationFailed) as err:
        verify_signature(msg, rsa_key(2048).public_key())
    assert err.value.code == "SIGNATURE_INVALID"
    msg = sign1_decode(sign1_encode(b"p", private_key=rsa_key(2048), kid=b"k", alg=ALG_PS256))
    with pytest.raises(VerificationFailed) as err:
        verify_signature(msg, ec_key().public_key())
    assert err.value.code == "SIGNATURE_INVALID"


def test_long_ecdsa_signature_fails_without_crash() -> None:
    # CO24: a DER-looking signature longer than 64 bytes.
    data = sign1_encode(b"p", private_key=ec_key(), kid=b"k")
    protected, unprotected, payload, _ = cbor2.loads(data).value
    bad = cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected, payload, b"\x30" * 72]))
    with pytest.raises(VerificationFailed) as err:
        verify_signature(sign1_decode(bad), ec_key().public_key())
    assert err.value.code == "SIGNATURE_INVALID"


def test_unsupported_alg() -> None:
    protected = cbor2.dumps({1: -35, 4: b"k"})  # ES384
    data = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, b"p", b"\x00" * 96]))
    with pytest.raises(VerificationFailed) as err:
        verify_signature(sign1_decode(data), ec_key().public_key())
    assert (err.value.code, err.value.stage) == ("ALG_UNSUPPORTED", "cose")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        cbor2.dumps([1, 2, 3]),
        cbor2.dumps(cbor2.CBORTag(98, [b"", {}, b"", b""])),  # COSE_Sign, not Sign1
        cbor2.dumps(cbor2.CBORTag(18, [b"\xa1", {}, b"", b""])),  # protected is broken CBOR
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}, None, b""])),  # detached payload
        cbor2.dumps(cbor2.CBORTag(18, [b"", {4: "text"}, b"", b""])),  # kid not bytes
        cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b""])) + b"\x00",  # trailing bytes
    ],
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(VerificationFailed) as err:
        sign1_decode(data)
    assert (err.value.code, err.value.stage) == ("COSE_MALFORMED", "cose")


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_typed_errors(data: bytes) -> None:
    try:
        msg = sign1_decode(data)
    except VerificationFailed:
        return
    with pytest.raises(VerificationFailed):
        verify_signature(msg, ec_key().public_key())


@pytest.mark.parametrize("protected_len", [0, 1, 23, 24, 255, 256])
@pytest.mark.parametrize("payload_len", [0, 23, 24, 255, 256, 65535, 65536])
def test_sig_structure_matches_cbor2(protected_len: int, payload_len: int) -> None:
    """The hand-concatenated Sig_structure equals cbor2's encoding of the same array."""
    protected, payload = b"p" * protected_len, b"x" * payload_len
    msg = CoseSign1(
        protected_bytes=protected,
        protected={},
        unprotected={},
        payload=payload,
        signature=b"",
        alg=ALG_ES256,
        kid=None,
    )
    assert msg.to_be_signed() == cbor2.dumps(["Signature1", protected, b"", payload])


def test_each_decoded_protected_header_is_its_own() -> None:
    raw = sign1_encode(b"hello", private_key=ec_key(), kid=b"12345678")
    first = sign1_decode(raw)
    first.protected[99] = "changed"
    assert 99 not in sign1_decode(raw).protected


def test_non_p256_key_refused_every_time() -> None:
    raw = sign1_encode(b"hello", private_key=ec_key(), kid=b"12345678")
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    for _ in range(2):
        with pytest.raises(VerificationFailed) as err:
            verify_signature(sign1_decode(raw), other)
        assert err.value.code == "SIGNATURE_INVALID"
    verify_signature(sign1_decode(raw), ec_key().public_key())
    verify_signature(sign1_decode(raw), ec_key().public_key())
