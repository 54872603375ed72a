"""Issuing by template (core/trust/template.py) gives byte for byte the plain issuer's code,
but for the signature, which verifies: with deterministic signatures (RFC 6979) the two codes
are the same text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.clock import FixedClock
from healthcode.core.codes import cose
from healthcode.core.codes.base45 import b45decode
from healthcode.core.codes.cose import sign1_decode
from healthcode.core.codes.native import BADGES, COLOURS, PREFIX
from healthcode.core.codes.status_list import StatusReference
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.trust.certs import KeyPair, make_root, make_signer, province_of_certificate
from healthcode.core.trust.issue import CodeContent, CodeIssuer
from healthcode.core.trust.trustlist import SignerEntry, TrustList
from healthcode.core.verify import NativeSettings, Verifier

T0 = datetime(2022, 11, 1, tzinfo=UTC)  # the signers' start (conftest.py)
DAY = timedelta(days=1)
_NAMES = st.text(alphabet="张王李赵*丰明 ab", min_size=1, max_size=12)
_CONTENTS = st.builds(
    CodeContent,
    subject=st.binary(min_size=8, max_size=32).map(bytes.hex),
    colour=st.sampled_from(sorted(COLOURS)),
    badges=st.lists(st.sampled_from(sorted(BADGES)), unique=True, max_size=3).map(tuple),
    rule_set=st.text(alphabet="nationl@2022.11abcdef", min_size=1, max_size=32),
    masked_name=_NAMES,
    masked_id=st.sampled_from(["4401**********1234", "E1****78", "1***"]),
    light=st.booleans(),
)
_STATUS = st.none() | st.builds(
    StatusReference,
    idx=st.integers(min_value=0, max_value=(1 << 24) - 1),
    uri=st.sampled_from(["hc://status-list/440000/0", "hc://status-list/440000/15"]),
)


@contextmanager
def _deterministic() -> Iterator[None]:
    """Signatures by RFC 6979: the same message signed twice is the same bytes."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cose, "_ECDSA_SHA256", ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
        yield


def _parts(text: str) -> tuple[bytes, bytes, bytes, bytes]:
    data = b45decode(text[len(PREFIX) :])
    message = sign1_decode(data)
    return data, message.protected_bytes, message.payload, message.signature


@settings(max_examples=80, deadline=None)
@given(
    content=_CONTENTS,
    serial=st.binary(min_size=8, max_size=32),
    status=_STATUS,
    seconds=st.integers(min_value=0, max_value=60 * 86400),
    micro=st.integers(min_value=0, max_value=999_999),
    lifetime=st.sampled_from([timedelta(minutes=5), timedelta(days=1), timedelta(seconds=1)]),
)
def test_a_template_code_is_the_plain_code(
    gd: KeyPair,
    content: CodeContent,
    serial: bytes,
    status: StatusReference | None,
    seconds: int,
    micro: int,
    lifetime: timedelta,
) -> None:
    issuer = CodeIssuer(gd)
    clock = FixedClock(T0 + timedelta(seconds=seconds, microseconds=micro))
    template = issuer.template(content, serial=serial, status=status)
    fast = issuer.issue_templated(template, clock=clock, lifetime=lifetime)
    plain = issuer.issue(content, clock=clock, lifetime=lifetime, serial=serial, status=status)
    data, protected, payload, signature = _parts(fast)
    assert _parts(plain)[1:3] == (protected, payload)
    # the whole COSE_Sign1 is what the plain encoder writes with this signature
    assert data == cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    cose.verify_signature(sign1_decode(data), gd.certificate.public_key())
    with _deterministic():
        assert issuer.issue_templated(template, clock=clock, lifetime=lifetime) == issuer.issue(
            content, clock=clock, lifetime=lifetime, serial=serial, status=status
        )


def test_a_template_code_passes_the_verifier(gd: KeyPair) -> None:
    content = CodeContent(
        subject="ab" * 16,
        colour="yellow",
        badges=("nat-48h", "vaccine-3"),
        rule_set="national@2022.11",
        masked_name="张*丰",
        masked_id="4401**********1234",
    )
    now = T0 + timedelta(days=3, seconds=7)
    issuer = CodeIssuer(gd)
    text = issuer.issue_templated(issuer.template(content, serial=bytes(12)), clock=FixedClock(now))
    entry = SignerEntry(province_of_certificate(gd.certificate), gd.certificate, None)
    settings = NativeSettings(trust=TrustList(signers=[entry]), rules=())
    result = Verifier.default(native=settings, clock=FixedClock(now)).verify(text)
    assert result.valid, result.reason
    assert (result.colour, result.badges, result.issued_at) == (
        "yellow",
        ("nat-48h", "vaccine-3"),
        now.replace(microsecond=0),
    )


def test_times_beyond_uint32_take_the_plain_encoder() -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    root = make_root(now=epoch)
    old = make_signer(root=root, province="440000", not_before=epoch, not_after=epoch + DAY)
    content = CodeContent(
        subject="cd" * 16, colour="green", badges=(), rule_set="r", masked_name="x", masked_id="1*"
    )
    issuer = CodeIssuer(old)
    template = issuer.template(content, serial=bytes(12))
    with _deterministic():
        for at in (epoch, epoch + timedelta(hours=18, minutes=12, seconds=15)):
            clock = FixedClock(at)
            assert issuer.issue_templated(template, clock=clock) == issuer.issue(
                content, clock=clock, serial=bytes(12)
            )


def test_the_template_checks_what_issue_checks(gd: KeyPair, bj: KeyPair) -> None:
    content = CodeContent(
        subject="ab" * 16,
        colour="green",
        badges=(),
        rule_set="r",
        masked_name="张*",
        masked_id="4401**********1234",
    )
    issuer = CodeIssuer(gd)
    template = issuer.template(content, serial=bytes(12))
    late = FixedClock(T0 + timedelta(days=90))
    with pytest.raises(TrustError, match="outlive"):
        issuer.issue_templated(template, clock=late)
    with pytest.raises(TrustError, match="outlive"):
        issuer.issue(content, clock=late, serial=bytes(12))
    with pytest.raises(VerificationFailed, match="PAYLOAD_INVALID"):
        issuer.template(content, serial=bytes(3))
    with pytest.raises(ValueError, match="another signer"):
        CodeIssuer(bj).issue_templated(template, clock=FixedClock(T0))
