"""The colour log: appends per second and proof generation, against plain SHA-256 in the same run.

Workload: ``--leaves`` colour-log leaves (the canonical encoding, ~230 bytes each).

- baseline: ``hashlib.sha256`` of each leaf (what a log cannot do with less);
- memory: leaf hash + frontier + tiles grown in place (``append_hashes``), per leaf, and the
  root once at the end (as a store append computes it once per transaction);
- store: against a baseline of its own, the same transactions inserting the leaf rows alone;
  ``ColourLog.append`` into a database (SQLite file; PostgreSQL with ``--url``) in
  transactions of ``--batch`` leaves (1: one colour change per transaction; 500: a feed page),
  with a signed checkpoint every second, as the province would run it;
- proofs: an inclusion proof and a consistency proof from the store's tiles (a read
  transaction each), and from tiles in memory.

The size and the tiles an inclusion proof needs at 100 million leaves are computed from the
tile layout (printed), not measured. Figures are medians of ``--reps`` interleaved repetitions.

Run: ``.venv/bin/python -m bench.audit_bench [--leaves 20000] [--reps 3] [--url postgresql://...]``
"""

from __future__ import annotations

import argparse
import hashlib
import math
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import MetaData, insert

from healthcode.core.audit.leaf import ColourLeaf, encode_leaf, log_subject
from healthcode.core.audit.merkle import Frontier, consistency_proof, inclusion_proof, leaf_hash
from healthcode.core.audit.note import NoteSigner
from healthcode.core.audit.tiles import HEIGHT, TileReader, append_hashes, tiles_for_size
from healthcode.store.audit_log import ColourLog, log_tables
from healthcode.store.db import Database

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
ORIGIN = "province.example/440000/colours"


def make_leaves(n: int) -> list[ColourLeaf]:
    rng = random.Random(7)
    return [
        ColourLeaf(
            subject=log_subject(b"k" * 32, f"person-{rng.randrange(10**9)}"),
            colour=rng.choice(["green", "yellow", "red"]),
            basis="rule",
            reasons=(rng.choice(["CLOSE_CONTACT", "HIGH_RISK_AREA", "NAT_OVERDUE"]),),
            decision=None,
            ruleset="sha256:" + "ab" * 32,
            at=T0 + timedelta(seconds=i),
        )
        for i in range(n)
    ]


def baseline(encoded: list[bytes]) -> float:
    start = time.perf_counter()
    for raw in encoded:
        hashlib.sha256(raw).digest()
    return len(encoded) / (time.perf_counter() - start)


def memory(encoded: list[bytes]) -> float:
    start = time.perf_counter()
    frontier, tiles, size = Frontier.EMPTY, {}, 0  # type: ignore[var-annotated]
    for raw in encoded:
        h = leaf_hash(raw)
        frontier = frontier.append(h)
        size, _ = append_hashes(tiles, size, [h])
    frontier.root()
    return len(encoded) / (time.perf_counter() - start)


class Run:
    """One store run: its database, tables and log."""

    def __init__(self, url: str) -> None:
        self.db = Database.from_url(url)
        self.metadata = MetaData()
        tables = log_tables(self.metadata, f"bench_{uuid.uuid4().hex[:8]}")
        self.log = ColourLog(tables, ORIGIN, NoteSigner.generate(ORIGIN))
        assert self.db.engine is not None
        self.metadata.create_all(self.db.engine)

    def drop(self) -> None:
        assert self.db.engine is not None
        self.metadata.drop_all(self.db.engine)
        self.db.dispose()


def leaves_only(run: Run, leaves: list[ColourLeaf], batch: int) -> float:
    """Leaves per second when a transaction only inserts the encoded leaf rows (no tree, no
    checkpoint): the store's own cost, the baseline of the log's appends."""
    table = run.log.t.leaves
    start = time.perf_counter()
    for i in range(0, len(leaves), batch):
        rows = [
            {"origin": ORIGIN, "idx": i + k, "subject": leaf.subject, "data": encode_leaf(leaf)}
            for k, leaf in enumerate(leaves[i : i + batch])
        ]
        with run.db.write() as s:
            s.execute(insert(table), rows)
    return len(leaves) / (time.perf_counter() - start)


def store(run: Run, leaves: list[ColourLeaf], batch: int) -> tuple[float, int]:
    """Leaves per second appended in transactions of ``batch``, a checkpoint every second;
    and the checkpoints signed."""
    db, log = run.db, run.log
    checkpoints, last = 0, time.perf_counter()
    start = last
    for i in range(0, len(leaves), batch):
        with db.write() as s:
            log.append(s, leaves[i : i + batch], T0)
            if time.perf_counter() - last >= 1.0:
                log.sign(s, T0)
                checkpoints, last = checkpoints + 1, time.perf_counter()
    with db.write() as s:
        log.sign(s, T0)
    return len(leaves) / (time.perf_counter() - start), checkpoints + 1


def timed(fn: Callable[[], object], n: int) -> float:
    """Microseconds per call."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def proofs(log: ColourLog, db: Database, size: int, encoded: list[bytes]) -> dict[str, float]:
    rng = random.Random(3)
    tiles: dict = {}  # type: ignore[type-arg]
    append_hashes(tiles, 0, [leaf_hash(r) for r in encoded])
    served = {
        t.path: bytes(tiles[(t.level, t.index)][: t.width * 32]) for t in tiles_for_size(size)
    }

    def from_store() -> None:
        with db.read() as s:
            log.inclusion_proof(s, rng.randrange(size), size)

    def consistency_from_store() -> None:
        with db.read() as s:
            log.consistency_proof(s, rng.randrange(1, size), size)

    def from_memory() -> None:
        inclusion_proof(TileReader(served.__getitem__, size).node, rng.randrange(size), size)

    def consistency_memory() -> None:
        reader = TileReader(served.__getitem__, size)
        consistency_proof(reader.node, rng.randrange(1, size), size)

    return {
        "inclusion, store (us)": timed(from_store, 200),
        "consistency, store (us)": timed(consistency_from_store, 200),
        "inclusion, tiles in memory (us)": timed(from_memory, 2000),
        "consistency, tiles in memory (us)": timed(consistency_memory, 2000),
    }


def at_scale(n: int = 100_000_000) -> str:
    hashes = math.ceil(math.log2(n))
    levels = math.ceil(hashes / HEIGHT)
    return (
        f"at {n:,} leaves (computed from the tile layout, not measured): an inclusion proof "
        f"is at most {hashes} hashes ({hashes * 32} bytes), over {levels} tile levels; a "
        f"client reading tiles needs at most one tile per level on the leaf's path and one "
        f"partial tile per level on the right edge: <= {2 * levels} tiles "
        f"(<= {2 * levels * 8} KiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leaves", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--url", default=None, help="a PostgreSQL URL (else a SQLite file)")
    args = parser.parse_args()
    leaves = make_leaves(args.leaves)
    encoded = [encode_leaf(leaf) for leaf in leaves]
    print(f"leaves: {len(leaves):,}, {statistics.mean(map(len, encoded)):.0f} bytes on average")
    runs: dict[str, list[float]] = {}
    ratios: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            runs.setdefault("baseline sha256", []).append(baseline(encoded))
            runs.setdefault("memory append", []).append(memory(encoded))
            for batch in (500, 1):
                url = args.url or f"sqlite:///{Path(tmp) / f'log-{rep}-{batch}.db'}"
                count = leaves if batch > 1 else leaves[: max(1, len(leaves) // 10)]
                plain = Run(url)
                bare = leaves_only(plain, count, batch)
                plain.drop()
                run = Run(url)
                rate, signed = store(run, count, batch)
                runs.setdefault(f"store append, batch {batch}", []).append(rate)
                ratios.setdefault(batch, []).append(rate / bare)
                print(
                    f"rep {rep} batch {batch}: {rate:,.0f} leaves/s, {signed} checkpoints; "
                    f"leaf rows alone {bare:,.0f}/s"
                )
                if batch == 500 and rep == args.reps - 1:
                    figures = proofs(run.log, run.db, len(leaves), encoded)
                run.drop()
    base = statistics.median(runs["baseline sha256"])
    for name, values in runs.items():
        rate = statistics.median(values)
        print(f"{name:28s}: {rate:>12,.0f} leaves/s  ({rate / base:.4f}x the baseline)")
    for batch, values in ratios.items():
        print(
            f"store append, batch {batch}, against inserting the leaf rows alone: "
            f"median {statistics.median(values):.2f}x "
            f"(min {min(values):.2f}x, max {max(values):.2f}x)"
        )
    for name, micros in figures.items():
        print(f"{name:34s}: {micros:8.1f} us at {len(leaves):,} leaves")
    print(at_scale())


if __name__ == "__main__":
    main()
