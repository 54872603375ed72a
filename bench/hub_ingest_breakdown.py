"""Where the hub's own time goes when it ingests a batch: CPU and wall time per part.

    .venv/bin/python -m bench.hub_ingest_breakdown [--records 50000] [--batch 5000]

Runs ``IngestService.submit`` on valid NAT results (bench.hub_common) into a fresh PostgreSQL
schema, with the main parts of the ingest path wrapped by timers (``time.process_time`` for
this process's CPU, ``time.perf_counter`` for wall time). Parts nest (``_once`` holds the
statements, which hold the array literals), so the rows do not add up; wall time beyond CPU in
a statement is the server's work and the round trips. The wrappers cost ~0.3 µs a call.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.hub_common import DEFAULT_URL, nat_records
from bench.hub_ingest import _hub
from bench.scratch import pg_schema, schema_url
from healthcode.hub import feeds, holders, ingest
from healthcode.hub.ingest import IngestService, Located
from healthcode.store import bulk, crypto, feed_writer, record_writer

CPU: dict[str, float] = defaultdict(float)
WALL: dict[str, float] = defaultdict(float)


def _timed(owner: Any, name: str, label: str) -> None:
    inner: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(inner)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            CPU[label] += time.process_time() - cpu
            WALL[label] += time.perf_counter() - wall

    setattr(owner, name, wrapper)


PARTS = [
    (ingest, "parse_batch", "validation (RecordParser.parse)"),
    (IngestService, "_transaction", "store: the whole transaction"),
    (record_writer, "insert_rows", "  statements (records, identities)"),
    (ingest, "_record_row", "  records rows"),
    (IngestService, "_upsert_identities", "  identities (rows, AES-GCM, upsert)"),
    (crypto.FieldCipher, "encrypt_many", "    AES-GCM"),
    (holders, "holders", "  holders lookup"),
    (feeds.Feeds, "append", "  feed entries (counters, insert)"),
    (feed_writer, "insert_rows", "    feed statements"),
    (bulk, "_json_ready", "  row values made JSON-ready (all statements)"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=5_000)
    ap.add_argument("--url", default=DEFAULT_URL)
    args = ap.parse_args()
    for owner, name, label in PARTS:
        _timed(owner, name, label)
    items = nat_records(args.records)
    n = len(items)
    batches = [
        [Located({"index": i}, r) for i, r in enumerate(items[lo : lo + args.batch])]
        for lo in range(0, n, args.batch)
    ]
    with pg_schema(args.url) as schema:
        hub, token = _hub(schema_url(args.url, schema))
        principal = hub.orgs.authenticate(token)
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            hub.ingest.submit(principal, "nat", batch)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        hub.db.dispose()
    print(
        f"{n:,} records: wall {wall / n * 1e6:.0f} µs a record,"
        f" this process's CPU {cpu / n * 1e6:.0f}"
    )
    for _, _, label in PARTS:
        print(f"{label:<38} CPU {CPU[label] / n * 1e6:6.1f}  wall {WALL[label] / n * 1e6:6.1f} µs")


if __name__ == "__main__":
    main()
