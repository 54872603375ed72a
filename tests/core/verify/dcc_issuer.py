"""An EU DCC issuer of our own for the verifier tests: a DSC whose key the tests hold.

The EU test vectors come with their signer certificate but not its key, so codes with a changed
payload (an unknown value, a revoked UCI) need a signer of our own: :func:`make_dcc_issuer`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from healthcode.core.codes.base45 import b45encode
from healthcode.core.codes.cose import sign1_encode
from healthcode.core.verify.dcc import DscTrustList, kid_of_der

NOW = datetime(2021, 6, 1, tzinfo=UTC)
#: The vaccination of the EU vector common/CO3 (Austria), valid in every EU value set.
VACCINATION: dict[str, Any] = {
    "ver": "1.2.1",
    "nam": {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Gabriele", "gnt": "GABRIELE"},
    "dob": "1998-02-26",
    "v": [
        {
            "tg": "840539006",
            "vp": "1119349007",
            "mp": "EU/1/20/1528",
            "ma": "ORG-100030215",
            "dn": 1,
            "sd": 2,
            "dt": "2021-02-18",
            "co": "AT",
            "is": "Ministry of Health, Austria",
            "ci": "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B",
        }
    ],
}


@dataclass(frozen=True)
class DccIssuer:
    """A country's DSC (P-256) trusted by ``trust``."""

    key: ec.EllipticCurvePrivateKey
    der: bytes
    country: str
    trust: DscTrustList

    @property
    def kid(self) -> bytes:
        return kid_of_der(self.der)

    def cose(self, payload: dict[str, Any]) -> bytes:
        """The COSE_Sign1 of a CWT carrying ``payload``, issued a day before :data:`NOW`."""
        claims = {
            1: self.country,
            4: int((NOW + timedelta(days=10)).timestamp()),
            6: int((NOW - timedelta(days=1)).timestamp()),
            -260: {1: payload},
        }
        return sign1_encode(cbor2.dumps(claims), private_key=self.key, kid=self.kid)

    def code(self, payload: dict[str, Any]) -> str:
        """The ``HC1:`` text of :meth:`cose`."""
        return "HC1:" + b45encode(zlib.compress(self.cose(payload)))


def make_dcc_issuer(country: str = "AT") -> DccIssuer:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "DSC"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return DccIssuer(key, der, country, DscTrustList.from_certificates([der]))
