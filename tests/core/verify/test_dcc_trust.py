"""DSC trust lists: certificates, gateway JSON, kid checks, EKU usages (also read leniently)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.keys import TrustedKey
from healthcode.core.verify.dcc import DscTrustList, check_signer_validity, kid_of_der
from healthcode.core.verify.dcc.trust import _eku_oids_lenient


def cert_der(testdata: Path, name: str) -> bytes:
    v = json.loads((testdata / "dcc" / name).read_text())
    return base64.b64decode(v["TESTCTX"]["CERTIFICATE"])


def gateway_entry(der: bytes, **overrides: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "kid": base64.b64encode(kid_of_der(der)).decode(),
        "country": "AT",
        "certificateType": "DSC",
        "rawData": base64.b64encode(der).decode(),
        "thumbprint": hashlib.sha256(der).hexdigest(),
        "signature": "",
        "timestamp": "2021-05-03T18:00:00Z",
    }
    entry.update(overrides)
    return entry


def test_gateway_json(testdata: Path) -> None:
    good, other = cert_der(testdata, "common/CO10.json"), cert_der(testdata, "common/CO3.json")
    text = json.dumps(
        [
            gateway_entry(good),
            gateway_entry(other, kid="AAAAAAAAAAA="),  # kid must match the certificate
            gateway_entry(other, certificateType="CSCA"),
        ]
    )
    trust = DscTrustList.from_gateway_json(text)
    assert len(trust) == 1
    (key,) = trust.keys_for_kid(kid_of_der(good))
    assert (key.issuer, key.usages) == ("AT", frozenset({"r"}))
    assert any("does not match" in w for w in trust.warnings)


@pytest.mark.parametrize("bad", ["{}", "not json", json.dumps([{"kid": "x"}])])
def test_gateway_json_refused(bad: str) -> None:
    with pytest.raises(TrustError):
        DscTrustList.from_gateway_json(bad)


def test_pem_and_der(testdata: Path) -> None:
    der = cert_der(testdata, "common/CO3.json")
    b64 = base64.b64encode(der).decode()
    pem = f"-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n".encode()
    assert len(DscTrustList.from_certificates([pem, der])) == 2
    with pytest.raises(TrustError):
        DscTrustList.from_certificates([b"garbage"])


def test_lenient_eku_reader_matches_strict_parser(testdata: Path) -> None:
    from cryptography import x509

    for name in ["common/CO6.json", "common/CO8.json", "common/CO10.json", "common/CO3.json"]:
        cert = x509.load_der_x509_certificate(cert_der(testdata, name))
        try:
            strict = {
                o.dotted_string
                for o in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            }
        except x509.ExtensionNotFound:
            strict = set()
        assert _eku_oids_lenient(cert.tbs_certificate_bytes) == strict


def test_exp_past_signer_expires_with_signer() -> None:
    t = datetime(2021, 6, 1, tzinfo=UTC)
    key = TrustedKey(
        kid=b"k", public_key=None, issuer="FR", not_before=t, not_after=t + timedelta(days=90)
    )
    skew = timedelta(minutes=5)
    expiry, warning = check_signer_validity(key, t, t + timedelta(days=365), now=t, skew=skew)
    assert expiry == key.not_after and warning
    with pytest.raises(VerificationFailed) as err:
        check_signer_validity(
            key, t, t + timedelta(days=365), now=t + timedelta(days=91), skew=skew
        )
    assert err.value.code == "CWT_OUTSIDE_SIGNER_VALIDITY"
    with pytest.raises(VerificationFailed):
        check_signer_validity(key, t - timedelta(days=1), None, now=t, skew=skew)
