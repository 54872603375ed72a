"""The native format's status_list stage (draft-ietf-oauth-status-list, CWT form), the
Status List Token signed by a publisher, and light codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
import pytest

from healthcode.core.clock import FixedClock
from healthcode.core.codes.base45 import b45decode, b45encode
from healthcode.core.codes.cose import sign1_decode, sign1_encode
from healthcode.core.codes.native import HC_CLAIM, HC_LIGHT_CLAIM, PREFIX, peek_code
from healthcode.core.codes.status_list import (
    CLAIM_STATUS_LIST,
    STATUS_INVALID,
    STATUS_SUPERSEDED,
    StatusList,
    StatusReference,
    list_uri,
    reference_of,
)
from healthcode.core.errors import TrustError
from healthcode.core.trust.certs import KeyPair, make_publisher, make_root, make_signer
from healthcode.core.trust.issue import issue_code
from healthcode.core.trust.status_lists import (
    HeldStatusLists,
    StatusListStore,
    open_status_list,
    seal_status_list,
)
from healthcode.core.trust.trustlist import SignerEntry, TrustList
from healthcode.core.verify import NativeSettings, Verifier
from healthcode.core.verify.native import FULL_CODE_RULE
from healthcode.core.verify.result import VerificationResult

T0 = datetime(2022, 11, 1, tzinfo=UTC)
NOW = datetime(2022, 11, 20, 8, 0, tzinfo=UTC)
GD = "440000"


@pytest.fixture(scope="module")
def root() -> KeyPair:
    return make_root(now=T0)


@pytest.fixture(scope="module")
def gd(root: KeyPair) -> KeyPair:
    return make_signer(root=root, province=GD, not_before=T0, not_after=T0 + timedelta(days=90))


@pytest.fixture(scope="module")
def publisher(root: KeyPair) -> KeyPair:
    return make_publisher(root=root, not_before=T0, not_after=T0 + timedelta(days=60))


def _seal(publisher: KeyPair, statuses: dict[int, int], at: datetime = NOW, **kw: Any) -> bytes:
    lst = StatusList.of(1 << 12, statuses.items())
    args: dict[str, Any] = {
        "uri": list_uri(GD, 0),
        "issued_at": at,
        "expires_at": at + timedelta(days=1),
        "ttl": timedelta(minutes=5),
        "publisher": publisher,
    }
    args.update(kw)
    return seal_status_list(lst, **args)


def _code(gd: KeyPair, index: int | None, *, light: bool = False, at: datetime = NOW) -> str:
    return issue_code(
        signer=gd,
        subject="ab" * 16,
        colour="green",
        badges=["nat-48h"],
        rule_set="2022.11",
        masked_name="张*丰",
        masked_id="4401**********1234",
        clock=FixedClock(at),
        light=light,
        status=None if index is None else reference_of(GD, index),
    )


def _verifier(
    root: KeyPair, gd: KeyPair, tokens: list[bytes] | None, at: datetime = NOW, **kw: Any
) -> Verifier:
    trust = TrustList(signers=[SignerEntry(GD, gd.certificate, None)])
    held = None
    if tokens is not None:
        held = HeldStatusLists(open_status_list(t, root_cert=root.certificate) for t in tokens)
    settings = NativeSettings(trust=trust, status_lists=held, **{"rules": (), **kw})
    return Verifier.default(native=settings, clock=FixedClock(at))


def _fails(result: VerificationResult, code: str, stage: str = "status_list") -> None:
    assert not result.valid
    assert (result.stage, result.error_code) == (stage, code), result.reason


def test_the_spec_example_of_sixteen_one_bit_statuses() -> None:
    # draft-ietf-oauth-status-list, "Compressed Byte Array": the 1-bit and the 2-bit examples
    one = StatusList.of(16, [(i, 1) for i in (0, 3, 4, 5, 7, 8, 9, 13, 15)], bits=1)
    assert bytes(one.data) == bytes.fromhex("b9a3")
    two_bits = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
    two = StatusList.of(12, enumerate(two_bits), bits=2)
    assert bytes(two.data) == bytes.fromhex("c944f9")
    assert StatusList.decode({"bits": 1, "lst": bytes.fromhex("78dadbb918000217015d")}) == one
    decoded = StatusList.decode({"bits": 2, "lst": bytes.fromhex("78da3be9f2130003df0207")})
    assert [decoded.get(i) for i in range(12)] == two_bits


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_set_and_get_every_width(bits: int) -> None:
    lst = StatusList.empty(1000, bits=bits)
    top = (1 << bits) - 1
    for i in range(0, 1000, 7):
        lst.set(i, i % (top + 1))
    again = StatusList.decode(lst.encode())
    assert [again.get(i) for i in range(1000)] == [
        i % (top + 1) if i % 7 == 0 else 0 for i in range(1000)
    ]
    with pytest.raises(IndexError):
        again.get(again.size)
    with pytest.raises(ValueError):
        lst.set(0, top + 1)


def test_a_valid_code_passes_with_a_fresh_list(
    root: KeyPair, gd: KeyPair, publisher: KeyPair
) -> None:
    r = _verifier(root, gd, [_seal(publisher, {})]).verify(_code(gd, 7))
    assert r.valid, r.reason
    assert r.payload is not None and r.payload["status"] == {"idx": 7, "uri": list_uri(GD, 0)}


def test_revoked_and_superseded_codes_are_refused_offline(
    root: KeyPair, gd: KeyPair, publisher: KeyPair
) -> None:
    verifier = _verifier(root, gd, [_seal(publisher, {5: STATUS_INVALID, 6: STATUS_SUPERSEDED})])
    _fails(verifier.verify(_code(gd, 5)), "CODE_REVOKED")
    _fails(verifier.verify(_code(gd, 6)), "CODE_SUPERSEDED")
    assert verifier.verify(_code(gd, 4)).valid


def test_a_stale_list_is_refused_past_its_max_age(
    root: KeyPair, gd: KeyPair, publisher: KeyPair
) -> None:
    token = _seal(publisher, {}, at=NOW - timedelta(hours=3), expires_at=NOW + timedelta(days=1))
    young = _verifier(root, gd, [token], status_max_age=timedelta(hours=4))
    assert young.verify(_code(gd, 1)).valid
    old = _verifier(root, gd, [token], status_max_age=timedelta(hours=2))
    _fails(old.verify(_code(gd, 1)), "STATUS_LIST_STALE")


def test_an_expired_list_is_refused(root: KeyPair, gd: KeyPair, publisher: KeyPair) -> None:
    token = _seal(publisher, {}, at=NOW - timedelta(hours=3), expires_at=NOW - timedelta(hours=1))
    verifier = _verifier(root, gd, [token], status_max_age=timedelta(days=2))
    _fails(verifier.verify(_code(gd, 1)), "STATUS_LIST_STALE")


def test_missing_list_and_index_out_of_range(
    root: KeyPair, gd: KeyPair, publisher: KeyPair
) -> None:
    _fails(_verifier(root, gd, []).verify(_code(gd, 1)), "STATUS_LIST_MISSING")
    _fails(
        _verifier(root, gd, [_seal(publisher, {})]).verify(_code(gd, 1 << 12)),
        "STATUS_INDEX_OUT_OF_RANGE",
    )


def test_without_lists_no_status_is_checked(root: KeyPair, gd: KeyPair) -> None:
    assert _verifier(root, gd, None).verify(_code(gd, 1)).valid
    assert _verifier(root, gd, []).verify(_code(gd, None)).valid  # an issuer giving no index


def test_a_list_signed_by_a_wrong_key_is_refused(root: KeyPair, publisher: KeyPair) -> None:
    other_root = make_root(now=T0)
    stranger = make_publisher(root=other_root, not_before=T0, not_after=T0 + timedelta(days=60))
    with pytest.raises(TrustError) as caught:
        open_status_list(_seal(stranger, {}), root_cert=root.certificate)
    assert caught.value.code == "STATUS_LIST_SIGNER_INVALID"
    signer = make_signer(root=root, province=GD, not_before=T0, not_after=T0 + timedelta(days=90))
    with pytest.raises(TrustError) as caught:  # a code signer may not publish
        open_status_list(_seal(signer, {}), root_cert=root.certificate)
    assert caught.value.code == "STATUS_LIST_SIGNER_INVALID"
    with pytest.raises(TrustError) as caught:
        open_status_list(
            _seal(publisher, {}), root_cert=root.certificate, revoked_publishers=[publisher.kid]
        )
    assert caught.value.code == "STATUS_LIST_SIGNER_INVALID"


def _resign(
    token: bytes, key: KeyPair, change: Any, *, header: dict[int, Any] | None = None
) -> bytes:
    msg = sign1_decode(token)
    claims = cbor2.loads(msg.payload)
    change(claims)
    headers = {16: "application/statuslist+cwt"} if header is None else header
    return sign1_encode(
        cbor2.dumps(claims),
        private_key=key.private_key,
        kid=key.kid,
        headers=headers,
        unprotected_headers={33: msg.unprotected[33]},
    )


def test_a_tampered_list_fails_its_signature(root: KeyPair, publisher: KeyPair) -> None:
    token = bytearray(_seal(publisher, {3: STATUS_INVALID}))
    msg = sign1_decode(bytes(token))
    claims = cbor2.loads(msg.payload)
    claims[CLAIM_STATUS_LIST] = StatusList.empty(1 << 12).encode()  # everyone valid again
    forged = cbor2.dumps(
        cbor2.CBORTag(
            18, [msg.protected_bytes, msg.unprotected, cbor2.dumps(claims), msg.signature]
        )
    )
    with pytest.raises(TrustError) as caught:
        open_status_list(forged, root_cert=root.certificate)
    assert caught.value.code == "STATUS_LIST_SIGNER_INVALID"


@pytest.mark.parametrize(
    ("change", "header"),
    [
        (lambda c: c.pop(2), None),  # no sub
        (lambda c: c.pop(6), None),  # no iat
        (lambda c: c.__setitem__(65534, 0), None),  # ttl not positive
        (lambda c: c.__setitem__(CLAIM_STATUS_LIST, {"bits": 3, "lst": b""}), None),
        (lambda c: c.__setitem__(CLAIM_STATUS_LIST, {"bits": 2, "lst": b"not zlib"}), None),
        (lambda c: None, {}),  # no typ
        (lambda c: None, {16: "application/cwt"}),
    ],
)
def test_malformed_tokens_are_refused(
    root: KeyPair, publisher: KeyPair, change: Any, header: Any
) -> None:
    forged = _resign(_seal(publisher, {}), publisher, change, header=header)
    with pytest.raises(TrustError) as caught:
        open_status_list(forged, root_cert=root.certificate)
    assert caught.value.code == "STATUS_LIST_INVALID"


def test_a_token_tagged_61_is_refused(root: KeyPair, publisher: KeyPair) -> None:
    token = cbor2.dumps(cbor2.CBORTag(61, cbor2.loads(_seal(publisher, {}))))
    with pytest.raises(TrustError) as caught:
        open_status_list(token, root_cert=root.certificate)
    assert caught.value.code == "STATUS_LIST_INVALID"


def test_a_zlib_bomb_is_refused() -> None:
    import zlib

    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)
    with pytest.raises(TrustError) as caught:
        StatusList.decode({"bits": 1, "lst": bomb})
    assert caught.value.code == "STATUS_LIST_INVALID"


def test_the_store_refuses_a_rolled_back_list(
    tmp_path: Path, root: KeyPair, publisher: KeyPair
) -> None:
    store = StatusListStore(tmp_path, root_cert=root.certificate)
    newer = _seal(publisher, {3: STATUS_INVALID}, at=NOW)
    older = _seal(publisher, {}, at=NOW - timedelta(hours=1))
    assert store.accept(newer).status_list.get(3) == STATUS_INVALID
    with pytest.raises(TrustError) as caught:
        store.accept(older)
    assert caught.value.code == "ENVELOPE_ROLLBACK"
    again = StatusListStore(tmp_path, root_cert=root.certificate)  # survives the process
    held = again.token_for(list_uri(GD, 0))
    assert held is not None and held.status_list.get(3) == STATUS_INVALID
    with pytest.raises(TrustError):
        again.accept(older)


def test_a_code_of_one_province_cannot_point_at_anothers_list(
    root: KeyPair, gd: KeyPair, publisher: KeyPair
) -> None:
    text = issue_code(
        signer=gd,
        subject="ab" * 16,
        colour="green",
        rule_set="2022.11",
        masked_name="张*丰",
        masked_id="4401**********1234",
        clock=FixedClock(NOW),
        status=StatusReference(idx=1, uri=list_uri("110000", 0)),
    )
    _fails(_verifier(root, gd, [_seal(publisher, {})]).verify(text), "PAYLOAD_INVALID")


# -- light codes ----------------------------------------------------------------------------------
def test_a_light_code_round_trips_with_colour_only(root: KeyPair, gd: KeyPair) -> None:
    text = _code(gd, None, light=True)
    r = _verifier(root, gd, None).verify(text)
    assert r.valid, r.reason
    assert (r.profile, r.colour, r.badges, r.subject) == (
        "light",
        "green",
        (),
        {"pseudonym": "ab" * 16},
    )
    claims = cbor2.loads(sign1_decode(b45decode(text[len(PREFIX) :])).payload)
    assert HC_CLAIM not in claims and claims[HC_LIGHT_CLAIM] == {1: 1, 2: 0}
    full = _verifier(root, gd, None).verify(_code(gd, None))
    assert full.profile == "full" and full.subject["name"] == "张*丰"


def test_a_checkpoint_needing_the_full_code_refuses_a_light_one(root: KeyPair, gd: KeyPair) -> None:
    full_only = _verifier(root, gd, None, rules=[FULL_CODE_RULE])
    r = full_only.verify(_code(gd, None, light=True))
    _fails(r, "RULE_FAILED", stage="rules")
    assert "full code" in str(r.reason)
    assert full_only.verify(_code(gd, None)).valid


def test_a_light_code_cannot_be_made_a_full_one(root: KeyPair, gd: KeyPair) -> None:
    text = _code(gd, None, light=True)
    msg = sign1_decode(b45decode(text[len(PREFIX) :]))
    claims = cbor2.loads(msg.payload)
    light = claims.pop(HC_LIGHT_CLAIM)
    claims[HC_CLAIM] = {**light, 3: [], 4: "2022.11", 5: "张*丰", 6: "4401**********1234"}
    forged = cbor2.dumps(
        cbor2.CBORTag(18, [msg.protected_bytes, {}, cbor2.dumps(claims), msg.signature])
    )
    r = _verifier(root, gd, None).verify(PREFIX + b45encode(forged))
    _fails(r, "SIGNATURE_INVALID", stage="signature")
    both = {**cbor2.loads(msg.payload), HC_CLAIM: claims[HC_CLAIM]}  # both claims, re-signed
    resigned = sign1_encode(cbor2.dumps(both), private_key=gd.private_key, kid=gd.kid)
    _fails(
        _verifier(root, gd, None).verify(PREFIX + b45encode(resigned)),
        "PAYLOAD_INVALID",
        stage="schema",
    )


def test_a_tampered_light_code_fails(root: KeyPair, gd: KeyPair) -> None:
    text = _code(gd, None, light=True)
    raw = bytearray(b45decode(text[len(PREFIX) :]))
    raw[-70] ^= 1  # inside the payload, before the signature
    r = _verifier(root, gd, None).verify(PREFIX + b45encode(bytes(raw)))
    assert not r.valid
    assert peek_code(text).profile == "light"


def test_a_list_larger_than_any_code_opens(root: KeyPair, publisher: KeyPair) -> None:
    import random

    rng = random.Random(4)
    statuses = {i: rng.choice((0, 1, 3)) for i in range(1 << 19)}
    lst = StatusList.of(1 << 20, statuses.items())
    token = seal_status_list(
        lst,
        uri=list_uri(GD, 1),
        issued_at=NOW,
        expires_at=NOW + timedelta(days=1),
        ttl=timedelta(minutes=5),
        publisher=publisher,
    )
    assert len(token) > 64 * 1024
    opened = open_status_list(token, root_cert=root.certificate)
    assert all(opened.status_list.get(i) == s for i, s in statuses.items())
