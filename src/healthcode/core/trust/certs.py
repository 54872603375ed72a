"""Certificates of a health-code network: the national root and the provinces' signer certificates.

Shape of the chain (X.509 v3, EC P-256, ECDSA with SHA-256 throughout)::

    national root   self-signed; basicConstraints CA:true, pathlen 0; keyUsage keyCertSign, cRLSign
    ├── signer      one or more per province; CA:false; keyUsage digitalSignature;
    │               extendedKeyUsage NATIVE_SIGNER_EKU; subject C=CN, ST=<province code>
    └── publisher   the hub's publishing key; CA:false; keyUsage digitalSignature;
                    extendedKeyUsage PUBLISHER_EKU; a short validity (weeks)

The root certifies keys and signs nothing else: it stays offline. The private OID arc of the
project is ``2.25.307485637175443367613793663393945241278`` (a UUID OID, ITU-T X.667: unique
without registration). Below it, ``.1.1`` is the extended key usage "signs native health
codes" and ``.1.2`` "publishes the network's signed documents"; a verifier refuses a
certificate without the usage it needs (no "any" usage counts for a publisher), so a key
certified for one purpose cannot serve the other.

A key id (kid) is the first 8 bytes of SHA-256 of the DER certificate, as in the EU HCERT.

>>> from datetime import datetime, timedelta, timezone
>>> t = datetime(2022, 11, 1, tzinfo=timezone.utc)
>>> root = make_root(now=t)
>>> signer = make_signer(root=root, province="440000", not_before=t,
...                      not_after=t + timedelta(days=90))
>>> check_signer(signer.certificate, root_cert=root.certificate, at=t + timedelta(days=1))
'440000'
>>> len(kid_of(signer.certificate))
8
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from healthcode.core.error_codes import ErrorCode
from healthcode.core.errors import TrustError

__all__ = [
    "HEALTHCODE_ARC",
    "NATIVE_SIGNER_EKU",
    "PUBLISHER_EKU",
    "KeyPair",
    "check_publisher",
    "check_root",
    "check_signer",
    "check_validity",
    "dump_certificate",
    "dump_private_key",
    "kid_of",
    "load_certificate",
    "load_private_key",
    "make_publisher",
    "make_root",
    "make_signer",
    "province_of_certificate",
]

#: The project's private OID arc (a UUID OID under 2.25, ITU-T X.667).
HEALTHCODE_ARC = "2.25.307485637175443367613793663393945241278"
#: Extended key usage: "this key signs native health codes".
NATIVE_SIGNER_EKU = x509.ObjectIdentifier(HEALTHCODE_ARC + ".1.1")
#: Extended key usage: "this key seals the network's published documents".
PUBLISHER_EKU = x509.ObjectIdentifier(HEALTHCODE_ARC + ".1.2")
#: Length of a kid in bytes (SHA-256 of the DER certificate, truncated, as in HCERT).
KID_LENGTH = 8

_PROVINCE = re.compile(r"[1-9][0-9]0000")
#: A province signer's key signs codes and nothing else (no certificates, no encryption).
_SIGNER_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A private key with its certificate."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    kid: bytes = field(init=False, repr=False, compare=False)  # computed once: it is hashed

    def __post_init__(self) -> None:
        object.__setattr__(self, "kid", kid_of(self.certificate))


def kid_of(cert: x509.Certificate) -> bytes:
    """The kid of a certificate: the first 8 bytes of SHA-256 of its DER encoding."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return hashlib.sha256(der).digest()[:KID_LENGTH]


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timezone-aware datetime required")
    return value.astimezone(UTC)


def make_root(
    *,
    now: datetime,
    validity: timedelta = timedelta(days=3650),
    common_name: str = "Healthcode National Root",
    private_key: ec.EllipticCurvePrivateKey | None = None,
) -> KeyPair:
    """A new self-signed national root (CA, keyCertSign) valid from ``now`` for ``validity``."""
    key = private_key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Healthcode Network"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    start = _utc(now)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,  # the root certifies keys and signs nothing else
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(key, cert)


def _leaf(
    root: KeyPair,
    subject: x509.Name,
    eku: x509.ObjectIdentifier,
    not_before: datetime,
    not_after: datetime,
    private_key: ec.EllipticCurvePrivateKey | None,
) -> KeyPair:
    """A key certified by ``root`` for one extended key usage (not a CA, digitalSignature)."""
    start, end = _utc(not_before), _utc(not_after)
    if end <= start:
        raise TrustError(ErrorCode.CERT_VALIDITY, "not_after must be after not_before")
    if start < root.certificate.not_valid_before_utc or end > root.certificate.not_valid_after_utc:
        raise TrustError(ErrorCode.CERT_VALIDITY, "a certificate's validity must lie in the root's")
    key = private_key or ec.generate_private_key(ec.SECP256R1())
    root_ski = root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_SIGNER_KEY_USAGE, critical=True)
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski.value),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(root.private_key, hashes.SHA256())
    )
    return KeyPair(key, cert)


def make_signer(
    *,
    root: KeyPair,
    province: str,
    not_before: datetime,
    not_after: datetime,
    private_key: ec.EllipticCurvePrivateKey | None = None,
) -> KeyPair:
    """A new signer certificate for ``province`` (a GB/T 2260 province code), signed by ``root``.

    Raises TrustError ``PROVINCE_INVALID`` when the code is not a province code, and
    ``CERT_VALIDITY`` when the validity is empty or outside the root's.
    """
    if not _PROVINCE.fullmatch(province):
        raise TrustError(ErrorCode.PROVINCE_INVALID, f"not a province code: {province!r}")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, province),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Healthcode Network"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Healthcode Signer {province}"),
        ]
    )
    return _leaf(root, subject, NATIVE_SIGNER_EKU, not_before, not_after, private_key)


def make_publisher(
    *,
    root: KeyPair,
    not_before: datetime,
    not_after: datetime,
    private_key: ec.EllipticCurvePrivateKey | None = None,
) -> KeyPair:
    """A new publishing key certified by ``root`` (:data:`PUBLISHER_EKU`).

    Raises TrustError ``CERT_VALIDITY`` when the validity is empty or outside the root's.
    """
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Healthcode Network"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Healthcode Publisher"),
        ]
    )
    return _leaf(root, subject, PUBLISHER_EKU, not_before, not_after, private_key)


def province_of_certificate(cert: x509.Certificate) -> str:
    """The province code in a signer certificate's subject (ST).

    Raises TrustError ``CERT_PROVINCE`` when there is none or it is not a province code.
    """
    values = cert.subject.get_attributes_for_oid(NameOID.STATE_OR_PROVINCE_NAME)
    if len(values) != 1 or not isinstance(values[0].value, str):
        raise TrustError(ErrorCode.CERT_PROVINCE, "signer certificate has no single province (ST)")
    province = values[0].value
    if not _PROVINCE.fullmatch(province):
        raise TrustError(ErrorCode.CERT_PROVINCE, f"not a province code in subject: {province!r}")
    return province


def _verify_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    public = issuer.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise TrustError(ErrorCode.CERT_ALGORITHM, "issuer key is not an EC key")
    hash_alg = cert.signature_hash_algorithm
    if cert.issuer != issuer.subject or not isinstance(hash_alg, hashes.SHA256):
        raise TrustError(
            ErrorCode.CERT_NOT_SIGNED_BY_ROOT, "certificate was not issued by this root"
        )
    try:
        public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hash_alg))
    except InvalidSignature as exc:
        raise TrustError(
            ErrorCode.CERT_NOT_SIGNED_BY_ROOT, "certificate signature is invalid"
        ) from exc


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise TrustError(ErrorCode.CERT_KEY_USAGE, "certificate has no key usage") from exc


def check_root(cert: x509.Certificate) -> None:
    """Check that ``cert`` can be a national root: self-signed EC P-256 CA with keyCertSign.

    Raises TrustError ``ROOT_INVALID``.
    """
    try:
        _verify_signed_by(cert, cert)
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = _key_usage(cert)
    except (TrustError, x509.ExtensionNotFound) as exc:
        raise TrustError(ErrorCode.ROOT_INVALID, f"not a usable root: {exc}") from exc
    public = cert.public_key()
    if not bc.ca or not usage.key_cert_sign:
        raise TrustError(ErrorCode.ROOT_INVALID, "root must be a CA with keyCertSign")
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise TrustError(ErrorCode.ROOT_INVALID, "root key must be EC P-256")


def check_signer(
    cert: x509.Certificate, *, root_cert: x509.Certificate, at: datetime | None = None
) -> str:
    """Check a province signer certificate against the root; return its province code.

    Checks: signed by the root, EC P-256 key, not a CA, keyUsage digitalSignature, the
    project's signer EKU, a province code in the subject, and (when ``at`` is given) that
    ``at`` lies within the certificate's validity.

    Raises TrustError: ``CERT_NOT_SIGNED_BY_ROOT``, ``CERT_ALGORITHM``, ``CERT_KEY_USAGE``,
    ``CERT_EKU``, ``CERT_PROVINCE``, ``CERT_NOT_YET_VALID``, ``CERT_EXPIRED``.
    """
    eku = _signing_leaf_eku(cert, root_cert, "signer")
    if NATIVE_SIGNER_EKU not in eku and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
        raise TrustError(ErrorCode.CERT_EKU, "certificate may not sign native health codes")
    province = province_of_certificate(cert)
    if at is not None:
        check_validity(cert, at)
    return province


def check_publisher(cert: x509.Certificate, *, root_cert: x509.Certificate) -> None:
    """Check a publisher certificate against the root: signed by it, EC P-256, not a CA,
    digitalSignature and the publisher EKU (exactly: "any" does not count). Validity is the
    caller's to check (:func:`check_validity`), at the times it cares about.

    Raises TrustError ``CERT_NOT_SIGNED_BY_ROOT``, ``CERT_ALGORITHM``, ``CERT_KEY_USAGE``,
    ``CERT_EKU``.
    """
    eku = _signing_leaf_eku(cert, root_cert, "publisher")
    if PUBLISHER_EKU not in eku:
        raise TrustError(ErrorCode.CERT_EKU, "certificate may not publish documents")


def _signing_leaf_eku(
    cert: x509.Certificate, root_cert: x509.Certificate, role: str
) -> x509.ExtendedKeyUsage:
    """What signers and publishers share: signed by the root, an EC P-256 key, not a CA,
    digitalSignature; returns the extended key usage for the caller to check.

    Raises TrustError ``CERT_NOT_SIGNED_BY_ROOT``, ``CERT_ALGORITHM``, ``CERT_KEY_USAGE``,
    ``CERT_EKU`` (none present).
    """
    _verify_signed_by(cert, root_cert)
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
        raise TrustError(ErrorCode.CERT_ALGORITHM, f"{role} key must be EC P-256")
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        bc = x509.BasicConstraints(ca=False, path_length=None)  # RFC 5280's default
    if bc.ca or not _key_usage(cert).digital_signature:
        raise TrustError(ErrorCode.CERT_KEY_USAGE, f"{role} must be a non-CA with digitalSignature")
    try:
        return cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound as exc:
        raise TrustError(
            ErrorCode.CERT_EKU, f"{role} certificate has no extended key usage"
        ) from exc


def check_validity(cert: x509.Certificate, at: datetime) -> None:
    """Raises TrustError ``CERT_NOT_YET_VALID`` / ``CERT_EXPIRED`` when ``at`` is outside."""
    when = _utc(at)
    if when < cert.not_valid_before_utc:
        raise TrustError(ErrorCode.CERT_NOT_YET_VALID, f"valid from {cert.not_valid_before_utc}")
    if when > cert.not_valid_after_utc:
        raise TrustError(
            ErrorCode.CERT_EXPIRED, f"certificate expired at {cert.not_valid_after_utc}"
        )


def dump_certificate(cert: x509.Certificate) -> bytes:
    """PEM bytes of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def load_certificate(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes. Raises TrustError ``CERT_MALFORMED``."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise TrustError(ErrorCode.CERT_MALFORMED, f"cannot parse certificate: {exc}") from exc


def dump_private_key(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM of a private key, encrypted when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def load_private_key(data: bytes, passphrase: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """An EC private key from PEM. Raises TrustError ``KEY_MALFORMED`` / ``KEY_PASSPHRASE``."""
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError as exc:  # encrypted without passphrase or the other way round
        raise TrustError(ErrorCode.KEY_PASSPHRASE, str(exc)) from exc
    except ValueError as exc:
        raise TrustError(ErrorCode.KEY_MALFORMED, f"cannot load private key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TrustError(ErrorCode.KEY_MALFORMED, "private key is not an EC key")
    return key
