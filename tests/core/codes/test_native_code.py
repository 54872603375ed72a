"""core/codes/native.py: issuing, the claim map, the payload schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healthcode.core.clock import FixedClock
from healthcode.core.codes.base45 import ALPHABET, b45decode
from healthcode.core.codes.cose import sign1_decode
from healthcode.core.codes.cwt import CTI, EXP, IAT, ISS, SUB, decode_claims
from healthcode.core.codes.native import (
    BADGES,
    COLOURS,
    HC_CLAIM,
    MAX_CODE_LIFETIME,
    PAPER_LIFETIME,
    PREFIX,
    build_claims,
    encode_signed,
    parse_payload,
    peek_code,
)
from healthcode.core.errors import InvalidInput, TrustError, VerificationFailed
from healthcode.core.trust.certs import KeyPair, make_root, make_signer
from healthcode.core.trust.issue import CodeContent, CodeIssuer, issue_code

T = datetime(2022, 11, 20, 8, 30, tzinfo=UTC)


_SIGNER = make_signer(
    root=make_root(now=T - timedelta(days=1)),
    province="440000",
    not_before=T - timedelta(days=1),
    not_after=T + timedelta(days=30),
)


@pytest.fixture(scope="module")
def signer() -> KeyPair:
    return _SIGNER


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
    cose = b45decode(text[len(PREFIX) :])  # written as it is: zlib does not pay here
    msg = sign1_decode(cose)
    claims = decode_claims(msg.payload)
    assert set(claims) == {ISS, SUB, EXP, IAT, CTI, HC_CLAIM}
    assert claims[HC_CLAIM][2] == 1  # yellow as an integer
    assert claims[HC_CLAIM][3] == [2, 13]
    assert msg.kid == signer.kid and msg.alg == -7
    assert len(text) < 400  # a QR of version ~11 at level M


def test_peek_reads_a_compressed_code_too(signer: KeyPair) -> None:
    p = peek_code(_issue(signer))
    claims = build_claims(
        issuer=p.issuer,
        subject=p.subject,
        issued_at=p.issued_at,
        expires_at=p.expires_at,
        serial=p.serial,
        colour=p.colour,
        badges=p.badges,
        rule_set=p.rule_set,
        masked_name=p.masked_name,
        masked_id=p.masked_id,
    )
    for compress in (False, True):
        text = encode_signed(
            claims, private_key=signer.private_key, kid=signer.kid, compress=compress
        )
        assert peek_code(text) == p
        assert (b45decode(text[len(PREFIX) :])[:1] == b"\x78") is compress  # the zlib header


def test_serials_are_random(signer: KeyPair) -> None:
    assert peek_code(_issue(signer)).serial != peek_code(_issue(signer)).serial


def test_paper_lifetime(signer: KeyPair) -> None:
    p = peek_code(_issue(signer, lifetime=PAPER_LIFETIME))
    assert p.expires_at - p.issued_at == timedelta(days=1)


def test_code_never_outlives_its_signer(signer: KeyPair) -> None:
    with pytest.raises(TrustError) as err:
        _issue(signer, clock=FixedClock(T + timedelta(days=30) - timedelta(minutes=1)))
    assert err.value.code == "CERT_EXPIRED"
    with pytest.raises(TrustError) as err:
        _issue(signer, clock=FixedClock(T + timedelta(days=29, hours=1)), lifetime=PAPER_LIFETIME)
    assert err.value.code == "CERT_EXPIRED"


@pytest.mark.parametrize(
    ("lifetime", "code"),
    [
        (timedelta(0), "CODE_LIFETIME_INVALID"),
        (timedelta(minutes=-5), "CODE_LIFETIME_INVALID"),
        (timedelta(seconds=1.5), "CODE_LIFETIME_INVALID"),
        (MAX_CODE_LIFETIME + timedelta(seconds=1), "CODE_LIFETIME_TOO_LONG"),
        (timedelta(days=2), "CODE_LIFETIME_TOO_LONG"),
    ],
)
def test_a_lifetime_is_positive_and_at_most_the_maximum(
    signer: KeyPair, lifetime: timedelta, code: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        _issue(signer, lifetime=lifetime)
    assert (err.value.code, err.value.details["field"]) == (code, "lifetime")


@pytest.mark.parametrize("lifetime", [timedelta(seconds=1), timedelta(hours=2), MAX_CODE_LIFETIME])
def test_any_lifetime_up_to_the_maximum(signer: KeyPair, lifetime: timedelta) -> None:
    p = peek_code(_issue(signer, lifetime=lifetime))
    assert p.expires_at - p.issued_at == lifetime


def test_a_kept_issuer_issues_as_issue_code(signer: KeyPair) -> None:
    issuer = CodeIssuer(signer)
    assert (issuer.province, issuer.not_after) == ("440000", T + timedelta(days=30))
    fields: dict[str, Any] = dict(
        subject="0f" * 16,
        colour="red",
        badges=("nat-24h",),
        rule_set="r",
        masked_name="张*",
        masked_id="44**1",
    )
    content = CodeContent(**fields)
    kept = peek_code(issuer.issue(content, clock=FixedClock(T), serial=b"\x02" * 12))
    once = peek_code(issue_code(signer=signer, clock=FixedClock(T), serial=b"\x02" * 12, **fields))
    assert kept == once and kept.colour == "red" and kept.serial == b"\x02" * 12


@pytest.mark.parametrize("serial", [b"", b"\x01" * 7, b"\x01" * 33, "0" * 12])
def test_a_given_serial_has_the_size_the_schema_allows(signer: KeyPair, serial: Any) -> None:
    with pytest.raises(VerificationFailed) as err:
        _issue(signer, serial=serial)
    assert (err.value.code, err.value.details["field"]) == ("PAYLOAD_INVALID", "cti")


_texts = st.text(alphabet="ab*0f张-", max_size=34)


@settings(max_examples=300, deadline=None)
@given(
    subject=st.one_of(_texts, st.text(alphabet="0123456789abcdef", min_size=14, max_size=66)),
    colour=st.sampled_from([*COLOURS, "blue"]),
    badges=st.lists(st.sampled_from([*BADGES, "nat-1y"]), max_size=4),
    rule_set=_texts,
    masked_name=_texts,
    masked_id=_texts,
)
def test_content_is_refused_exactly_when_the_verifier_would_refuse_its_codes(
    subject: str, colour: str, badges: list[str], rule_set: str, masked_name: str, masked_id: str
) -> None:
    """A content is checked once, not every code: it must refuse what the schema refuses, and
    every code of a content it accepts must pass the schema."""
    fields: dict[str, Any] = dict(
        colour=colour, badges=badges, rule_set=rule_set, masked_name=masked_name
    )
    try:
        claims = build_claims(
            issuer="440000",
            subject=subject,
            issued_at=T,
            expires_at=T + PAPER_LIFETIME,
            serial=bytes(12),
            masked_id=masked_id,
            **fields,
        )
        parse_payload(claims)
        schema_refuses = False
    except (KeyError, VerificationFailed):
        schema_refuses = True
    try:
        content = CodeContent(subject=subject, masked_id=masked_id, **{**fields, "badges": badges})
    except VerificationFailed as exc:
        assert schema_refuses and exc.code == "PAYLOAD_INVALID"
        return
    assert not schema_refuses
    assert parse_payload(claims) == peek_code(
        CodeIssuer(_SIGNER).issue(
            content, clock=FixedClock(T), lifetime=PAPER_LIFETIME, serial=bytes(12)
        )
    )


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"masked_id": "440106199003071234"}, "hc.id"),  # an unmasked ID never goes into a code
        ({"subject": "NOT-HEX"}, "sub"),
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
