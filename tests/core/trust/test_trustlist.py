"""core/trust/trustlist.py: the trust list as a KeyStore, its checks, and a checkpoint's cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healthcode.core.clock import FixedClock
from healthcode.core.errors import TrustError
from healthcode.core.keys import KeyStore
from healthcode.core.trust.certs import KeyPair, make_publisher, make_root, make_signer
from healthcode.core.trust.envelope import seal
from healthcode.core.trust.trustlist import SignerEntry, TrustList, TrustStore

T = datetime(2022, 11, 20, tzinfo=UTC)
DAY = timedelta(days=1)


def _list(gd: KeyPair, bj: KeyPair) -> TrustList:
    return TrustList(
        signers=[SignerEntry("440000", gd.certificate), SignerEntry("110000", bj.certificate, T)],
        revoked_signers=frozenset({bj.kid}),
        revoked_serials={b"\x01\x02": T + DAY},
        rule_sets={"national": "ab" * 32},
    )


def test_round_trip_and_keystore(root: KeyPair, gd: KeyPair, bj: KeyPair) -> None:
    tl = TrustList.from_content(_list(gd, bj).to_content(), root_cert=root.certificate)
    store: KeyStore = tl
    (key,) = store.keys_for_kid(gd.kid)
    assert (key.issuer, key.revoked, key.certificate) == ("440000", False, gd.certificate)
    assert store.keys_for_kid(bj.kid)[0].revoked
    assert store.keys_for_kid(b"nothing!") == ()
    assert tl.is_serial_revoked(b"\x01\x02") and not tl.is_serial_revoked(b"\x01")
    assert tl.retired_at(bj.kid) == T and tl.retired_at(gd.kid) is None
    assert tl.rule_sets == {"national": "ab" * 32}


def test_content_is_canonical(gd: KeyPair, bj: KeyPair) -> None:
    assert _list(gd, bj).to_content() == _list(gd, bj).to_content()
    assert b" " not in _list(gd, bj).to_content()


def test_keys_sharing_a_kid_are_all_returned(root: KeyPair, gd: KeyPair) -> None:
    tl = TrustList(signers=[SignerEntry("440000", gd.certificate)] * 2)
    assert len(tl.keys_for_kid(gd.kid)) == 2


def test_signer_from_another_root_is_refused(gd: KeyPair, bj: KeyPair) -> None:
    other = make_root(now=T - DAY * 30)
    with pytest.raises(TrustError) as err:
        TrustList.from_content(_list(gd, bj).to_content(), root_cert=other.certificate)
    assert err.value.code == "CERT_NOT_SIGNED_BY_ROOT"


def test_signer_listed_under_another_province_is_refused(root: KeyPair, gd: KeyPair) -> None:
    doc = TrustList(signers=[SignerEntry("440000", gd.certificate)]).to_json()
    doc["signers"][0]["province"] = "110000"
    with pytest.raises(TrustError) as err:
        TrustList.from_content(json.dumps(doc).encode(), root_cert=root.certificate)
    assert err.value.code == "CERT_PROVINCE"


@pytest.mark.parametrize(
    "content",
    [
        b"nope",
        b"[]",
        b'{"format":"x"}',
        b'{"format":"healthcode-trust-list/1","signers":{}}',
        b'{"format":"healthcode-trust-list/1","signers":[{"certificate":"!!"}]}',
        b'{"format":"healthcode-trust-list/1","revoked_signers":["zz"]}',
    ],
)
def test_malformed_lists(root: KeyPair, content: bytes) -> None:
    with pytest.raises(TrustError) as err:
        TrustList.from_content(content, root_cert=root.certificate)
    assert err.value.code in {"TRUSTLIST_MALFORMED", "CERT_MALFORMED"}


def _envelope(root: KeyPair, tl: TrustList, seq: int, at: datetime = T) -> bytes:
    publisher = make_publisher(root=root, not_before=at, not_after=at + 2 * DAY)
    return seal(
        tl.to_content(),
        kind="trust-list",
        sequence=seq,
        not_before=at,
        expires=at + DAY,
        publisher=publisher,
    )


def test_store_accepts_newer_refuses_older_and_reports_staleness(
    tmp_path: Path, root: KeyPair, gd: KeyPair, bj: KeyPair
) -> None:
    clock = FixedClock(T)
    store = TrustStore(
        tmp_path, root_cert=root.certificate, clock=clock, max_staleness=timedelta(hours=6)
    )
    with pytest.raises(TrustError) as err:
        store.current()
    assert err.value.code == "TRUST_LIST_MISSING"
    store.accept(_envelope(root, _list(gd, bj), 3))
    assert store.current().keys_for_kid(gd.kid)
    with pytest.raises(TrustError) as err:
        store.accept(_envelope(root, TrustList(), 2))
    assert err.value.code == "ENVELOPE_ROLLBACK"

    # A fresh process (new store object) reads the cache from disk and still refuses the old one.
    again = TrustStore(
        tmp_path, root_cert=root.certificate, clock=clock, max_staleness=timedelta(hours=6)
    )
    assert again.status().sequence == 3
    with pytest.raises(TrustError) as err:
        again.accept(_envelope(root, TrustList(), 2))
    assert err.value.code == "ENVELOPE_ROLLBACK"

    clock.advance(DAY + timedelta(hours=2))
    status = again.status()
    assert (status.stale_by, status.usable) == (timedelta(hours=2), True)
    assert "expired 2:00:00 ago" in status.describe()
    assert again.current().keys_for_kid(gd.kid)  # offline, stale but within tolerance
    clock.advance(timedelta(hours=5))
    with pytest.raises(TrustError) as err:
        again.current()
    assert err.value.code == "ENVELOPE_EXPIRED"
    again.accept(_envelope(root, TrustList(), 4, at=clock.now()))
    assert again.status().stale_by == timedelta(0)
    assert again.current().keys_for_kid(gd.kid) == ()


def test_envelope_of_another_root_is_never_cached(tmp_path: Path, root: KeyPair) -> None:
    other = make_root(now=T - DAY)
    store = TrustStore(tmp_path, root_cert=root.certificate, clock=FixedClock(T))
    signer = make_signer(root=other, province="440000", not_before=T, not_after=T + DAY)
    with pytest.raises(TrustError):
        store.accept(
            _envelope(other, TrustList(signers=[SignerEntry("440000", signer.certificate)]), 1)
        )
    assert not store.path.exists()
