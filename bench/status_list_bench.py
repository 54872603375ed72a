"""Token Status Lists for a province of 100 million colour states: size and time.

    .venv/bin/python -m bench.status_list_bench [--indexes 100000000] [--rates 0.001,0.01,0.05]
        [--revoked 0.0001] [--hub-rows 2000000]

(a) For each share of superseded states (spread at random over the indexes, as colour changes
    hit any earlier state) plus a share of revoked ones: the lists of ``--indexes`` two-bit
    statuses, cut in lists of ``CHUNK_INDEXES`` (2^24) as the hub serves them, and as one list:
    the compressed ``lst`` and the signed token in bytes, against two baselines of the same run,
    the raw byte array (``indexes / 4`` bytes) and a revocation list of the same marked states as
    serials (12 bytes each, sorted, zlib level 9: what the signed trust list's ``revoked_serials``
    would carry); the time to build (set the marked statuses), compress and sign every chunk,
    and a checkpoint's refresh of them (open: signature, inflate) and its lookups.
(b) The hub's build of one chunk from its database (SQLite, ``--hub-rows`` reported states of
    which the given share are marked): ``StatusListService.build`` (the select of the marked
    rows through the index, the statuses set) against the plain select of the same rows alone.

Times are CPU time of this process (the machine is shared; one run each: they are seconds).
"""

from __future__ import annotations

import argparse
import random
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from healthcode.core.codes.status_list import (
    CHUNK_INDEXES,
    STATUS_INVALID,
    STATUS_SUPERSEDED,
    StatusList,
    list_uri,
)
from healthcode.core.trust.certs import make_publisher, make_root
from healthcode.core.trust.status_lists import open_status_list, seal_status_list

T = datetime(2022, 11, 20, 8, 0, tzinfo=UTC)


def _marked(indexes: int, share: float, revoked: float, seed: int = 7) -> dict[int, int]:
    rng = random.Random(seed)
    out = {i: STATUS_SUPERSEDED for i in rng.sample(range(indexes), int(indexes * share))}
    for i in rng.sample(range(indexes), int(indexes * revoked)):
        out[i] = STATUS_INVALID
    return out


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def province(indexes: int, share: float, revoked: float, publisher: Any, root: Any) -> None:
    marked = _marked(indexes, share, revoked)
    chunks = -(-indexes // CHUNK_INDEXES)
    buckets: list[list[tuple[int, int]]] = [[] for _ in range(chunks)]
    for i, status in marked.items():
        buckets[i // CHUNK_INDEXES].append((i % CHUNK_INDEXES, status))
    started = time.process_time()
    tokens, lst_bytes = [], 0
    build = compress = seal = 0.0
    for chunk in range(chunks):
        t0 = time.process_time()
        lst = StatusList.of(CHUNK_INDEXES, buckets[chunk])
        t1 = time.process_time()
        lst_bytes += len(lst.encode()["lst"])
        t2 = time.process_time()
        tokens.append(
            seal_status_list(
                lst,
                uri=list_uri("440000", chunk),
                issued_at=T,
                expires_at=T + timedelta(days=1),
                ttl=timedelta(minutes=5),
                publisher=publisher,
            )
        )
        t3 = time.process_time()
        build, compress, seal = build + t1 - t0, compress + t2 - t1, seal + t3 - t2
    built = build + seal  # the bytes counted apart (an encode of its own) are not the hub's
    del started
    t0 = time.process_time()
    opened = [open_status_list(t, root_cert=root.certificate) for t in tokens]
    refresh = time.process_time() - t0
    probe = random.Random(1).sample(range(indexes), 100_000)
    t0 = time.process_time()
    for i in probe:
        opened[i // CHUNK_INDEXES].status_list.get(i % CHUNK_INDEXES)
    lookup = (time.process_time() - t0) / len(probe)
    whole = StatusList.of(indexes, marked.items())
    one_list = len(whole.encode()["lst"])
    raw = len(whole.data)
    rng = random.Random(3)
    serials = b"".join(sorted(rng.randbytes(12) for _ in marked))
    serial_list = len(zlib.compress(serials, 9))
    token_bytes = sum(len(t) for t in tokens)
    print(
        f"{share:.2%} superseded + {revoked:.2%} revoked ({len(marked):,} marked): "
        f"{chunks} lists {_mb(token_bytes)} signed (lst {_mb(lst_bytes)}); one list lst "
        f"{_mb(one_list)}; raw array {_mb(raw)} = {token_bytes / raw:.4f}x; serial list "
        f"{_mb(serial_list)} = {token_bytes / serial_list:.3f}x"
    )
    print(
        f"    hub: set + seal every list {built:.1f} s (set {build:.2f}, seal {seal:.1f}, of "
        f"which zlib ~{compress:.1f}); checkpoint refresh (open {chunks} tokens) {refresh:.2f} s; "
        f"lookup {lookup * 1e6:.2f} us"
    )


def hub(rows: int, share: float) -> None:
    from sqlalchemy import insert, select

    from healthcode.config import Settings
    from healthcode.core.clock import FixedClock
    from healthcode.hub.feeds import Feeds
    from healthcode.hub.publishing import PublishingService
    from healthcode.hub.risk_areas import RiskAreaService
    from healthcode.hub.status_lists import StatusListService
    from healthcode.store.db import Database
    from healthcode.store.migrate import upgrade
    from healthcode.store.models import CodeStatus

    del Settings
    with TemporaryDirectory() as folder:
        db = Database.from_url(f"sqlite:///{Path(folder) / 'hub.db'}")
        upgrade(db)
        rng = random.Random(5)
        marked = set(rng.sample(range(rows), int(rows * share)))
        batch = []
        with db.write() as s:
            for i in range(rows):
                batch.append(
                    {
                        "serial": f"{i:024x}",
                        "province": "440000",
                        "pseudonym": f"{i % (rows // 2):032x}",
                        "colour": "green",
                        "since": T,
                        "until": None,
                        "ruleset_version": "9",
                        "reported_at": T,
                        "status_index": i,
                        "list_status": STATUS_SUPERSEDED if i in marked else 0,
                    }
                )
                if len(batch) == 50_000:
                    s.execute(insert(CodeStatus), batch)
                    batch = []
            if batch:
                s.execute(insert(CodeStatus), batch)
        clock = FixedClock(T)
        publishing = PublishingService(
            db=db,
            clock=clock,
            risk_areas=RiskAreaService(db=db, clock=clock, feeds=Feeds(db=db, page_max=100)),
            network_home="",
            passphrase=None,
        )
        service = StatusListService(db=db, clock=clock, publishing=publishing)
        c = CodeStatus.__table__.c
        plain = select(c.status_index, c.list_status).where(
            (c.province == "440000") & (c.list_status != 0)
        )
        for _ in range(2):
            t0 = time.process_time()
            with db.reader() as conn:
                n = len(conn.execute(plain).all())
            t1 = time.process_time()
            lst = service.build("440000", 0)
            t2 = time.process_time()
        assert sum(1 for i in marked if lst.get(i)) == n == len(marked)
        print(
            f"hub build of one list from SQLite ({rows:,} states, {n:,} marked): "
            f"{t2 - t1:.2f} s; the plain select of the marked rows {t1 - t0:.2f} s "
            f"= {(t2 - t1) / (t1 - t0):.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indexes", type=int, default=100_000_000)
    parser.add_argument("--rates", default="0.001,0.01,0.05")
    parser.add_argument("--revoked", type=float, default=0.0001)
    parser.add_argument("--hub-rows", type=int, default=2_000_000)
    args = parser.parse_args()
    root = make_root(now=T - timedelta(days=1))
    publisher = make_publisher(
        root=root, not_before=T - timedelta(days=1), not_after=T + timedelta(days=30)
    )
    for share in (float(r) for r in args.rates.split(",")):
        province(args.indexes, share, args.revoked, publisher, root)
    if args.hub_rows:
        hub(args.hub_rows, 0.01)


if __name__ == "__main__":
    main()
