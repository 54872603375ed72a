"""SMART Health Cards: the spec examples in tests/data/shc, pinned clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.clock import FixedClock
from healthcode.core.errors import VerificationFailed
from healthcode.core.verify import ShcSettings, Verifier
from healthcode.core.verify.shc import (
    ShcTrust,
    decode_jws,
    decode_numeric,
    encode_numeric,
    jwk_thumbprint,
)

ISSUER = "https://spec.smarthealth.cards/examples/issuer"
PINNED = FixedClock(datetime(2023, 6, 23, tzinfo=UTC))


@pytest.fixture(scope="module")
def trust(testdata: Path) -> ShcTrust:
    return ShcTrust.from_directory(testdata / "shc" / "issuer", issuer=ISSUER)


def ctx(trust: ShcTrust, clock: FixedClock = PINNED) -> Verifier:
    return Verifier.default(shc=ShcSettings(trust=trust), clock=clock)


def qr_text(testdata: Path, n: str) -> str:
    parts = sorted((testdata / "shc").glob(f"example-{n}-f-qr-code-numeric-value-*.txt"))
    return "\n".join(p.read_text().strip() for p in parts)


def test_kids_are_thumbprints(testdata: Path, trust: ShcTrust) -> None:
    jwks = json.loads((testdata / "shc/issuer/.well-known/jwks.json").read_text())
    ec_keys = [k for k in jwks["keys"] if k.get("crv") == "P-256"]
    assert ec_keys and all(jwk_thumbprint(k) == k["kid"] for k in ec_keys)
    assert all(trust.keys_for_kid(k["kid"].encode()) for k in ec_keys)


@pytest.mark.parametrize("n", ["00", "01", "02"])
def test_valid_examples(testdata: Path, trust: ShcTrust, n: str) -> None:
    result = ctx(trust).verify(qr_text(testdata, n))
    assert result.valid, result
    assert (result.format, result.issuer) == ("shc", ISSUER)
    expanded = json.loads((testdata / f"shc/example-{n}-b-jws-payload-expanded.json").read_text())
    assert (
        result.kid == decode_jws((testdata / f"shc/example-{n}-d-jws.txt").read_text().strip()).kid
    )
    assert result.payload is not None
    entries = expanded["vc"]["credentialSubject"]["fhirBundle"]["entry"]
    kinds = [e["resource"]["resourceType"] for e in entries]
    facts = result.payload["facts"]
    assert len(facts["immunizations"]) == kinds.count("Immunization")
    assert len(facts["observations"]) == kinds.count("Observation")


def test_facts_of_example_00(testdata: Path, trust: ShcTrust) -> None:
    result = ctx(trust).verify(qr_text(testdata, "00"))
    assert result.subject == {"family": "Anyperson", "given": "John B.", "birth_date": "1951-01-20"}
    first = result.payload["facts"]["immunizations"][0]  # type: ignore[index]
    assert first["vaccine"] == "http://hl7.org/fhir/sid/cvx|207"
    assert (first["date"], first["lot"]) == ("2021-01-01", "0000001")


def test_example_01_x5c_leaf_expired_is_a_warning(testdata: Path, trust: ShcTrust) -> None:
    result = ctx(trust).verify(qr_text(testdata, "01"))
    assert result.valid
    assert any("x5c" in w for w in result.warnings)


def test_example_03_is_revoked(testdata: Path, trust: ShcTrust) -> None:
    result = ctx(trust).verify(qr_text(testdata, "03"))
    assert (result.valid, result.stage, result.error_code) == (False, "revocation", "REVOKED")


def test_example_03_expires(testdata: Path) -> None:
    trust = ShcTrust()  # no revocation list: expiry shows
    jwks = (testdata / "shc/issuer/.well-known/jwks.json").read_bytes()
    trust.add_jwks(jwks, issuer=ISSUER)
    late = FixedClock(datetime(2024, 7, 1, tzinfo=UTC))
    result = ctx(trust, late).verify(qr_text(testdata, "03"))
    assert (result.stage, result.error_code) == ("claims", "CWT_EXPIRED")


def test_not_yet_valid(testdata: Path, trust: ShcTrust) -> None:
    early = FixedClock(datetime(2023, 1, 1, tzinfo=UTC))
    result = ctx(trust, early).verify(qr_text(testdata, "00"))
    assert result.error_code == "CWT_NOT_YET_VALID"


def test_unknown_issuer(testdata: Path) -> None:
    result = ctx(ShcTrust()).verify(qr_text(testdata, "00"))
    assert (result.stage, result.error_code) == ("signature", "KEY_NOT_IN_TRUST_LIST")


def test_numeric_matches_jws(testdata: Path) -> None:
    for n in ["00", "01", "03"]:
        jws = (testdata / f"shc/example-{n}-d-jws.txt").read_text().strip()
        assert decode_numeric(qr_text(testdata, n)) == jws
        assert encode_numeric(jws) == qr_text(testdata, n)


def test_missing_chunk(testdata: Path, trust: ShcTrust) -> None:
    first_two = "\n".join(qr_text(testdata, "02").split("\n")[:2])
    result = ctx(trust).verify(first_two)
    assert (result.stage, result.error_code) == ("numeric", "SHC_CHUNK_MISSING")


def test_chunks_in_any_order(testdata: Path, trust: ShcTrust) -> None:
    chunks = qr_text(testdata, "02").split("\n")
    assert ctx(trust).verify("\n".join(reversed(chunks))).valid


def test_tampered_signature_fails(testdata: Path, trust: ShcTrust) -> None:
    jws = (testdata / "shc/example-00-d-jws.txt").read_text().strip()
    head, body, sig = jws.split(".")
    bad = f"{head}.{body}.{sig[:10]}{'A' if sig[10] != 'A' else 'B'}{sig[11:]}"
    result = ctx(trust).verify(encode_numeric(bad))
    assert (result.stage, result.error_code) == ("signature", "SIGNATURE_INVALID")


@settings(max_examples=200)
@given(st.text(alphabet="0123456789/", max_size=200))
def test_arbitrary_numeric_text(digits: str) -> None:
    result = Verifier.default(clock=PINNED).verify("shc:/" + digits)
    assert not result.valid and result.error_code


@pytest.mark.parametrize("bad", ["shc:/1", "shc:/99", "shc:/1/2/00", "shc:/0/1/00", "shc:/ab"])
def test_numeric_refusals(bad: str) -> None:
    with pytest.raises(VerificationFailed) as err:
        decode_numeric(bad)
    assert err.value.stage == "numeric"
