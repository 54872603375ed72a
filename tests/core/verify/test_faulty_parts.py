"""A verifier with one faulty part never passes a code: it fails with the stage's stable code.

In the manner of hcert-kotlin's FaultyImplementationsTest: for each format, a valid code passes
with the real parts, then one part at a time is swapped for a broken one (a signature check that
raises or answers instead of raising, a clock that lies, a key store that gives a wrong key, fails
or lists garbage, a trust list missing the key, decoders that return garbage, a size limit that is
too small) and the result must be a failure with the expected stage and code.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from healthcode.core.clock import FixedClock
from healthcode.core.codes.cose import CoseSign1
from healthcode.core.keys import KeyStore, StaticKeyStore, TrustedKey
from healthcode.core.trust.certs import make_root, make_signer
from healthcode.core.trust.issue import issue_code
from healthcode.core.trust.trustlist import SignerEntry, TrustList
from healthcode.core.verify import (
    CoseParts,
    DccFormat,
    DccSchema,
    DccSettings,
    DscTrustList,
    NativeFormat,
    NativeSettings,
    ShcFormat,
    ShcSettings,
    ShcTrust,
    Verifier,
)
from healthcode.core.verify.dcc import kid_of_der
from healthcode.core.verify.result import VerificationResult
from healthcode.core.verify.shc import Jws, ShcParts

NOW = datetime(2022, 11, 20, 8, 0, tzinfo=UTC)
FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
SHC_ISSUER = "https://spec.smarthealth.cards/examples/issuer"


@dataclass(frozen=True)
class Case:
    """One format with a valid code, and how to build it with other trust or parts."""

    name: str
    text: str  # valid at ``now`` with ``trust``; it has an expiry
    now: datetime
    trust: KeyStore
    kid: bytes
    issuer: str
    build: Callable[[KeyStore, Any], Any]  # (trust, parts or None) -> a format

    def verify(
        self, *, trust: KeyStore | None = None, parts: Any = None, at: datetime | None = None
    ) -> VerificationResult:
        fmt = self.build(self.trust if trust is None else trust, parts)
        return Verifier(formats=[fmt], clock=FixedClock(at or self.now)).verify(self.text)

    def cose_parts(self, **changes: Any) -> Any:
        base = ShcParts() if self.name == "shc" else CoseParts()
        return dataclasses.replace(base, **changes)


def native_case() -> Case:
    t0 = NOW - timedelta(days=10)
    root = make_root(now=t0)
    signer = make_signer(
        root=root, province="440000", not_before=t0, not_after=t0 + timedelta(days=90)
    )
    text = issue_code(
        signer=signer,
        subject="ab" * 16,
        colour="green",
        rule_set="2022.11",
        masked_name="张*丰",
        masked_id="4401**********1234",
        clock=FixedClock(NOW),
    )
    trust = TrustList(signers=[SignerEntry("440000", signer.certificate)])

    def build(keys: KeyStore, parts: Any) -> NativeFormat:
        return NativeFormat(NativeSettings(trust=keys), parts=parts or CoseParts())

    return Case("native", text, NOW, trust, signer.kid, "440000", build)


def dcc_case(testdata: Path) -> Case:
    v = json.loads((testdata / "dcc/common/CO3.json").read_text())
    der = base64.b64decode(v["TESTCTX"]["CERTIFICATE"])
    trust = DscTrustList.from_certificates([der])
    schema = DccSchema.load(testdata / "dcc-schema/DCC.combined-schema.json")
    now = datetime.fromisoformat(v["TESTCTX"]["VALIDATIONCLOCK"])
    [key] = trust.keys_for_kid(kid_of_der(der))

    def build(keys: KeyStore, parts: Any) -> DccFormat:
        return DccFormat(DccSettings(trust=keys, schema=schema), parts=parts or CoseParts())

    return Case("dcc", v["PREFIX"], now, trust, key.kid, key.issuer, build)


def shc_case(testdata: Path) -> Case:
    trust = ShcTrust()  # the issuer's keys, no revocation list: example 03 then shows expiry
    trust.add_jwks((testdata / "shc/issuer/.well-known/jwks.json").read_bytes(), issuer=SHC_ISSUER)
    text = (testdata / "shc/example-03-f-qr-code-numeric-value-0.txt").read_text().strip()
    jws = (testdata / "shc/example-03-d-jws.txt").read_text().strip()
    header = json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))

    def build(keys: KeyStore, parts: Any) -> ShcFormat:
        return ShcFormat(ShcSettings(trust=keys), parts=parts or ShcParts())

    now = datetime(2023, 6, 23, tzinfo=UTC)
    return Case("shc", text, now, trust, header["kid"].encode(), SHC_ISSUER, build)


@pytest.fixture(scope="module", params=["native", "dcc", "shc"])
def case(request: pytest.FixtureRequest, testdata: Path) -> Case:
    if request.param == "native":
        return native_case()
    if request.param == "dcc":
        return dcc_case(testdata)
    return shc_case(testdata)


def fails(result: VerificationResult, stage: str, code: str) -> None:
    assert not result.valid, "a faulty part let a code pass"
    assert (result.stage, result.error_code) == (stage, code), result.reason


class Listing:
    """A key store that lists whatever it is given for every kid."""

    def __init__(self, keys: Sequence[Any]) -> None:
        self.keys = keys

    def keys_for_kid(self, kid: bytes) -> Sequence[Any]:
        return self.keys


class Broken:
    def keys_for_kid(self, kid: bytes) -> Sequence[TrustedKey]:
        raise ConnectionError("the key database is down")


def test_the_real_parts_pass(case: Case) -> None:
    result = case.verify()
    assert result.valid, result
    assert result.format == case.name


# --- a broken signature check -------------------------------------------------------------------


def _raises(*_: Any) -> None:
    raise RuntimeError("the crypto backend crashed")


@pytest.mark.parametrize(
    "check",
    [_raises, lambda *_: False, lambda *_: True, lambda *_: "valid"],
    ids=["raises", "answers-false", "answers-true", "answers-text"],
)
def test_a_broken_signature_check(case: Case, check: Callable[..., Any]) -> None:
    fails(case.verify(parts=case.cose_parts(signature=check)), "signature", "SIGNATURE_INVALID")


# --- a clock that lies --------------------------------------------------------------------------


def test_a_clock_far_in_the_past(case: Case) -> None:
    fails(case.verify(at=FAR_PAST), "claims", "CWT_NOT_YET_VALID")


def test_a_clock_far_in_the_future(case: Case) -> None:
    fails(case.verify(at=FAR_FUTURE), "claims", "CWT_EXPIRED")


# --- key stores and trust lists -----------------------------------------------------------------


def test_a_key_store_that_gives_a_wrong_key(case: Case) -> None:
    impostor = ec.generate_private_key(ec.SECP256R1()).public_key()
    wrong = TrustedKey(kid=case.kid, public_key=impostor, issuer=case.issuer)
    fails(case.verify(trust=StaticKeyStore([wrong])), "signature", "SIGNATURE_INVALID")


def test_a_key_store_that_gives_a_key_of_another_kind(case: Case) -> None:
    wrong = TrustedKey(kid=case.kid, public_key=b"not a key", issuer=case.issuer)
    fails(case.verify(trust=StaticKeyStore([wrong])), "signature", "SIGNATURE_INVALID")


@pytest.mark.parametrize(
    "store",
    [Broken(), Listing([None]), Listing(["a key"]), Listing([])],
    ids=["fails", "lists-none", "lists-text", "lists-nothing"],
)
def test_a_key_store_that_fails_or_lists_garbage(case: Case, store: KeyStore) -> None:
    fails(case.verify(trust=store), "signature", "KEY_NOT_IN_TRUST_LIST")


def test_a_trust_list_missing_the_key(case: Case) -> None:
    other = TrustedKey(
        kid=b"other-kid",
        public_key=ec.generate_private_key(ec.SECP256R1()).public_key(),
        issuer="XX",
    )
    fails(case.verify(trust=StaticKeyStore([other])), "signature", "KEY_NOT_IN_TRUST_LIST")


# --- decoders that return garbage, limits too small ---------------------------------------------


def _cose_only(case: Case) -> None:
    if case.name == "shc":
        pytest.skip("a SMART Health Card has no Base45 or COSE layer")


@pytest.mark.parametrize(
    ("decoder", "stage", "code"),
    [
        (lambda text: b"garbage bytes", "decompress", "DECOMPRESS_FAILED"),
        (lambda text: "text, not bytes", "base45", "BASE45_INVALID"),
        (lambda text: None, "base45", "BASE45_INVALID"),
        (lambda text: int("x"), "base45", "BASE45_INVALID"),
    ],
    ids=["garbage", "text", "none", "raises"],
)
def test_a_broken_base45_decoder(
    case: Case, decoder: Callable[[str], Any], stage: str, code: str
) -> None:
    _cose_only(case)
    fails(case.verify(parts=case.cose_parts(base45=decoder)), stage, code)


def test_a_cose_decoder_that_swaps_the_payload(case: Case) -> None:
    _cose_only(case)
    real = CoseParts().cose

    def swapped(data: bytes) -> CoseSign1:
        msg = real(data)
        return dataclasses.replace(msg, payload=msg.payload[:-1] + b"\x00")

    fails(case.verify(parts=case.cose_parts(cose=swapped)), "signature", "SIGNATURE_INVALID")


@pytest.mark.parametrize(
    "decoder", [lambda data: {"not": "a message"}, lambda data: 1 / 0], ids=["garbage", "raises"]
)
def test_a_broken_cose_decoder(case: Case, decoder: Callable[[bytes], Any]) -> None:
    _cose_only(case)
    fails(case.verify(parts=case.cose_parts(cose=decoder)), "cose", "COSE_MALFORMED")


def test_an_inflate_limit_too_small(case: Case) -> None:
    field = "max_payload_bytes" if case.name == "shc" else "max_inflated_bytes"
    fails(case.verify(parts=case.cose_parts(**{field: 16})), "decompress", "DECOMPRESS_FAILED")


def _shc_only(case: Case) -> None:
    if case.name != "shc":
        pytest.skip("numeric text and JWS belong to SMART Health Cards")


@pytest.mark.parametrize(
    ("decoder", "stage", "code"),
    [
        (lambda text: "garbage", "jws", "JWS_MALFORMED"),
        (lambda text: b"bytes", "numeric", "SHC_NUMERIC_INVALID"),
        (lambda text: int(text), "numeric", "SHC_NUMERIC_INVALID"),
    ],
    ids=["garbage", "bytes", "raises"],
)
def test_a_broken_numeric_decoder(
    case: Case, decoder: Callable[[str], Any], stage: str, code: str
) -> None:
    _shc_only(case)
    fails(case.verify(parts=case.cose_parts(numeric=decoder)), stage, code)


def test_a_jws_decoder_that_swaps_the_payload(case: Case) -> None:
    _shc_only(case)
    real = ShcParts().jws

    def swapped(compact: str) -> Jws:
        jws = real(compact)
        return dataclasses.replace(jws, signing_input=jws.signing_input[:-1] + b"A")

    fails(case.verify(parts=case.cose_parts(jws=swapped)), "signature", "SIGNATURE_INVALID")


@pytest.mark.parametrize("decoder", [lambda c: {"jws": c}, lambda c: [][0]], ids=["dict", "raises"])
def test_a_broken_jws_decoder(case: Case, decoder: Callable[[str], Any]) -> None:
    _shc_only(case)
    fails(case.verify(parts=case.cose_parts(jws=decoder)), "jws", "JWS_MALFORMED")
