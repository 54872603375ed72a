"""A crash at every write of every key and trust command leaves a consistent trust state, the
next command succeeds, and no sequence ever carries two different documents.

The fault injector counts the writes of a command: each file written through the key home's
one writer and each database commit; it raises before the k-th, for every k, until the command
runs through without reaching k.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from healthcode.core.clock import FixedClock
from healthcode.core.errors import TrustError
from healthcode.core.trust import network as network_module
from healthcode.core.trust.certs import kid_of, load_certificate
from healthcode.core.trust.envelope import peek
from healthcode.core.trust.network import Network
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade
from healthcode.store.models import PublishedDocument
from healthcode.store.trust_state import SqlStateStore

T = datetime(2022, 11, 20, tzinfo=UTC)
Command = Callable[[Network, FixedClock], Any]


class Crash(Exception):
    """The process died here."""


class Faults:
    """Raises :class:`Crash` before the ``at``-th write (0: never)."""

    def __init__(self) -> None:
        self.at = 0
        self.writes = 0

    def write(self) -> None:
        self.writes += 1
        if self.writes == self.at:
            raise Crash(f"crash at write {self.writes}")


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Faults:
    injector = Faults()
    real = network_module._write

    def write(path: Path, data: bytes, *, private: bool = False) -> None:
        injector.write()
        real(path, data, private=private)

    monkeypatch.setattr(network_module, "_write", write)
    return injector


@pytest.fixture
def db(tmp_path: Path, faults: Faults) -> Iterator[Database]:
    database = Database.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    upgrade(database)
    assert database.engine is not None
    event.listen(database.engine, "commit", lambda _conn: faults.write())
    yield database
    database.dispose()


def _documents(db: Database) -> dict[int, str]:
    with db.read() as s:
        rows = s.execute(select(PublishedDocument).where(PublishedDocument.kind == "trust-list"))
        return {row.seq: row.content_digest for row in rows.scalars()}


def _check_consistent(net: Network, seen: dict[int, str]) -> None:
    """Every key the state names is on disk; every sequence names one document."""
    state = net.state()
    root = load_certificate(state["root_certificate"].encode())
    assert (net.home / "root" / f"{kid_of(root).hex()}.key.pem").is_file()
    assert net.root_certificate_path.read_bytes() == state["root_certificate"].encode()
    for kid_hex, info in state["signers"].items():
        assert (net.home / "signers" / info["province"] / f"{kid_hex}.key.pem").is_file()
    for kid_hex in state["publishers"]:
        assert (net.home / "publishers" / f"{kid_hex}.key.pem").is_file()
    export = net.home / "published" / "trust-list.cose"
    documents = _documents(net.store.db)  # type: ignore[attr-defined]
    if export.exists():
        raw = export.read_bytes()
        documents.setdefault(peek(raw)["seq"], hashlib.sha256(peek(raw)["content"]).hexdigest())
    for seq, digest in documents.items():
        assert seen.setdefault(seq, digest) == digest, f"sequence {seq} carries two documents"
    assert sorted(documents) == list(range(1, len(documents) + 1))


def _init(home: Path, db: Database, clock: FixedClock) -> Network:
    store = SqlStateStore(db, clock=clock)
    return Network.init(home, store=store, provinces=["110000", "440000"], clock=clock)


def _open(home: Path, db: Database, clock: FixedClock) -> Network:
    return Network.open(home, store=SqlStateStore(db, clock=clock))


def _first_kid(net: Network, province: str) -> bytes:
    return bytes.fromhex(next(s["kid"] for s in net.signers() if s["province"] == province))


COMMANDS: dict[str, Command] = {
    "keys rotate": lambda net, clock: net.rotate("440000", clock=clock),
    "keys revoke --kid": lambda net, clock: net.revoke_signer(
        _first_kid(net, "110000"), clock=clock
    ),
    "keys revoke --serial": lambda net, clock: net.revoke_serial(
        b"\xaa" * 12, until=clock.now() + timedelta(days=1)
    ),
    "keys add province": lambda net, clock: (
        net.provinces.count("310000") or net.add_province("310000", clock=clock)
    ),
    "trust publish": lambda net, clock: net.publish(clock=clock),
    "keys publisher rotate": lambda net, clock: net.rotate_publisher(clock=clock),
    "keys publisher revoke": lambda net, clock: net.revoke_publisher(
        bytes.fromhex(net.publishers()[0]["kid"]), clock=clock
    ),
}


def _publish(net: Network, clock: FixedClock) -> None:
    """The next publication; a network whose publisher was revoked certifies a new one first."""
    try:
        net.publish(clock=clock)
    except TrustError as exc:
        assert exc.code == "PUBLISHER_UNKNOWN"
        net.rotate_publisher(clock=clock)
        net.publish(clock=clock)


def _fresh_start(home: Path, db: Database) -> tuple[Path, FixedClock]:
    """An empty trust state, a new key home and the clock at ``T``: one round of a crash test."""
    with db.engine.begin() as conn:  # type: ignore[union-attr]
        conn.exec_driver_sql("DELETE FROM trust_state")
        conn.exec_driver_sql("DELETE FROM published_documents")
    return home, FixedClock(T)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_crash_at_every_write_of_a_command(
    name: str, tmp_path: Path, db: Database, faults: Faults
) -> None:
    command = COMMANDS[name]
    k = 0
    while True:
        k += 1
        home, clock = _fresh_start(tmp_path / f"home{k}", db)
        faults.at, faults.writes = 0, 0
        net = _init(home, db, clock)
        net.publish(clock=clock)
        seen: dict[int, str] = {}
        _check_consistent(net, seen)
        clock.advance(timedelta(minutes=1))
        faults.at, faults.writes = faults.writes + k, faults.writes
        try:
            command(_open(home, db, clock), clock)
            crashed = False
        except Crash:
            crashed = True
        faults.at = 0
        after = _open(home, db, clock)  # the state opens
        _check_consistent(after, seen)
        command(after, clock)  # the same command again succeeds
        clock.advance(timedelta(minutes=1))
        _publish(after, clock)  # and so does the next publication
        _check_consistent(after, seen)
        if not crashed:
            break
    assert k > 1, "the command wrote nothing"


def test_a_crash_at_every_write_of_init(tmp_path: Path, db: Database, faults: Faults) -> None:
    k = 0
    while True:
        k += 1
        home, clock = _fresh_start(tmp_path / f"home{k}", db)
        faults.at, faults.writes = k, 0
        try:
            _init(home, db, clock)
            crashed = False
        except Crash:
            crashed = True
        faults.at = 0
        try:
            net = _open(home, db, clock)  # committed: the root copy is written again if needed
        except TrustError as exc:
            assert exc.code == "NETWORK_MISSING"
            net = _init(home, db, clock)  # not committed: init again succeeds
        seen: dict[int, str] = {}
        _check_consistent(net, seen)
        net.publish(clock=clock)
        _check_consistent(net, seen)
        if not crashed:
            break
    assert k > 5
