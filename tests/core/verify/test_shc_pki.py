"""SMART Health Cards: the ``x5c`` chain of an issuer key against trust anchors, and issuers from
a VCI directory snapshot."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from shc_issuer import ISSUER, ShcIssuer, b64url

from healthcode.core.clock import FixedClock
from healthcode.core.errors import TrustError
from healthcode.core.verify import ShcSettings, Verifier
from healthcode.core.verify.shc import ShcTrust, encode_numeric, jwk_thumbprint

SPEC_ISSUER = "https://spec.smarthealth.cards/examples/issuer"
PINNED = datetime(2023, 6, 23, tzinfo=UTC)


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    issuer_name: str,
    *,
    ca: bool,
    uri: str | None = None,
    days: int = 365,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(PINNED - timedelta(days=30))
        .not_valid_after(PINNED + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if uri:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _der64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _pki_trust(
    issuer: ShcIssuer, *, uri: str = ISSUER, leaf_days: int = 365
) -> tuple[ShcTrust, x509.Certificate]:
    """The issuer's key with an x5c chain leaf <- CA <- root; returns the trust and the root."""
    root_key, ca_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root = _cert("Root", root_key, root_key, "Root", ca=True)
    ca = _cert("CA", ca_key, root_key, "Root", ca=True)
    leaf = _cert("Issuer", issuer.key, ca_key, "CA", ca=False, uri=uri, days=leaf_days)
    numbers = issuer.key.public_key().public_numbers()
    jwk: dict[str, Any] = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
        "use": "sig",
        "alg": "ES256",
        "x5c": [_der64(leaf), _der64(ca)],
    }
    jwk["kid"] = jwk_thumbprint(jwk)
    trust = ShcTrust()
    trust.add_jwks({"keys": [jwk]}, issuer=ISSUER)
    return trust, root


def _verify(trust: ShcTrust, text: str, at: datetime = PINNED) -> Any:
    return Verifier.default(shc=ShcSettings(trust=trust), clock=FixedClock(at)).verify(text)


def _card(issuer: ShcIssuer) -> str:
    payload = {**issuer.example, "nbf": PINNED.timestamp() - 60}
    return encode_numeric(issuer.sign(json.dumps(payload).encode()))


def test_chain_to_an_anchor_passes(shc_issuer: ShcIssuer) -> None:
    trust, root = _pki_trust(shc_issuer)
    card = _card(shc_issuer)
    assert _verify(trust, card).valid  # no anchor held: the chain is not judged
    trust.add_anchor(root.public_bytes(serialization.Encoding.PEM))
    result = _verify(trust, card)
    assert result.valid, result


@pytest.mark.parametrize(
    ("case", "why"),
    [("other anchor", "no trusted anchor"), ("other uri", "URI"), ("expired leaf", "expired")],
)
def test_chain_refused(shc_issuer: ShcIssuer, case: str, why: str) -> None:
    uri = "https://elsewhere.example/shc" if case == "other uri" else ISSUER
    trust, root = _pki_trust(shc_issuer, uri=uri, leaf_days=-1 if case == "expired leaf" else 365)
    if case == "other anchor":
        other = ec.generate_private_key(ec.SECP256R1())
        root = _cert("Root", other, other, "Root", ca=True)
    trust.add_anchor(root)
    result = _verify(trust, _card(shc_issuer))
    assert (result.valid, result.stage, result.error_code) == (
        False,
        "signature",
        "SHC_X5C_INVALID",
    )
    assert why in (result.reason or "")


def _spec_trust(testdata: Path) -> ShcTrust:
    return ShcTrust.from_directory(testdata / "shc" / "issuer", issuer=SPEC_ISSUER)


def _qr(testdata: Path, n: str) -> str:
    parts = sorted((testdata / "shc").glob(f"example-{n}-f-qr-code-numeric-value-*.txt"))
    return "\n".join(p.read_text().strip() for p in parts)


def test_spec_example_01_chain(testdata: Path) -> None:
    """Example 01's key carries leaf, CA and root; its leaf expired in 2022, before the card."""
    trust = _spec_trust(testdata)
    jwks = json.loads((testdata / "shc/issuer/.well-known/jwks.json").read_text())
    [x5c] = [k["x5c"] for k in jwks["keys"] if k.get("x5c")]
    trust.add_anchor(base64.b64decode(x5c[-1]))  # the example root
    result = _verify(trust, _qr(testdata, "01"))
    assert (result.error_code, result.stage) == ("SHC_X5C_INVALID", "signature")
    assert "expired" in (result.reason or "")
    assert _verify(trust, _qr(testdata, "00")).valid  # a key without x5c: trusted as listed
    anchored_at_ca = _spec_trust(testdata)
    anchored_at_ca.add_anchor(base64.b64decode(x5c[1]))  # the path may end at an intermediate
    assert _verify(anchored_at_ca, _qr(testdata, "01")).error_code == "SHC_X5C_INVALID"


def _snapshot(testdata: Path) -> dict[str, Any]:
    base = testdata / "shc/issuer/.well-known"
    return {
        "directory": "https://example.org/vci_snapshot.json",
        "time": "2023-06-23T00:00:00Z",
        "issuer_info": [
            {
                "issuer": {"iss": SPEC_ISSUER, "name": "SMART Health Cards example issuer"},
                "keys": json.loads((base / "jwks.json").read_text())["keys"],
                "crls": [json.loads(p.read_text()) for p in sorted((base / "crl").glob("*.json"))],
            }
        ],
    }


def test_vci_directory_snapshot(testdata: Path) -> None:
    trust = ShcTrust()
    assert trust.add_directory(json.dumps(_snapshot(testdata))) == 1
    assert trust.names[SPEC_ISSUER].startswith("SMART")
    assert _verify(trust, _qr(testdata, "00")).valid
    revoked = _verify(trust, _qr(testdata, "03"), at=datetime(2023, 6, 23, 1, tzinfo=UTC))
    assert (revoked.stage, revoked.error_code) == ("revocation", "REVOKED")


@pytest.mark.parametrize(
    "doc",
    [
        "[]",
        "{not json",
        json.dumps({"participating_issuers": [{"iss": SPEC_ISSUER, "name": "x"}]}),
        json.dumps({"issuer_info": [{"issuer": {"iss": "http://plain"}, "keys": []}]}),
        json.dumps({"issuer_info": [{"issuer": {"iss": SPEC_ISSUER}, "keys": {}}]}),
        json.dumps({"issuer_info": {}}),
    ],
)
def test_not_a_vci_directory(doc: str) -> None:
    with pytest.raises(TrustError) as info:
        ShcTrust().add_directory(doc)
    assert info.value.code == "SHC_DIRECTORY_INVALID"


def test_bad_anchor() -> None:
    with pytest.raises(TrustError) as info:
        ShcTrust().add_anchor(b"not a certificate")
    assert info.value.code == "CERT_MALFORMED"
