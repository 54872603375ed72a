"""Issuing by template (core/trust/template.py) gives byte for byte the plain issuer's code,
but for the signature, which verifies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.clock import FixedClock
from healthcode.core.codes.base45 import b45decode
from healthcode.core.codes.cose import sign1_decode, verify_signature
from healthcode.core.codes.native import BADGES, COLOURS, PREFIX
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.trust.certs import KeyPair
from healthcode.core.trust.issue import CodeContent, CodeIssuer

T0 = datetime(2022, 11, 1, tzinfo=UTC)  # the signers' start (conftest.py)
_NAMES = st.text(alphabet="张王李赵*丰明 ab", min_size=1, max_size=12)


def _parts(text: str) -> tuple[bytes, bytes, bytes, bytes]:
    cose = b45decode(text[len(PREFIX) :])
    message = sign1_decode(cose)
    return cose, message.protected_bytes, message.payload, message.signature


@settings(max_examples=60, deadline=None)
@given(
    colour=st.sampled_from(sorted(COLOURS)),
    badges=st.lists(st.sampled_from(sorted(BADGES)), unique=True, max_size=3),
    name=_NAMES,
    subject=st.binary(min_size=16, max_size=32).map(bytes.hex),
    serial=st.binary(min_size=8, max_size=32),
    seconds=st.integers(min_value=0, max_value=60 * 86400),
    lifetime=st.sampled_from([timedelta(minutes=5), timedelta(days=1), timedelta(seconds=1)]),
)
def test_a_template_code_is_the_plain_code(
    gd: KeyPair,
    colour: str,
    badges: list[str],
    name: str,
    subject: str,
    serial: bytes,
    seconds: int,
    lifetime: timedelta,
) -> None:
    content = CodeContent(
        subject=subject,
        colour=colour,
        badges=tuple(badges),
        rule_set="national@2022.11",
        masked_name=name,
        masked_id="4401**********1234",
    )
    issuer = CodeIssuer(gd)
    clock = FixedClock(T0 + timedelta(seconds=seconds, microseconds=seconds % 997))
    fast = issuer.issue_kept(content, clock=clock, lifetime=lifetime, serial=serial)
    plain = issuer.issue(content, clock=clock, lifetime=lifetime, serial=serial)
    cose, protected, payload, signature = _parts(fast)
    _, plain_protected, plain_payload, _ = _parts(plain)
    assert (protected, payload) == (plain_protected, plain_payload)
    # the whole COSE_Sign1 is what the plain encoder writes with this signature
    rebuilt = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, signature]))
    assert cose == rebuilt
    verify_signature(sign1_decode(cose), gd.certificate.public_key())


def test_the_template_checks_what_issue_checks(gd: KeyPair) -> None:
    content = CodeContent(
        subject="ab" * 16,
        colour="green",
        badges=(),
        rule_set="r",
        masked_name="张*",
        masked_id="4401**********1234",
    )
    issuer = CodeIssuer(gd)
    with pytest.raises(TrustError, match="outlive"):
        issuer.issue_kept(content, clock=FixedClock(T0 + timedelta(days=90)), serial=bytes(12))
    with pytest.raises(TrustError, match="outlive"):
        issuer.issue(content, clock=FixedClock(T0 + timedelta(days=90)), serial=bytes(12))
    with pytest.raises(VerificationFailed, match="PAYLOAD_INVALID"):
        issuer.issue_kept(content, clock=FixedClock(T0), serial=bytes(3))
