"""The colour log in the province: what it adds to a colour change, and its appends per second
with a checkpoint signed every second, against the same colour changes without the log in the
same run.

Workload: ``--people`` people who applied (rows in ``people``), each turned red by a positive
NAT record and back to green when it is withdrawn, round after round; each round is
re-evaluated through ``ProvinceService.reevaluate`` (the scalar path every feed page and sweep
takes) in transactions of ``--batch`` people (1: one colour change a transaction, as a single
record arriving; larger: a feed page). Every re-evaluation changes every colour, so a round of
``n`` people is ``n`` colour changes, ``n`` status reports queued and, with the log, ``n``
leaves appended in the same transactions.

- without the log: the service's change listeners emptied;
- with the log: its listener (leaves read from the ``colours`` rows, one ``ColourLog.append``
  per transaction) and the checkpoint loop (``checkpoint_once`` every second, in a thread, as
  the service runs it; no witness).

The two are interleaved, ``--reps`` times each; medians. The inclusion proof at 100 million
leaves is computed from the tile layout (``bench/audit_bench.py`` prints it; it is repeated
here), and its time is measured on a tree grown to ``--proof-leaves`` in memory tiles at the
same shape (4 tile levels only from 16.7 M leaves: the time is per tile level read).

Run: ``.venv/bin/python -m bench.colour_log [--people 300] [--rounds 4] [--batch 1 --batch 100]
[--reps 3] [--url postgresql://...]``
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from bench.scratch import pg_schema, schema_url
from healthcode.config import ProvinceSettings
from healthcode.core.audit.keys import ensure_log_keys, log_key_path
from healthcode.core.audit.merkle import inclusion_proof, leaf_hash, verify_inclusion
from healthcode.core.audit.tiles import HEIGHT, TileReader, append_hashes, tiles_for_size
from healthcode.core.clock import FixedClock
from healthcode.province.changes import ChangeListeners
from healthcode.province.models import COLOUR_LOG, FactRecord, Person
from healthcode.province.schema import upgrade
from healthcode.province.service import ProvinceService
from healthcode.store.db import Database

NOW = datetime(2022, 11, 20, 1, tzinfo=UTC)
KEY = "ZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGQ="


def _service(url: str, home: Path) -> ProvinceService:
    settings = ProvinceSettings.from_env(
        {
            "HEALTHCODE_PROVINCE_REGION": "440000",
            "HEALTHCODE_PROVINCE_FIELD_KEY": KEY,
            "HEALTHCODE_PROVINCE_HUB_TOKEN": "unused",
            "HEALTHCODE_PROVINCE_DATABASE_URL": url,
            "HEALTHCODE_PROVINCE_LOG_KEY": str(log_key_path(home, "440000")),
        }
    )
    db = Database.from_url(url, busy_seconds=30)
    upgrade(db)
    return ProvinceService.build(settings=settings, db=db, clock=FixedClock(NOW))


def _people(service: ProvinceService, n: int) -> list[str]:
    pseudonyms = [f"{i:064x}" for i in range(n)]
    with service.db.write() as s:
        for i, p in enumerate(pseudonyms):
            s.add(
                Person(
                    pseudonym=p,
                    id_digest=f"d{i:063x}",
                    id_type="resident_id",
                    id_enc=b"x",
                    name_enc=b"x",
                    phone_enc=b"x",
                    masked_id="*",
                    masked_name="*",
                    residence_region="440106",
                    applied_at=NOW,
                )
            )
            s.add(
                FactRecord(
                    record_id=i + 1, pseudonym=p, kind="nat", version=1, fact=None, updated_at=NOW
                )
            )
        service.reevaluate(s, pseudonyms, NOW)
    return pseudonyms


_POSITIVE = {"sampled_at": "2022-11-19T08:00:00+08:00", "result": "positive", "lab": "GZ"}


def _round(service: ProvinceService, people: list[str], red: bool, batch: int) -> float:
    """Seconds to turn everyone red (or back), ``batch`` people a transaction."""
    start = time.perf_counter()
    for i in range(0, len(people), batch):
        chunk = people[i : i + batch]
        with service.db.write() as s:
            s.execute(
                update(FactRecord)
                .where(FactRecord.pseudonym.in_(chunk))
                .values(fact=_POSITIVE if red else None)
            )
            service.reevaluate(s, chunk, NOW)
    return time.perf_counter() - start


def _arm(service: ProvinceService, people: list[str], rounds: int, batch: int, log: bool) -> float:
    """Colour changes per second over ``rounds`` rounds, with or without the log."""
    assert service.colour_log is not None
    service.changes = ChangeListeners([service.colour_log.record] if log else [])
    stop = threading.Event()

    def checkpoints() -> None:
        while not stop.wait(1.0):
            service.checkpoint_once()

    signer = threading.Thread(target=checkpoints, daemon=True)
    if log:
        signer.start()
    seconds = sum(_round(service, people, r % 2 == 0, batch) for r in range(rounds))
    stop.set()
    if log:
        signer.join()
        service.checkpoint_once()
    return rounds * len(people) / seconds


def proof_at(leaves: int, reps: int = 2000) -> tuple[int, float]:
    """An inclusion proof's hashes and its time (microseconds, tiles in memory) in a tree of
    ``leaves``; checked once."""
    tiles: dict = {}  # type: ignore[type-arg]
    append_hashes(tiles, 0, (leaf_hash(b"%d" % i) for i in range(leaves)))
    served = {
        t.path: bytes(tiles[(t.level, t.index)][: t.width * 32]) for t in tiles_for_size(leaves)
    }
    reader = TileReader(served.__getitem__, leaves)
    proof = inclusion_proof(reader.node, leaves // 3, leaves)
    verify_inclusion(leaf_hash(b"%d" % (leaves // 3)), leaves // 3, leaves, proof, reader.root())
    start = time.perf_counter()
    for k in range(reps):
        inclusion_proof(TileReader(served.__getitem__, leaves).node, (k * 7919) % leaves, leaves)
    return len(proof), (time.perf_counter() - start) / reps * 1e6


@contextlib.contextmanager
def _database(url: str | None, folder: Path) -> Iterator[str]:
    """A fresh province database: a SQLite file in ``folder``, or a scratch schema of ``url``."""
    if url is None:
        yield f"sqlite:///{folder / f'province-{uuid.uuid4().hex[:6]}.db'}"
        return
    with pg_schema(url, prefix="bench_log") as schema:
        yield schema_url(url, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, action="append", default=None)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--url", default=None, help="a PostgreSQL URL (else a SQLite file)")
    parser.add_argument("--proof-leaves", type=int, default=1 << 20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "keys"
        ensure_log_keys(home, ["440000"])
        for batch in args.batch or [1, 100]:
            with contextlib.ExitStack() as stack:
                service = _service(stack.enter_context(_database(args.url, Path(tmp))), home)
                stack.callback(service.close)
                people = _people(service, args.people)
                plain, logged = [], []
                for _ in range(args.reps):
                    plain.append(_arm(service, people, args.rounds, batch, log=False))
                    logged.append(_arm(service, people, args.rounds, batch, log=True))
                with service.db.read() as s:
                    size = service.colour_log.log.size(s)  # type: ignore[union-attr]
                    signed = s.query(COLOUR_LOG.checkpoints).count()
            p, w = statistics.median(plain), statistics.median(logged)
            print(
                f"batch {batch}: colour changes/s without the log {p:,.0f}, with it {w:,.0f} "
                f"({w / p:.2f}x; per change +{(1 / w - 1 / p) * 1e3:.2f} ms); "
                f"runs without {[round(x) for x in plain]}, with {[round(x) for x in logged]}; "
                f"log {size:,} leaves, {signed} checkpoints"
            )
    hashes, micros = proof_at(args.proof_leaves)
    print(
        f"inclusion proof at {args.proof_leaves:,} leaves (measured, tiles in memory): "
        f"{hashes} hashes, {micros:.0f} us"
    )
    n = 100_000_000
    levels = math.ceil(math.ceil(math.log2(n)) / HEIGHT)
    print(
        f"at {n:,} leaves (computed from the tile layout): at most {math.ceil(math.log2(n))} "
        f"hashes ({math.ceil(math.log2(n)) * 32} bytes), {levels} tile levels, "
        f"<= {2 * levels} tiles read"
    )


if __name__ == "__main__":
    main()
