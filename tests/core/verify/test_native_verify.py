"""core/verify/native.py: the native pipeline, hostile codes, and a byte flip at every position."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthcode.core.clock import FixedClock
from healthcode.core.codes.base45 import b45decode, b45encode
from healthcode.core.codes.cose import SIGN1_STARTS
from healthcode.core.codes.native import (
    PAPER_LIFETIME,
    PREFIX,
    build_claims,
    encode_signed,
)
from healthcode.core.errors import HealthcodeError, TrustError
from healthcode.core.keys import StaticKeyStore
from healthcode.core.trust.certs import KeyPair, make_publisher, make_root, make_signer
from healthcode.core.trust.envelope import seal
from healthcode.core.trust.issue import issue_code
from healthcode.core.trust.trustlist import SignerEntry, TrustList, TrustStore
from healthcode.core.verify import DEFAULT_RULES, NativeFormat, NativeSettings, Verifier
from healthcode.core.verify.result import VerificationResult

T0 = datetime(2022, 11, 1, tzinfo=UTC)
NOW = datetime(2022, 11, 20, 8, 0, tzinfo=UTC)
NO_RULES: tuple[Any, ...] = ()


@pytest.fixture(scope="module")
def root() -> KeyPair:
    return make_root(now=T0)


def _signer(root: KeyPair, province: str, days: int = 90) -> KeyPair:
    return make_signer(
        root=root, province=province, not_before=T0, not_after=T0 + timedelta(days=days)
    )


@pytest.fixture(scope="module")
def gd(root: KeyPair) -> KeyPair:
    return _signer(root, "440000")


@pytest.fixture(scope="module")
def bj(root: KeyPair) -> KeyPair:
    return _signer(root, "110000")


def _trust(*signers: KeyPair, **kw: Any) -> TrustList:
    from healthcode.core.trust.certs import province_of_certificate

    retired = kw.pop("retired", {})
    entries = [
        SignerEntry(province_of_certificate(s.certificate), s.certificate, retired.get(s.kid))
        for s in signers
    ]
    return TrustList(signers=entries, **kw)


def _ctx(
    trust: Any, at: datetime = NOW, rules: Any = NO_RULES, destination: str | None = None
) -> Verifier:
    settings = NativeSettings(trust=trust, rules=rules, destination=destination)
    return Verifier.default(native=settings, clock=FixedClock(at))


def _issue(signer: KeyPair, at: datetime = NOW, **kw: Any) -> str:
    args: dict[str, Any] = dict(
        signer=signer,
        subject="ab" * 16,
        colour="green",
        badges=["nat-48h"],
        rule_set="2022.11",
        masked_name="张*丰",
        masked_id="4401**********1234",
        clock=FixedClock(at),
    )
    args.update(kw)
    return issue_code(**args)


def _fails(result: VerificationResult, stage: str, code: str) -> None:
    assert not result.valid
    assert (result.stage, result.error_code) == (stage, code), result.reason


def test_valid_code(gd: KeyPair, bj: KeyPair) -> None:
    r = _ctx(_trust(gd, bj)).verify(_issue(gd))
    assert r.valid, r.reason
    assert (r.format, r.issuer, r.colour, r.badges) == ("native", "440000", "green", ("nat-48h",))
    assert r.subject == {"name": "张*丰", "id": "4401**********1234", "pseudonym": "ab" * 16}
    assert r.kid == gd.kid.hex() and r.issued_at == NOW
    assert r.expires_at == NOW + timedelta(minutes=5)


def test_expired_with_bounded_skew(gd: KeyPair) -> None:
    text = _issue(gd)
    assert _ctx(_trust(gd), NOW + timedelta(minutes=9)).verify(text).valid
    _fails(_ctx(_trust(gd), NOW + timedelta(minutes=11)).verify(text), "claims", "CWT_EXPIRED")


def test_not_yet_valid(gd: KeyPair) -> None:
    _fails(
        _ctx(_trust(gd), NOW - timedelta(minutes=6)).verify(_issue(gd)),
        "claims",
        "CWT_NOT_YET_VALID",
    )


def test_wrong_key(root: KeyPair, gd: KeyPair) -> None:
    impostor = _signer(root, "440000")  # a key the trust list does not hold, same kid claimed
    claims = build_claims(
        issuer="440000",
        subject="ab" * 16,
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        serial=b"x" * 12,
        colour="green",
        badges=[],
        rule_set="r",
        masked_name="x",
        masked_id="1***",
    )
    text = encode_signed(claims, private_key=impostor.private_key, kid=gd.kid)
    _fails(_ctx(_trust(gd)).verify(text), "signature", "SIGNATURE_INVALID")
    _fails(_ctx(_trust(gd)).verify(_issue(impostor)), "signature", "KEY_NOT_IN_TRUST_LIST")


def test_every_key_sharing_a_kid_is_tried(root: KeyPair, gd: KeyPair) -> None:
    other = _signer(root, "440000")

    class Colliding(TrustList):
        def keys_for_kid(self, kid: bytes) -> Any:  # two keys under one kid, the right one last
            return (*_trust(other).keys_for_kid(other.kid), *super().keys_for_kid(kid))

    assert _ctx(Colliding(signers=_trust(gd).signers)).verify(_issue(gd)).valid


def test_revoked_serial(gd: KeyPair) -> None:
    text = _issue(gd, serial=b"\x07" * 12)
    trust = _trust(gd, revoked_serials={b"\x07" * 12: NOW + timedelta(days=1)})
    r = _ctx(trust).verify(text)
    _fails(r, "revocation", "CODE_REVOKED")
    assert r.issuer == "440000" and r.payload is not None


def test_revoked_signer(gd: KeyPair) -> None:
    _fails(
        _ctx(_trust(gd, revoked_signers=frozenset({gd.kid}))).verify(_issue(gd)),
        "signature",
        "KEY_REVOKED",
    )


def test_province_a_claiming_to_be_b(gd: KeyPair, bj: KeyPair) -> None:
    claims = build_claims(
        issuer="110000",
        subject="ab" * 16,
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        serial=b"x" * 12,
        colour="green",
        badges=[],
        rule_set="r",
        masked_name="x",
        masked_id="1***",
    )
    text = encode_signed(claims, private_key=gd.private_key, kid=gd.kid)
    r = _ctx(_trust(gd, bj)).verify(text)
    _fails(r, "claims", "ISSUER_MISMATCH")
    assert r.issuer == "440000"  # who really signed it


def test_signer_expired_or_not_yet_valid(root: KeyPair) -> None:
    short = _signer(root, "440000", days=20)  # valid until Nov 21
    text = _issue(short, lifetime=timedelta(hours=1))
    assert _ctx(_trust(short)).verify(text).valid
    late = make_signer(
        root=root,
        province="440000",
        not_before=NOW + timedelta(hours=1),
        not_after=NOW + timedelta(days=2),
    )
    claims = build_claims(
        issuer="440000",
        subject="ab" * 16,
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
        serial=b"x" * 12,
        colour="green",
        badges=[],
        rule_set="r",
        masked_name="x",
        masked_id="1***",
    )
    text = encode_signed(claims, private_key=late.private_key, kid=late.kid)
    _fails(_ctx(_trust(late)).verify(text), "signature", "KEY_NOT_YET_VALID")


def test_rotation_old_codes_stay_valid_new_ones_by_retired_key_refused(
    root: KeyPair, gd: KeyPair
) -> None:
    new = _signer(root, "440000")
    retired_at = NOW + timedelta(minutes=1)
    trust = _trust(gd, new, retired={gd.kid: retired_at})
    old_code = _issue(gd, lifetime=PAPER_LIFETIME)
    assert _ctx(trust, NOW + timedelta(hours=20)).verify(old_code).valid
    assert _ctx(trust, NOW + timedelta(hours=1)).verify(_issue(new, NOW + timedelta(hours=1))).valid
    stolen = _issue(gd, NOW + timedelta(hours=1))  # the retired key signing after retirement
    _fails(_ctx(trust, NOW + timedelta(hours=1)).verify(stolen), "claims", "SIGNER_RETIRED")


def test_rolled_back_trust_list_is_refused(tmp_path: Path, root: KeyPair, gd: KeyPair) -> None:
    publisher = make_publisher(root=root, not_before=NOW, not_after=NOW + timedelta(days=30))
    old = seal(
        _trust(gd).to_content(),
        kind="trust-list",
        sequence=1,
        not_before=NOW,
        expires=NOW + timedelta(days=1),
        publisher=publisher,
    )
    new = seal(
        _trust(gd, revoked_signers=frozenset({gd.kid})).to_content(),
        kind="trust-list",
        sequence=2,
        not_before=NOW,
        expires=NOW + timedelta(days=1),
        publisher=publisher,
    )
    store = TrustStore(tmp_path, root_cert=root.certificate, clock=FixedClock(NOW))
    store.accept(new)
    with pytest.raises(TrustError) as err:
        store.accept(old)  # an attacker replays the list from before the revocation
    assert err.value.code == "ENVELOPE_ROLLBACK"
    _fails(_ctx(store.current()).verify(_issue(gd)), "signature", "KEY_REVOKED")


def test_a_key_store_without_revocations_fails_closed(gd: KeyPair) -> None:
    keys = StaticKeyStore(list(_trust(gd).keys_for_kid(gd.kid)))
    _fails(_ctx(keys).verify(_issue(gd)), "revocation", "REVOCATION_UNAVAILABLE")


def test_default_rules_pass_green_only(gd: KeyPair) -> None:
    assert _ctx(_trust(gd), rules=DEFAULT_RULES).verify(_issue(gd)).valid
    r = _ctx(_trust(gd), rules=DEFAULT_RULES).verify(_issue(gd, colour="red"))
    _fails(r, "rules", "RULE_FAILED")
    assert r.payload is not None and r.payload["colour"] == "red"
    assert _ctx(_trust(gd)).verify(_issue(gd, colour="red")).colour == "red"


def test_acceptance_rules_per_destination(gd: KeyPair) -> None:
    rules = [
        {
            "id": "GZ-NAT-48H",
            "destination": "440100",
            "description": "NAT within 48 h",
            "logic": {"in": ["nat-24h", {"var": "payload.badges"}]},
        },
        {"id": "GREEN", "logic": {"===": [{"var": "payload.colour"}, "green"]}},
    ]
    text = _issue(gd)  # green, NAT 48 h
    guangzhou = _ctx(_trust(gd), rules=rules, destination="440106")
    beijing = _ctx(_trust(gd), rules=rules, destination="110101")
    r = guangzhou.verify(text)
    _fails(r, "rules", "RULE_FAILED")
    assert r.reason == "NAT within 48 h"
    assert beijing.verify(text).valid


def test_a_broken_rule_is_a_rule_error(gd: KeyPair) -> None:
    rules = [{"id": "BAD", "logic": {"nope": [1]}}]
    _fails(_ctx(_trust(gd), rules=rules).verify(_issue(gd)), "rules", "RULE_ERROR")


def _cose_of(text: str) -> bytes:
    data = b45decode(text[len(PREFIX) :])
    return data if data.startswith(SIGN1_STARTS) else zlib.decompress(data)


def _text_of(cose: bytes, compress: bool = True) -> str:
    return PREFIX + b45encode(zlib.compress(cose, 9) if compress else cose)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("envelope", [{}, {"tag": False}, {"cwt_tag": True}])
def test_a_code_verifies_with_or_without_zlib(
    gd: KeyPair, compress: bool, envelope: dict[str, bool]
) -> None:
    """zlib is optional in the format: both forms verify, in every envelope COSE accepts."""
    from healthcode.core.codes.cose import sign1_encode

    issued = _cose_of(_issue(gd))
    payload = cbor2.loads(issued).value[2]
    cose = sign1_encode(payload, private_key=gd.private_key, kid=gd.kid, **envelope)
    r = _ctx(_trust(gd)).verify(_text_of(cose, compress))
    assert r.valid and r.colour == "green", (r.stage, r.error_code)


def test_issued_codes_are_not_compressed(gd: KeyPair) -> None:
    assert b45decode(_issue(gd)[len(PREFIX) :]).startswith(b"\xd2")  # tag 18, no zlib header


@pytest.mark.parametrize(
    "data",
    [
        b"\xa0",  # a CBOR map: neither a COSE_Sign1 nor zlib
        b"\x83\x40\xa0\x40",  # an array of 3
        b"\xd1\x84\x40\xa0\x40\x40",  # tag 17 (COSE_Mac0)
        b"\x78\x9c" + b"\xd2" * 20,  # a zlib header, then no deflate stream
    ],
)
def test_neither_zlib_nor_a_cose_sign1_fails_to_decompress(gd: KeyPair, data: bytes) -> None:
    _fails(_ctx(_trust(gd)).verify(PREFIX + b45encode(data)), "decompress", "DECOMPRESS_FAILED")


def test_eu_dcc_still_needs_zlib(gd: KeyPair) -> None:
    """Only the native format makes zlib optional; ``HC1:`` stays as its specification tests."""
    r = Verifier.default(clock=FixedClock(NOW)).verify("HC1:" + b45encode(_cose_of(_issue(gd))))
    assert (r.stage, r.error_code) == ("decompress", "DECOMPRESS_FAILED")


@pytest.mark.parametrize(
    ("text", "stage", "code"),
    [
        ("CN1:", "decompress", "DECOMPRESS_FAILED"),
        ("CN1:abc", "base45", "BASE45_INVALID"),
        ("CN1:" + b45encode(zlib.compress(b"\xa0")), "cose", "COSE_MALFORMED"),
        ("CN1:" + b45encode(b"not zlib"), "decompress", "DECOMPRESS_FAILED"),
    ],
)
def test_garbage_fails_at_its_stage(gd: KeyPair, text: str, stage: str, code: str) -> None:
    _fails(_ctx(_trust(gd)).verify(text), stage, code)


def test_payload_that_is_not_a_claim_map(gd: KeyPair) -> None:
    from healthcode.core.codes.cose import sign1_encode

    cose = sign1_encode(cbor2.dumps([1, 2]), private_key=gd.private_key, kid=gd.kid)
    _fails(_ctx(_trust(gd)).verify(_text_of(cose)), "claims", "CWT_MALFORMED")


@pytest.fixture(scope="module")
def valid_text(gd: KeyPair) -> str:
    return _issue(gd)


_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(data=st.data())
def test_flipping_any_character_of_the_text_fails(
    data: st.DataObject, gd: KeyPair, valid_text: str
) -> None:
    i = data.draw(st.integers(0, len(valid_text) - 1))
    ch = data.draw(st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:a"))
    if ch == valid_text[i]:
        return
    text = valid_text[:i] + ch + valid_text[i + 1 :]
    r = _ctx(_trust(gd)).verify(text)
    if r.valid:
        # Only in a compressed code can a change leave what is signed unchanged (the unused
        # padding bits after the last deflate block): the COSE bytes must be the very same.
        assert _cose_of(text) == _cose_of(valid_text), (i, ch)
        return
    expected = {"prefix"} if i < len(PREFIX) else {"base45", "decompress", "cose", "signature"}
    assert r.stage in expected, (i, r.stage, r.error_code)


def test_a_flip_in_the_deflate_padding_bits_leaves_the_signed_message_unchanged(
    gd: KeyPair,
) -> None:
    """The one flip that verifies: zlib ignores the padding bits of the final deflate byte,
    so the signed bytes (and so the code) are the same; any other change of them fails."""
    compressed = bytearray(zlib.compress(_cose_of(_issue(gd)), 9))
    last_deflate_byte = len(compressed) - 5  # then the 4 bytes of Adler-32
    for bit in range(8):
        mutated = bytearray(compressed)
        mutated[last_deflate_byte] ^= 1 << bit
        text = PREFIX + b45encode(bytes(mutated))
        r = _ctx(_trust(gd)).verify(text)
        try:
            same = zlib.decompress(bytes(mutated)) == zlib.decompress(bytes(compressed))
        except zlib.error:
            same = False
        assert r.valid == same, (bit, r.stage, r.error_code)


@_SETTINGS
@given(data=st.data(), compress=st.booleans())
def test_flipping_any_byte_of_the_cose_message_fails_at_cose_or_signature(
    data: st.DataObject, compress: bool, gd: KeyPair, valid_text: str
) -> None:
    cose = _cose_of(valid_text)
    item = cbor2.loads(cose).value
    payload, signature = item[2], item[3]
    p_start = cose.index(payload)
    s_start = len(cose) - len(signature)
    i = data.draw(st.integers(0, len(cose) - 1))
    flip = data.draw(st.integers(1, 255))
    broken = bytearray(cose)
    broken[i] ^= flip
    r = _ctx(_trust(gd)).verify(_text_of(bytes(broken), compress))
    assert not r.valid
    if p_start <= i < p_start + len(payload) or i >= s_start:
        # The signed content or the signature itself: only the signature check can notice.
        assert (r.stage, r.error_code) == ("signature", "SIGNATURE_INVALID")
    elif i == 0 and not compress:
        # Without zlib the first byte says what the bytes are: no longer a COSE_Sign1's, they
        # are taken for zlib data and fail there (or, as another envelope, at cose).
        assert r.stage in {"decompress", "cose"}, (i, r.stage, r.error_code)
    else:
        assert r.stage in {"cose", "signature"}, (i, r.stage, r.error_code)


def test_stage_functions_raise_only_project_errors(gd: KeyPair) -> None:
    for text in ["CN1:%%%", "CN1:" + b45encode(zlib.compress(cbor2.dumps({"a": 1})))]:
        with pytest.raises(HealthcodeError):
            NativeFormat(NativeSettings(trust=_trust(gd))).verify(text, NOW)
