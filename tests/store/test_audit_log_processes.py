"""Two processes appending to one colour log at once (PostgreSQL: the head row is locked
``FOR UPDATE``; SQLite: one writer) never fork the tree: every index is taken once, the head's
root is the root of all the leaves, the tiles give it, and every checkpoint signed meanwhile is
a prefix of the final tree."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from healthcode.core.audit.checkpoint import open_checkpoint
from healthcode.core.audit.leaf import decode_leaf
from healthcode.core.audit.merkle import MemoryTree, leaf_hash
from healthcode.core.audit.note import NoteSigner
from healthcode.core.audit.tiles import TileReader
from healthcode.province.models import COLOUR_LOG
from healthcode.province.schema import upgrade
from healthcode.store.audit_log import ColourLog
from healthcode.store.db import Database

ORIGIN = "healthcode/province/440000/colours"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
APPENDS = 120

_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from healthcode.core.audit.leaf import ColourLeaf, log_subject
    from healthcode.core.audit.note import NoteSigner
    from healthcode.province.models import COLOUR_LOG
    from healthcode.store.audit_log import ColourLog
    from healthcode.store.db import Database
    from healthcode.store.retry import run_write

    url, who, n, skey, origin = sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:6]
    db = Database.from_url(url, busy_seconds=30)
    log = ColourLog(COLOUR_LOG, origin, NoteSigner.from_skey(skey))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for i in range(n):
        leaf = ColourLeaf(subject=log_subject(b"k" * 32, f"{who}-{i}"), colour="red",
                          basis="rule", reasons=(f"{who.upper()}{i}",), decision=None,
                          ruleset="sha256:00", at=now)
        run_write(db, lambda s: log.append(s, [leaf, leaf] if i % 7 == 0 else [leaf], now))
        if i % 10 == 0:
            run_write(db, lambda s: log.sign(s, now))
    db.dispose()
    """
)


@pytest.mark.slow
def test_two_processes_appending_never_fork_the_tree(fresh_db_url: str) -> None:
    db = Database.from_url(fresh_db_url)
    upgrade(db)
    signer = NoteSigner.generate(ORIGIN)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, fresh_db_url, who, str(APPENDS), signer.skey(), ORIGIN],
            stderr=subprocess.PIPE,
        )
        for who in ("a", "b")
    ]
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err.decode()
    log = ColourLog(COLOUR_LOG, ORIGIN, signer)
    per_writer = APPENDS + len(range(0, APPENDS, 7))
    with db.read() as s:
        rows = s.execute(
            select(COLOUR_LOG.leaves.c.idx, COLOUR_LOG.leaves.c.data).order_by(
                COLOUR_LOG.leaves.c.idx
            )
        ).all()
        size = log.size(s)
        tree = MemoryTree()
        for _, data in rows:
            tree.append(leaf_hash(bytes(data)))
        assert [r.idx for r in rows] == list(range(2 * per_writer)) and size == 2 * per_writer
        assert TileReader(lambda p: log.tile(s, p), size).root() == tree.root()
        note = log.sign(s, NOW)
        assert open_checkpoint(note, [signer.verifier]).root == tree.root()
        signed = s.execute(select(COLOUR_LOG.checkpoints.c.note)).scalars().all()
    for raw in signed:  # every checkpoint signed meanwhile is a prefix of the final tree
        cp = open_checkpoint(bytes(raw), [signer.verifier])
        assert cp.root == tree.root(cp.size)
    for who in ("a", "b"):  # each writer's leaves in its own order
        mine = [decode_leaf(bytes(d)).reasons[0] for _, d in rows]
        mine = [r for r in mine if r.startswith(who.upper())]
        numbers = [int(r[1:]) for r in mine]
        assert numbers == sorted(numbers)
    db.dispose()
