"""core/codes/native.py: issuing, the claim map, the payload schema."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from healthcode.core.clock import FixedClock
from healthcode.core.codes.base45 import ALPHABET, b45decode
from healthcode.core.codes.cose import sign1_decode
from healthcode.core.codes.cwt import CTI, EXP, IAT, ISS, SUB, decode_claims
from healthcode.core.codes.native import (
    HC_CLAIM,
    PAPER_LIFETIME,
    PREFIX,
    build_claims,
    parse_payload,
    peek_code,
)
from healthcode.core.errors import TrustError, VerificationFailed
from healthcode.core.trust.certs import KeyPair, make_root, make_signer
from healthcode.core.trust.issue import issue_code

T = datetime(2022, 11, 20, 8, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def signer() -> KeyPair:
    root = make_root(now=T - timedelta(days=1))
    return make_signer(
        root=root,
        province="440000",
        not_before=T - timedelta(days=1),
        not_after=T + timedelta(days=30),
    )


def _issue(signer: KeyPair, **kw: Any) -> str:
    args: dict[str, Any] = dict(
        signer=signer,
        subject="0f" * 16,
        colour="yellow",
        badges=["nat-48h", "vaccine-3"],
        rule_set="2022.11-9",
        masked_name="张*丰",
        masked_id="4401**********1234",
        clock=FixedClock(T),
    )
    args.update(kw)
    return issue_code(**args)


def test_issue_and_peek(signer: KeyPair) -> None:
    text = _issue(signer, serial=b"\x01" * 12)
    assert text.startswith(PREFIX)
    assert all(ch in ALPHABET for ch in text)  # fits QR alphanumeric mode
    p = peek_code(text)
    assert (p.issuer, p.colour, p.badges, p.rule_set) == (
        "440000",
        "yellow",
        ("nat-48h", "vaccine-3"),
        "2022.11-9",
    )
    assert (p.masked_name, p.masked_id, p.serial) == ("张*丰", "4401**********1234", b"\x01" * 12)
    assert p.issued_at == T and p.expires_at - p.issued_at == timedelta(minutes=5)


def test_claim_map_is_compact(signer: KeyPair) -> None:
    text = _issue(signer)
    msg = sign1_decode(zlib.decompress(b45decode(text[len(PREFIX) :])))
    claims = decode_claims(msg.payload)
    assert set(claims) == {ISS, SUB, EXP, IAT, CTI, HC_CLAIM}
    assert claims[HC_CLAIM][2] == 1  # yellow as an integer
    assert claims[HC_CLAIM][3] == [2, 13]
    assert msg.kid == signer.kid and msg.alg == -7
    assert len(text) < 400  # a QR of version ~10 at level M


def test_serials_are_random(signer: KeyPair) -> None:
    assert peek_code(_issue(signer)).serial != peek_code(_issue(signer)).serial


def test_paper_lifetime(signer: KeyPair) -> None:
    p = peek_code(_issue(signer, lifetime=PAPER_LIFETIME))
    assert p.expires_at - p.issued_at == timedelta(days=1)


def test_code_never_outlives_its_signer(signer: KeyPair) -> None:
    with pytest.raises(TrustError) as err:
        _issue(signer, clock=FixedClock(T + timedelta(days=30) - timedelta(minutes=1)))
    assert err.value.code == "CERT_EXPIRED"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"masked_id": "440106199003071234"}, "hc.id"),  # an unmasked ID never goes into a code
        ({"subject": "NOT-HEX"}, "sub"),
        ({"lifetime": timedelta(days=2)}, "exp"),
        ({"masked_name": ""}, "hc.name"),
        ({"rule_set": "x" * 40}, "hc.rule_set"),
    ],
)
def test_issue_refuses_what_a_verifier_would_refuse(
    signer: KeyPair, kw: dict[str, Any], field: str
) -> None:
    with pytest.raises(VerificationFailed) as err:
        _issue(signer, **kw)
    assert (err.value.code, err.value.stage, err.value.details["field"]) == (
        "PAYLOAD_INVALID",
        "schema",
        field,
    )


def test_unknown_colour_or_badge(signer: KeyPair) -> None:
    with pytest.raises(VerificationFailed):
        _issue(signer, colour="blue")
    with pytest.raises(VerificationFailed):
        _issue(signer, badges=["nat-1y"])


def _claims() -> dict[int, Any]:
    return build_claims(
        issuer="440000",
        subject="ab" * 8,
        issued_at=T,
        expires_at=T + timedelta(minutes=5),
        serial=b"s" * 8,
        colour="red",
        badges=[],
        rule_set="r",
        masked_name="x",
        masked_id="1***",
    )


@pytest.mark.parametrize(
    ("mutate", "code", "field"),
    [
        (lambda c: c.update({99: 1}), "PAYLOAD_INVALID", "claims"),
        (lambda c: c.pop(HC_CLAIM), "PAYLOAD_INVALID", "hc"),
        (lambda c: c[HC_CLAIM].update({1: 2}), "PAYLOAD_VERSION_UNKNOWN", "hc.v"),
        (lambda c: c[HC_CLAIM].update({9: 0}), "PAYLOAD_INVALID", "hc"),
        (lambda c: c.update({ISS: "440100"}), "PAYLOAD_INVALID", "iss"),
        (lambda c: c.update({CTI: b"short"}), "PAYLOAD_INVALID", "cti"),
        (lambda c: c.update({IAT: True}), "PAYLOAD_INVALID", "iat"),
        (lambda c: c[HC_CLAIM].update({2: 3}), "PAYLOAD_INVALID", "hc.colour"),
        (lambda c: c[HC_CLAIM].update({2: True}), "PAYLOAD_INVALID", "hc.colour"),
        (lambda c: c[HC_CLAIM].update({3: [1, 1]}), "PAYLOAD_INVALID", "hc.badges"),
        (lambda c: c[HC_CLAIM].update({3: [5]}), "PAYLOAD_INVALID", "hc.badges"),
        (lambda c: c.update({EXP: c[IAT]}), "PAYLOAD_INVALID", "exp"),
    ],
)
def test_schema(mutate: Any, code: str, field: str) -> None:
    claims = _claims()
    assert parse_payload(claims).colour == "red"
    mutate(claims)
    with pytest.raises(VerificationFailed) as err:
        parse_payload(claims)
    assert (err.value.code, err.value.stage, err.value.details["field"]) == (code, "schema", field)
