"""core/trust/certs.py: the root, signer certificates, and every chain check's stable code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import (
    NATIVE_SIGNER_EKU,
    KeyPair,
    check_root,
    check_signer,
    dump_certificate,
    dump_private_key,
    kid_of,
    load_certificate,
    load_private_key,
    make_root,
    make_signer,
)

T0 = datetime(2022, 11, 1, tzinfo=UTC)


def test_root_is_a_self_signed_ca(root: KeyPair) -> None:
    check_root(root.certificate)
    bc = root.certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca


def test_a_signer_is_not_a_root(root: KeyPair, gd: KeyPair) -> None:
    with pytest.raises(TrustError) as err:
        check_root(gd.certificate)
    assert err.value.code == "ROOT_INVALID"


def test_signer_chain_and_province(root: KeyPair, gd: KeyPair) -> None:
    assert check_signer(gd.certificate, root_cert=root.certificate, at=T0) == "440000"
    eku = gd.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert NATIVE_SIGNER_EKU in eku


def test_kid_is_sha256_of_der_truncated(gd: KeyPair) -> None:
    import hashlib

    from cryptography.hazmat.primitives import serialization

    der = gd.certificate.public_bytes(serialization.Encoding.DER)
    assert kid_of(gd.certificate) == hashlib.sha256(der).digest()[:8] == gd.kid


def test_signer_of_another_root_is_refused(gd: KeyPair) -> None:
    other = make_root(now=T0)
    with pytest.raises(TrustError) as err:
        check_signer(gd.certificate, root_cert=other.certificate)
    assert err.value.code == "CERT_NOT_SIGNED_BY_ROOT"


def test_signer_validity(root: KeyPair, gd: KeyPair) -> None:
    with pytest.raises(TrustError) as err:
        check_signer(gd.certificate, root_cert=root.certificate, at=T0 - timedelta(seconds=1))
    assert err.value.code == "CERT_NOT_YET_VALID"
    with pytest.raises(TrustError) as err:
        check_signer(gd.certificate, root_cert=root.certificate, at=T0 + timedelta(days=91))
    assert err.value.code == "CERT_EXPIRED"


def _custom_signer(
    root: KeyPair, *, eku: bool, usage_sign: bool, province: str
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, province)]))
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=1))
        .add_extension(
            x509.KeyUsage(
                usage_sign, False, False, False, False, not usage_sign, False, False, False
            ),
            critical=True,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage([NATIVE_SIGNER_EKU]), critical=False)
    return builder.sign(root.private_key, hashes.SHA256())


def test_missing_eku_is_refused(root: KeyPair) -> None:
    cert = _custom_signer(root, eku=False, usage_sign=True, province="440000")
    with pytest.raises(TrustError) as err:
        check_signer(cert, root_cert=root.certificate)
    assert err.value.code == "CERT_EKU"


def test_wrong_key_usage_is_refused(root: KeyPair) -> None:
    cert = _custom_signer(root, eku=True, usage_sign=False, province="440000")
    with pytest.raises(TrustError) as err:
        check_signer(cert, root_cert=root.certificate)
    assert err.value.code == "CERT_KEY_USAGE"


def test_subject_without_province_code_is_refused(root: KeyPair) -> None:
    cert = _custom_signer(root, eku=True, usage_sign=True, province="440100")
    with pytest.raises(TrustError) as err:
        check_signer(cert, root_cert=root.certificate)
    assert err.value.code == "CERT_PROVINCE"


def test_make_signer_refuses_bad_province_and_validity(root: KeyPair) -> None:
    with pytest.raises(TrustError) as err:
        make_signer(root=root, province="44", not_before=T0, not_after=T0 + timedelta(days=1))
    assert err.value.code == "PROVINCE_INVALID"
    with pytest.raises(TrustError) as err:
        make_signer(root=root, province="440000", not_before=T0, not_after=T0)
    assert err.value.code == "CERT_VALIDITY"
    with pytest.raises(TrustError) as err:
        make_signer(
            root=root, province="440000", not_before=T0, not_after=T0 + timedelta(days=4000)
        )
    assert err.value.code == "CERT_VALIDITY"


def test_pem_round_trip_with_and_without_passphrase(gd: KeyPair) -> None:
    assert load_certificate(dump_certificate(gd.certificate)) == gd.certificate
    plain = load_private_key(dump_private_key(gd.private_key))
    assert plain.private_numbers() == gd.private_key.private_numbers()
    sealed = dump_private_key(gd.private_key, b"secret")
    assert b"ENCRYPTED" in sealed
    assert load_private_key(sealed, b"secret").private_numbers() == gd.private_key.private_numbers()
    with pytest.raises(TrustError) as err:
        load_private_key(sealed)
    assert err.value.code == "KEY_PASSPHRASE"


def test_garbage_certificate_is_a_trust_error() -> None:
    with pytest.raises(TrustError) as err:
        load_certificate(b"not a certificate")
    assert err.value.code == "CERT_MALFORMED"
