"""core/trust/network.py: init, rotation with overlap, revocations, publishing."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healthcode.core.clock import FixedClock
from healthcode.core.codes.native import MAX_CODE_LIFETIME
from healthcode.core.errors import TrustError
from healthcode.core.trust.envelope import Held, open_envelope, seal
from healthcode.core.trust.network import Network
from healthcode.core.trust.trustlist import TrustList, TrustStore
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade
from healthcode.store.trust_state import SqlStateStore

T = datetime(2022, 11, 1, tzinfo=UTC)


@pytest.fixture()
def clock() -> FixedClock:
    return FixedClock(T)


def state_store(path: Path, clock: FixedClock) -> SqlStateStore:
    db = Database.from_url(f"sqlite:///{path}")
    upgrade(db)
    return SqlStateStore(db, clock=clock)


@pytest.fixture()
def net(tmp_path: Path, clock: FixedClock) -> Network:
    store = state_store(tmp_path / "state.db", clock)
    return Network.init(tmp_path / "net", store=store, provinces=["440000", "110000"], clock=clock)


def _published(net: Network, clock: FixedClock, held: Held | None = None) -> TrustList:
    raw = net.publish(clock=clock)
    doc = open_envelope(
        raw, root_cert=net.root.certificate, kind="trust-list", clock=clock, held=held
    )
    return TrustList.from_content(doc.content, root_cert=net.root.certificate)


def test_init_makes_root_and_one_signer_per_province(net: Network, clock: FixedClock) -> None:
    assert net.provinces == ["110000", "440000"]
    assert {s["province"] for s in net.signers()} == {"110000", "440000"}
    key_file = next((net.home / "signers" / "440000").glob("*.key.pem"))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with pytest.raises(TrustError) as err:
        Network.init(net.home, store=net.store, provinces=["440000"], clock=clock)
    assert err.value.code == "NETWORK_EXISTS"


def test_open_missing_network(tmp_path: Path, clock: FixedClock) -> None:
    with pytest.raises(TrustError) as err:
        Network.open(tmp_path, store=state_store(tmp_path / "empty.db", clock))
    assert err.value.code == "NETWORK_MISSING"


def test_rotation_keeps_the_old_signer_for_its_codes(net: Network, clock: FixedClock) -> None:
    old = net.active_signer("440000", at=clock.now())
    clock.advance(timedelta(days=10))
    new = net.rotate("440000", clock=clock)
    reopened = Network.open(net.home, store=net.store)
    assert reopened.active_signer("440000", at=clock.now()).kid == new.kid
    tl = _published(reopened, clock)
    assert tl.keys_for_kid(old.kid) and tl.keys_for_kid(new.kid)
    assert tl.retired_at(old.kid) == clock.now()
    clock.advance(MAX_CODE_LIFETIME + timedelta(seconds=1))
    tl = _published(reopened, clock)
    assert tl.keys_for_kid(old.kid) == () and tl.keys_for_kid(new.kid)


def test_revocations_are_published_and_pruned(net: Network, clock: FixedClock) -> None:
    gd = net.active_signer("440000", at=clock.now())
    net.revoke_signer(gd.kid, clock=clock)
    net.revoke_serial(b"\xaa" * 12, until=clock.now() + timedelta(hours=1))
    tl = _published(net, clock)
    assert tl.keys_for_kid(gd.kid)[0].revoked
    assert tl.is_serial_revoked(b"\xaa" * 12)
    with pytest.raises(TrustError):
        net.active_signer("440000", at=clock.now())
    clock.advance(timedelta(hours=2))
    assert not _published(net, clock).is_serial_revoked(b"\xaa" * 12)
    with pytest.raises(TrustError) as err:
        net.revoke_signer(b"unknown!", clock=clock)
    assert err.value.code == "SIGNER_UNKNOWN"


def test_sequence_grows_and_rollback_is_detected(net: Network, clock: FixedClock) -> None:
    first = net.publish(clock=clock)
    second = net.publish(clock=clock)
    root = net.root.certificate
    held = open_envelope(second, root_cert=root, kind="trust-list", clock=clock).held
    assert held.sequence == 2
    with pytest.raises(TrustError) as err:
        open_envelope(first, root_cert=root, kind="trust-list", clock=clock, held=held)
    assert err.value.code == "ENVELOPE_ROLLBACK"
    assert (net.home / "published" / "trust-list.cose").read_bytes() == second


def test_expired_signers_are_dropped(net: Network, clock: FixedClock) -> None:
    clock.advance(timedelta(days=366))
    with pytest.raises(TrustError) as err:  # the 30-day publisher expired long ago
        net.publish(clock=clock)
    assert err.value.code == "PUBLISHER_UNKNOWN"
    net.rotate_publisher(clock=clock)
    assert len(_published(net, clock)) == 0


def test_passphrase_protects_keys(tmp_path: Path, clock: FixedClock) -> None:
    store = state_store(tmp_path / "s.db", clock)
    net = Network.init(
        tmp_path / "n", store=store, provinces=["440000"], clock=clock, passphrase=b"pw"
    )
    kid = net.active_signer("440000", at=clock.now()).kid
    with pytest.raises(TrustError) as err:
        Network.open(net.home, store=net.store).signer(kid)
    assert err.value.code == "KEY_PASSPHRASE"
    assert Network.open(net.home, store=net.store, passphrase=b"pw").signer(kid).kid == kid


def test_rule_set_digests_go_into_the_list(net: Network, clock: FixedClock) -> None:
    net.set_document_digest("rule-set", "national-9", "cd" * 32)
    assert _published(net, clock).rule_sets == {"national-9": "cd" * 32}
    with pytest.raises(TrustError):
        net.set_document_digest("trust-list", "x", "00")


def test_unknown_province_cannot_rotate(net: Network, clock: FixedClock) -> None:
    with pytest.raises(TrustError) as err:
        net.rotate("310000", clock=clock)
    assert err.value.code == "PROVINCE_UNKNOWN"
    net.add_province("310000", clock=clock)
    assert net.active_signer("310000", at=clock.now())


def test_a_stolen_revoked_publisher_cannot_move_a_checkpoint(
    net: Network, clock: FixedClock, tmp_path: Path
) -> None:
    root = net.root_certificate
    store = TrustStore(tmp_path / "checkpoint", root_cert=root, clock=clock)
    stolen = net.active_publisher(at=clock.now())
    store.accept(net.publish(clock=clock))
    clock.advance(timedelta(minutes=5))
    net.rotate_publisher(clock=clock)
    net.revoke_publisher(stolen.kid, clock=clock)
    store.accept(net.publish(clock=clock))  # sealed by the successor, naming the stolen key
    forged = seal(
        b'{"format":"healthcode-trust-list/1","signers":[]}',
        kind="trust-list",
        sequence=10_000,
        not_before=clock.now(),
        expires=clock.now() + timedelta(hours=1),
        publisher=stolen,
    )
    for checkpoint in (store, TrustStore(tmp_path / "checkpoint", root_cert=root, clock=clock)):
        with pytest.raises(TrustError) as err:  # also after a restart, from the cached copy
            checkpoint.accept(forged)
        assert err.value.code == "ENVELOPE_PUBLISHER_REVOKED"
    assert store.status().sequence == 2


def test_publisher_commands(net: Network, clock: FixedClock) -> None:
    first = net.active_publisher(at=clock.now())
    with pytest.raises(TrustError) as err:
        net.revoke_publisher(b"unknown!", clock=clock)
    assert err.value.code == "PUBLISHER_UNKNOWN"
    net.revoke_publisher(first.kid, clock=clock)
    with pytest.raises(TrustError) as err:  # nothing is sealed until a new one is certified
        net.publish(clock=clock)
    assert err.value.code == "PUBLISHER_UNKNOWN"
    second = net.rotate_publisher(clock=clock)
    assert net.active_publisher(at=clock.now()).kid == second.kid
    states = {p["kid"]: p for p in net.publishers()}
    assert states[first.kid.hex()]["revoked"] and not states[second.kid.hex()]["revoked"]
    net.publish(clock=clock)
