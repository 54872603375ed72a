"""One source of truth: two hub processes and the CLI share the trust state in the database.

Reproduces issue 9, class 1: a hub that read the key home once kept re-sealing its stale view
with higher sequences, so a list published after a revocation could miss it. Here every
publisher reads the state under the lock when it publishes: no list misses a revocation or a
rotation made before it, and no sequence carries two documents.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hub_testdata import ENV, NOW

from healthcode.config import Settings
from healthcode.core.clock import FixedClock
from healthcode.core.trust.envelope import Held, open_envelope
from healthcode.core.trust.network import Network
from healthcode.core.trust.trustlist import TrustList
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade
from healthcode.store.trust_state import SqlStateStore


class Publishers:
    """Two hub processes (each its own engine and services) and the CLI, on one database."""

    def __init__(self, url: str, home: Path, clock: FixedClock) -> None:
        self.clock = clock
        self.cli_db = Database.from_url(url)
        upgrade(self.cli_db)
        store = SqlStateStore(self.cli_db, clock=clock)
        self.cli = Network.init(home, store=store, provinces=["110000", "440000"], clock=clock)
        env = {**ENV, "HEALTHCODE_HOME": str(home), "HEALTHCODE_DATABASE_URL": url}
        self.hubs = [Hub.from_settings(Settings.from_env(env), clock=clock) for _ in range(2)]
        self.root = self.cli.root_certificate
        self.held: Held | None = None
        self.seen: dict[int, bytes] = {}

    def take(self, raw: bytes) -> TrustList:
        """What a checkpoint does with each list: open it (refusing rollback), remember it."""
        doc = open_envelope(
            raw, root_cert=self.root, kind="trust-list", clock=self.clock, held=self.held
        )
        assert self.seen.setdefault(doc.sequence, doc.digest) == doc.digest
        self.held = doc.held
        return TrustList.from_content(doc.content, root_cert=self.root)

    def hub_list(self, index: int) -> TrustList:
        return self.take(self.hubs[index].publishing.latest("trust-list").envelope)

    def close(self) -> None:
        for hub in self.hubs:
            hub.db.dispose()
        self.cli_db.dispose()


@pytest.fixture
def publishers(fresh_db_url: str, tmp_path: Path) -> Iterator[Publishers]:
    p = Publishers(fresh_db_url, tmp_path / "keys", FixedClock(NOW))
    yield p
    p.close()


def test_a_revocation_reaches_every_hub_without_a_restart(publishers: Publishers) -> None:
    p = publishers
    assert p.hub_list(0).revoked_signers == frozenset()
    assert p.hub_list(1).revoked_signers == frozenset()  # the same document, not a second #1
    bj = bytes.fromhex(next(s["kid"] for s in p.cli.signers() if s["province"] == "110000"))
    p.clock.advance(timedelta(minutes=1))
    p.cli.revoke_signer(bj, clock=p.clock)
    assert bj in p.hub_list(1).revoked_signers
    assert bj in p.hub_list(0).revoked_signers  # the hub that published before sees it too
    assert bj in p.take(p.cli.publish(clock=p.clock)).revoked_signers
    p.clock.advance(timedelta(minutes=1))
    new = p.cli.rotate("440000", clock=p.clock)
    listed = p.hub_list(0)
    assert new.kid in {e.kid for e in listed.signers} and bj in listed.revoked_signers
    assert sorted(p.seen) == list(range(1, len(p.seen) + 1)) and len(p.seen) == 4


def test_concurrent_publishers_never_share_a_sequence(publishers: Publishers) -> None:
    p = publishers
    failures: list[BaseException] = []
    envelopes: list[bytes] = []
    lock = threading.Lock()

    def publish(index: int) -> None:
        try:
            for _ in range(5):
                if index < 2:
                    raw = p.hubs[index].publishing.latest("trust-list").envelope
                else:
                    raw = p.cli.publish(clock=p.clock)
                with lock:
                    envelopes.append(raw)
        except BaseException as exc:
            failures.append(exc)

    kid = bytes.fromhex(p.cli.signers()[0]["kid"])
    threads = [threading.Thread(target=publish, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    p.cli.revoke_signer(kid, clock=p.clock)
    for thread in threads:
        thread.join()
    assert not failures, failures
    by_seq: dict[int, set[bytes]] = {}
    for raw in envelopes:
        doc = open_envelope(raw, root_cert=p.root, kind="trust-list", clock=p.clock)
        by_seq.setdefault(doc.sequence, set()).add(doc.digest)
    assert all(len(digests) == 1 for digests in by_seq.values()), by_seq
    assert kid in p.hub_list(0).revoked_signers  # after the revocation: in the next list


def test_the_hub_publishes_with_the_publisher_key_alone(fresh_db_url: str, tmp_path: Path) -> None:
    """The hub's key home holds publishing keys only; the root's key stays with the CLI."""
    clock = FixedClock(NOW)
    offline = tmp_path / "offline"
    p = Publishers(fresh_db_url, offline, clock)
    try:
        online = tmp_path / "hub-home"
        (online / "publishers").mkdir(parents=True)
        for key in (offline / "publishers").glob("*.key.pem"):
            (online / "publishers" / key.name).write_bytes(key.read_bytes())
        env = {**ENV, "HEALTHCODE_HOME": str(online), "HEALTHCODE_DATABASE_URL": fresh_db_url}
        hub = Hub.from_settings(Settings.from_env(env), clock=clock)
        p.hubs.append(hub)
        assert not list(online.rglob("root*"))
        for kind in ("rule-set", "value-set", "risk-areas", "trust-list"):
            raw = hub.publishing.latest(kind).envelope
            doc = open_envelope(raw, root_cert=p.root, kind=kind, clock=clock)  # type: ignore[arg-type]
            assert doc.publisher is not None and doc.publisher != p.root
        # the publishing key is stolen: revoked and replaced (offline), the new key handed over
        stolen = p.cli.active_publisher(at=clock.now())
        p.take(hub.publishing.latest("trust-list").envelope)
        clock.advance(timedelta(minutes=1))
        successor = p.cli.rotate_publisher(clock=clock)
        p.cli.revoke_publisher(stolen.kid, clock=clock)
        name = f"{successor.kid.hex()}.key.pem"
        (online / "publishers" / name).write_bytes((offline / "publishers" / name).read_bytes())
        listed = p.take(hub.publishing.latest("trust-list").envelope)  # resealed, same content
        assert listed.signers and p.held is not None
        assert stolen.kid in p.held.revoked_publishers
        rule_set = open_envelope(
            hub.publishing.latest("rule-set").envelope,
            root_cert=p.root,
            kind="rule-set",
            clock=clock,
        )
        assert rule_set.publisher is not None and stolen.kid in rule_set.revoked_publishers
    finally:
        p.close()
