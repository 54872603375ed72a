"""The colour log in a database (SQLite, and PostgreSQL when configured): appends in the
caller's transaction, tiles equal to a tree built in memory, proofs, checkpoints, tiles served,
the tables an Alembic migration creates equal to the metadata's. Each test has its own tables
(a unique prefix) in a database of its own (a fresh file or schema, dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, func, select

from healthcode.core.audit.checkpoint import open_checkpoint
from healthcode.core.audit.leaf import ColourLeaf, decode_leaf, encode_leaf, log_subject
from healthcode.core.audit.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion
from healthcode.core.audit.note import NoteSigner
from healthcode.core.audit.tiles import TileReader, decode_bundle, tiles_for_size
from healthcode.core.errors import AuditError
from healthcode.store.audit_log import ColourLog, LogTables, create_log_tables, log_tables
from healthcode.store.db import Database

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ORIGIN = "province.example/440000/colours"
KEY = b"s" * 32


def _leaf(i: int) -> ColourLeaf:
    colour = ("green", "yellow", "red")[i % 3]
    return ColourLeaf(
        subject=log_subject(KEY, f"person-{i % 7}"),
        colour=colour,
        basis="decision" if i % 5 == 0 else "rule",
        reasons=() if i % 5 == 0 else (f"R{i % 4}",),
        decision=f"D-{i}" if i % 5 == 0 else None,
        ruleset="sha256:" + "ab" * 32,
        at=T0 + timedelta(seconds=i),
    )


@pytest.fixture
def setup(fresh_db_url: str) -> Iterator[tuple[Database, LogTables, ColourLog]]:
    db = Database.from_url(fresh_db_url)
    metadata = MetaData()
    tables = log_tables(metadata, prefix=f"t{uuid.uuid4().hex[:8]}_log")
    assert db.engine is not None
    metadata.create_all(db.engine)
    log = ColourLog(tables, ORIGIN, NoteSigner.generate(ORIGIN))
    try:
        yield db, tables, log
    finally:
        metadata.drop_all(db.engine)
        db.dispose()


def test_appends_build_the_same_tree_as_memory(
    setup: tuple[Database, LogTables, ColourLog],
) -> None:
    db, _, log = setup
    tree, n = MemoryTree(), 0
    for batch in (1, 2, 253, 1, 300, 17, 0, 500):  # crosses full level-0 tiles and a level-1 one
        leaves = [_leaf(n + i) for i in range(batch)]
        with db.write() as s:
            done = log.append(s, leaves, T0)
        for leaf in leaves:
            tree.append(leaf_hash(encode_leaf(leaf)))
        n += batch
        assert (done.first, done.size, done.root) == (n - batch, n, tree.root())
    with db.read() as s:
        served = {t.path: log.tile(s, t.path) for t in tiles_for_size(n)}
        assert TileReader(served.__getitem__, n).root() == tree.root()
        for i in (0, 255, 256, 600, n - 1):
            proof = log.inclusion_proof(s, i, n)
            assert proof == tree.inclusion_proof(i)
        for m in (1, 3, 256, 257, 900):
            assert log.consistency_proof(s, m, n) == tree.consistency_proof(m, n)
        bundle = log.tile(s, "tile/entries/000")
        assert [leaf_hash(e) for e in decode_bundle(bundle, 256)] == tree.levels[0][:256]
        assert log.tile(s, "tile/0/000.p/3") == b"".join(tree.levels[0][:3])


def test_a_rolled_back_transaction_leaves_no_trace(
    setup: tuple[Database, LogTables, ColourLog],
) -> None:
    db, tables, log = setup
    with db.write() as s:
        log.append(s, [_leaf(0), _leaf(1)], T0)
    with pytest.raises(RuntimeError), db.write() as s:
        log.append(s, [_leaf(2)], T0)
        raise RuntimeError("the colour change failed")
    with db.read() as s:
        assert log.size(s) == 2
        assert s.execute(select(func.count()).select_from(tables.leaves)).scalar_one() == 2


def test_checkpoints_are_signed_once_per_size_and_prove(
    setup: tuple[Database, LogTables, ColourLog],
) -> None:
    db, _, log = setup
    assert log.signer is not None
    with db.write() as s:
        log.append(s, [_leaf(i) for i in range(5)], T0)
        first = log.sign(s, T0)
        assert log.sign(s, T0 + timedelta(seconds=1)) == first
        log.append(s, [_leaf(i) for i in range(5, 12)], T0)
        second = log.sign(s, T0 + timedelta(seconds=1))
    old = open_checkpoint(first, [log.signer.verifier], origin=ORIGIN)
    new = open_checkpoint(second, [log.signer.verifier], origin=ORIGIN)
    with db.read() as s:
        assert log.checkpoint(s) == second and log.checkpoint(s, 5) == first
        verify_consistency(5, 12, log.consistency_proof(s, 5, 12), old.root, new.root)
        subject = log_subject(KEY, "person-3")
        mine = log.leaves_of(s, subject)
        assert [i for i, _ in mine] == [3, 10]
        for index, raw in mine:
            assert decode_leaf(raw).subject == subject
            verify_inclusion(leaf_hash(raw), index, 12, log.inclusion_proof(s, index, 12), new.root)


def test_what_the_log_does_not_have_is_refused(
    setup: tuple[Database, LogTables, ColourLog],
) -> None:
    db, _, log = setup
    with db.write() as s:
        log.append(s, [_leaf(i) for i in range(3)], T0)
    with db.read() as s:
        for path in ("tile/0/000.p/4", "tile/0/001", "tile/entries/000.p/4"):
            with pytest.raises(AuditError) as e:
                log.tile(s, path)
            assert e.value.code == "TILE_MISSING"
        with pytest.raises(AuditError) as e:
            log.inclusion_proof(s, 0, 4)
        assert e.value.code == "MERKLE_TREE_SIZE"


def test_a_migration_creates_the_same_tables(fresh_db_url: str) -> None:
    prefix = f"m{uuid.uuid4().hex[:8]}_log"
    db = Database.from_url(fresh_db_url)
    assert db.engine is not None
    metadata = MetaData()
    log_tables(metadata, prefix=prefix)
    try:
        with db.engine.begin() as conn:
            create_log_tables(Operations(MigrationContext.configure(conn)), prefix)
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [
                d for d in compare_metadata(context, metadata)
                if not (d[0] == "remove_table" and not str(d[1].name).startswith(prefix))
            ]  # fmt: skip
        assert diff == []
    finally:
        metadata.drop_all(db.engine)
        db.dispose()
