"""EU DCC: the ``iss`` claim against the country of the signer certificate (DSC).

HCERT 1.3 lets ``iss`` hold the issuing country; the DSC lists are kept per country. A code
whose ``iss`` names another country than its signer's fails (``ISSUER_COUNTRY_MISMATCH``, stage
claims); a DSC that names no country gets the check reported as not made (a warning).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from healthcode.core.clock import FixedClock
from healthcode.core.codes.base45 import b45encode
from healthcode.core.codes.cose import sign1_decode, sign1_encode
from healthcode.core.verify import DccSchema, DccSettings, DscTrustList, Verifier
from healthcode.core.verify.dcc import kid_of_der

NOW = datetime(2021, 6, 1, tzinfo=UTC)


def _dsc(country: str | None) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, "DSC")]
    if country:
        attrs.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    name = x509.Name(attrs)
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
    return key, cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def claims(testdata: Path) -> dict[Any, Any]:
    vector = json.loads((testdata / "dcc/common/CO3.json").read_text())
    out: dict[Any, Any] = cbor2.loads(sign1_decode(bytes.fromhex(vector["COSE"])).payload)
    out[4] = int((NOW + timedelta(days=10)).timestamp())
    out[6] = int((NOW - timedelta(days=1)).timestamp())
    return out


@pytest.fixture(scope="module")
def schema(testdata: Path) -> DccSchema:
    return DccSchema.load(testdata / "dcc-schema/DCC.combined-schema.json")


def _verify(claims: dict[Any, Any], schema: DccSchema, country: str | None, iss: Any) -> Any:
    key, der = _dsc(country)
    body = {k: v for k, v in claims.items() if k != 1}
    if iss is not None:
        body[1] = iss
    cose = sign1_encode(cbor2.dumps(body), private_key=key, kid=kid_of_der(der))
    settings = DccSettings(trust=DscTrustList.from_certificates([der]), schema=schema)
    verifier = Verifier.default(dcc=settings, clock=FixedClock(NOW))
    import zlib

    return verifier.verify("HC1:" + b45encode(zlib.compress(cose)))


def test_iss_of_the_signers_country_passes(claims: dict[Any, Any], schema: DccSchema) -> None:
    result = _verify(claims, schema, "AT", "AT")
    assert result.valid and result.issuer == "AT" and result.warnings == ()


def test_no_iss_takes_the_signers_country(claims: dict[Any, Any], schema: DccSchema) -> None:
    result = _verify(claims, schema, "AT", None)
    assert result.valid and result.issuer == "AT"


@pytest.mark.parametrize("iss", ["DE", "", "A", "AT "])
def test_iss_of_another_country_fails(claims: dict[Any, Any], schema: DccSchema, iss: str) -> None:
    """Regression: a DSC of one country could sign codes claiming another (shown as issuer)."""
    result = _verify(claims, schema, "AT", iss)
    assert (result.valid, result.stage, result.error_code) == (
        False,
        "claims",
        "ISSUER_COUNTRY_MISMATCH",
    )
    assert result.issuer == "AT"  # the country the trust list vouches for


def test_iss_that_is_not_text_is_malformed(claims: dict[Any, Any], schema: DccSchema) -> None:
    result = _verify(claims, schema, "AT", 40)
    assert (result.stage, result.error_code) == ("claims", "CWT_MALFORMED")


def test_a_signer_without_country_passes_with_a_warning(
    claims: dict[Any, Any], schema: DccSchema
) -> None:
    result = _verify(claims, schema, None, "AT")
    assert result.valid
    assert [w.split(":")[0] for w in result.warnings] == ["ISSUER_UNCHECKED"]
