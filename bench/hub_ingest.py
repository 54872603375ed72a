"""Hub bulk ingest into PostgreSQL, side by side with a raw ``COPY`` of the same rows.

    .venv/bin/python -m bench.hub_ingest [--records 50000] [--batch 2000] [--reps 3] [--http]
        [--streams N] [--url postgresql://postgres@127.0.0.1:5432/test] [--profile FILE]

Workload: ``--records`` valid NAT results of distinct people (resident ID numbers with a real
county and the check digit of core.identity, names, phones, pooled or single samples), sent as
one lab sends them, in batches of ``--batch``.

In each repetition, each in a fresh schema of its own (created, migrated and dropped here):

- **hub (service)**: ``IngestService.submit`` on a PostgreSQL ``Database``, batch after batch:
  the real ingest path (validation by core.identity and core.facts, pseudonyms, AES-GCM
  identities, natural-key check, routing, feed entries, one transaction per batch);
- **raw COPY**: psycopg's ``cursor.copy`` of the very rows the hub stored (``records``,
  ``identities``, ``feed_entries``, every column, as text), into the same tables made by the
  same migration, in the same batches, one committed transaction per batch;
- **hub (HTTP)** with ``--http``: the same batches as JSON arrays over loopback to a
  ``healthcode hub serve`` subprocess, one request after another;
- with ``--streams N`` (N > 1), **copy xN** and **http xN**: the same batches from N
  connections (COPY) or N uploaders (to ``hub serve --workers N``) at once, each taking the
  next batch when its last one is done: how a server with several cores takes several labs'
  uploads, on both sides.

For the service and COPY sides the bench also reports CPU µs a record: this process's own
(``time.process_time``: the hub's Python work, or the COPY client's) and that of the side's
own PostgreSQL backends only (``/proc/<pid>/stat``; the hub's found by an
``application_name`` of their own, the COPY connections' by their backend pids), so other
users of the database server, its WAL writer and checkpointer are not charged to either side:
a figure that holds up on a noisy machine better than records/s.

The input (the records, their batches, the rows COPY writes) is built before the sides run
and moved out of the garbage collector's sight (``gc.freeze``), so the collector's scans of
the bench's own data are not charged to the hub.

Before the repetitions the hub runs three batches unmeasured in a schema of its own, as a
running hub has: its first batches in a process pay once for lazy imports, compiled statements
and caches.

The order of the sides alternates between repetitions (the first must run the hub: its rows
are what COPY writes); medians and the per-repetition ratio are reported. Also measured, once:
the validation alone (``RecordParser.parse`` of every record, and the NAT fast path the service
uses, ``hub/records_fast.py``; no database).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import psycopg

from bench.hub_common import DEFAULT_URL, ENV, hub_server, nat_records
from bench.hub_load import cpu_seconds
from bench.scratch import pg_schema, schema_url
from healthcode.config import Settings
from healthcode.core.clock import SystemClock
from healthcode.hub.ingest import Located
from healthcode.hub.records import RecordParser
from healthcode.hub.records_fast import NatFastPath
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade
from healthcode.store.models import FeedEntry, Identity, Organisation, Record

TABLES = (Record.__table__, Identity.__table__, FeedEntry.__table__)
Rows = dict[str, list[tuple[Any, ...]]]
T = TypeVar("T")


def _hub(url: str) -> tuple[Hub, Any]:
    db = Database.from_url(url)
    upgrade(db)
    hub = Hub.build(settings=Settings.from_env({**ENV, "HEALTHCODE_DATABASE_URL": url}), db=db)
    _, token = hub.orgs.add(kind="lab", region_code="440106", name="bench lab")
    return hub, token


#: CPU µs a record of the last service or COPY run: ("client" = this process, "postgres" = the
#: side's own PostgreSQL backends), by side.
CPU: dict[str, list[tuple[float, float]]] = {}
#: The hub's connections name themselves so (their backends are the hub's).
HUB_APP = "healthcode-bench-hub"


def _frozen() -> None:
    """Move everything alive now out of the collector's sight: the bench's input is not
    scanned while a side runs."""
    gc.collect()
    gc.freeze()


class _CpuMeter:
    """CPU seconds spent by this process and by the backends ``pids()`` names, between start
    and stop (a backend that appears in between counts whole: it connected meanwhile)."""

    def __init__(self, pids: Callable[[], set[int]]) -> None:
        self._pids = pids

    def start(self) -> None:
        self._client = time.process_time()
        self._pg = {pid: cpu_seconds(pid) for pid in self._pids()}

    def stop(self, side: str, records: int) -> None:
        client = (time.process_time() - self._client) / records * 1e6
        spent = sum(cpu_seconds(pid) - self._pg.get(pid, 0.0) for pid in self._pids())
        CPU.setdefault(side, []).append((client, max(0.0, spent) / records * 1e6))


def _backends_named(url: str, app_name: str) -> Callable[[], set[int]]:
    def pids() -> set[int]:
        with psycopg.connect(url, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app_name,)
            ).fetchall()
        return {int(pid) for (pid,) in rows}

    return pids


def run_service(
    base: str, batches: list[list[Located]], *, dump: bool, profile: str | None = None
) -> tuple[float, Rows | None]:
    """Records/s through ``IngestService.submit``; the stored rows too if ``dump``."""
    with pg_schema(base) as schema:
        url = schema_url(base, schema)
        hub, token = _hub(f"{url}&application_name={HUB_APP}")
        principal = hub.orgs.authenticate(token)
        total = sum(len(b) for b in batches)
        prof = cProfile.Profile() if profile else None
        meter = _CpuMeter(_backends_named(base, HUB_APP))
        _frozen()
        meter.start()
        start = time.perf_counter()
        if prof:
            prof.enable()
        for batch in batches:
            answer = hub.ingest.submit(principal, "nat", batch)
            assert answer["count"] == len(batch)
        if prof:
            prof.disable()
        elapsed = time.perf_counter() - start
        meter.stop("service", total)
        if prof and profile:
            prof.dump_stats(profile)
        rows = _dump(url) if dump else None
        hub.db.dispose()
    return total / elapsed, rows


def _columns(table: Any) -> list[str]:
    return [c.name for c in table.columns]


def _dump(url: str) -> Rows:
    """Every stored row of the three tables, each column as text, in record order."""
    out: Rows = {}
    with psycopg.connect(url) as conn:
        # Statistics first: without them the identities' ORDER BY subquery may scan records
        # once per identity (minutes at 50k rows).
        conn.execute("ANALYZE records")
        for table in (Organisation.__table__, *TABLES):
            cols = _columns(table)
            order = {
                "records": "id",
                "identities": "(SELECT min(r.id) FROM records r WHERE r.pseudonym = t.pseudonym)",
                "feed_entries": "ref_id",
                "organisations": "id",
            }[table.name]
            select = ", ".join(f"t.{c}::text" for c in cols)
            out[table.name] = conn.execute(
                f"SELECT {select} FROM {table.name} t ORDER BY {order}"
            ).fetchall()
    return out


@contextlib.contextmanager
def copy_schema(base: str, rows: Rows) -> Iterator[str]:
    """The URL of a fresh schema with the hub's tables (the same migration) and the
    organisations of ``rows`` copied in: where a raw COPY of the records goes; dropped after."""
    with pg_schema(base) as schema:
        url = schema_url(base, schema)
        db = Database.from_url(url)
        upgrade(db)
        db.dispose()
        with psycopg.connect(url) as conn:
            _copy(conn, Organisation.__table__, rows["organisations"])
            conn.commit()
        yield url


def run_copy(base: str, rows: Rows, batch: int, streams: int = 1) -> float:
    """Records/s of a raw COPY of ``rows`` into a fresh schema, ``batch`` records a transaction,
    from ``streams`` connections at once (each takes the next batch when it is done)."""
    with copy_schema(base, rows) as url:
        n = len(rows["records"])
        starts = iter(range(0, n, batch))
        lock = threading.Lock()
        conns = [psycopg.connect(url) for _ in range(streams)]

        def stream(conn: psycopg.Connection[Any]) -> None:
            while True:
                with lock:
                    lo = next(starts, None)
                if lo is None:
                    return
                with conn.transaction():
                    for table in TABLES:
                        _copy(conn, table, rows[table.name][lo : lo + batch])

        try:
            meter = _CpuMeter(lambda: {c.info.backend_pid for c in conns})
            _frozen()
            meter.start()
            start = time.perf_counter()
            _in_threads(stream, conns)
            elapsed = time.perf_counter() - start
            meter.stop("copy" if streams == 1 else f"copy x{streams}", n)
            count = conns[0].execute("SELECT count(*) FROM records").fetchone()
            assert count is not None and count[0] == n
        finally:
            for conn in conns:
                conn.close()
    return n / elapsed


def _in_threads(work: Callable[[T], None], args: list[T]) -> None:
    """``work(arg)`` for each of ``args``, each in a thread of its own; raises the first error."""
    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        for future in [pool.submit(work, arg) for arg in args]:
            future.result()


def _copy(conn: psycopg.Connection[Any], table: Any, rows: list[tuple[Any, ...]]) -> None:
    cols = ", ".join(_columns(table))
    with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def run_http(base: str, records: list[dict[str, Any]], batch: int, streams: int = 1) -> float:
    """Records/s of the same batches as JSON arrays to a ``hub serve --workers streams``
    subprocess, from ``streams`` uploaders at once (each sends the next batch when its last one
    is answered)."""
    with pg_schema(base) as schema:
        url = schema_url(base, schema)
        hub, token = _hub(url)
        hub.db.dispose()
        bodies = [
            json.dumps(records[lo : lo + batch], ensure_ascii=False).encode()
            for lo in range(0, len(records), batch)
        ]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        queue = iter(bodies)
        lock = threading.Lock()

        def upload(server: str) -> None:
            with httpx.Client(base_url=server, timeout=300) as client:
                while True:
                    with lock:
                        body = next(queue, None)
                    if body is None:
                        return
                    r = client.post("/v1/records/nat/batch", content=body, headers=headers)
                    r.raise_for_status()

        with hub_server(url, workers=streams) as server:
            start = time.perf_counter()
            _in_threads(upload, [server] * streams)
            elapsed = time.perf_counter() - start
    return len(records) / elapsed


def parse_only(records: list[dict[str, Any]]) -> tuple[float, float]:
    """Records/s of the checks alone: the reference (``RecordParser.parse``), and the NAT fast
    path beside it (``hub/records_fast.py``)."""
    key = Settings.from_env(ENV).pseudonym_key
    parser = RecordParser(pseudonym_key=key, clock=SystemClock())
    start = time.perf_counter()
    for r in records:
        parser.parse("nat", r, defaults={"lab": "bench lab"})
    reference = len(records) / (time.perf_counter() - start)
    start = time.perf_counter()
    fast = NatFastPath(pseudonym_key=key).parse_many(
        records, lab="bench lab", now=SystemClock().now()
    )
    assert None not in fast
    return reference, len(records) / (time.perf_counter() - start)


def _with_checks(hub_cpu: list[float], copy_cpu: list[float], checks_per_s: float) -> None:
    """The hub against a COPY that also checked every record as the hub does (the NAT fast
    path's time a record, measured alone above): what is left beyond the checks themselves."""
    checks = 1e6 / checks_per_s
    rs = [h / (c + checks) for h, c in zip(hub_cpu, copy_cpu, strict=True)]
    print(
        f"CPU a record, hub / (COPY + the record checks alone, {checks:.0f} µs): median "
        f"{statistics.median(rs):.2f} (per rep {', '.join(f'{r:.2f}' for r in rs)})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=2_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--http", action="store_true", help="also ingest over HTTP (hub serve)")
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--profile", help="cProfile the first hub run into this file")
    ap.add_argument(
        "--streams",
        type=int,
        default=1,
        help="also N uploaders at once to hub serve --workers N, and N COPY connections",
    )
    args = ap.parse_args()

    records = nat_records(args.records)
    batches = [
        [Located({"index": i}, r) for i, r in enumerate(records[lo : lo + args.batch])]
        for lo in range(0, len(records), args.batch)
    ]
    print(f"records: {len(records):,} NAT results, batches of {args.batch:,}, reps {args.reps}")
    reference, fast = parse_only(records)
    print(
        f"validation alone: RecordParser.parse {reference:,.0f} records/s,"
        f" NAT fast path {fast:,.0f} records/s"
    )

    # One unmeasured pass first, as a running hub has made it: the process's first batches pay
    # for lazy imports, compiled statements and caches filled once (rep 1 was often the worst).
    run_service(args.url, batches[:3], dump=False)
    CPU.pop("service", None)

    n = args.streams
    results: dict[str, list[float]] = {"service": [], "copy": []}
    if args.http:
        results["http"] = []
    if n > 1:
        results[f"copy x{n}"] = []
        results[f"http x{n}"] = []
    rows: Rows | None = None
    for rep in range(args.reps):
        sides = list(results) if rep % 2 == 0 else list(reversed(results))
        if rows is None:
            sides = ["service", *[s for s in sides if s != "service"]]
        line = []
        for side in sides:
            if side == "service":
                rate, dumped = run_service(
                    args.url,
                    batches,
                    dump=rows is None,
                    profile=args.profile if rep == 0 else None,
                )
                rows = rows or dumped
            elif side.startswith("copy"):
                assert rows is not None
                rate = run_copy(args.url, rows, args.batch, streams=1 if side == "copy" else n)
            else:
                rate = run_http(args.url, records, args.batch, streams=1 if side == "http" else n)
            results[side].append(rate)
            line.append(f"{side} {rate:,.0f}/s")
        print(f"rep {rep + 1}: " + ", ".join(line))

    for name, values in results.items():
        print(
            f"{name:<9}: {statistics.median(values):>9,.0f} records/s"
            f"  (min {min(values):,.0f}, max {max(values):,.0f})"
        )

    def ratio(top: str, bottom: str, note: str = "") -> None:
        rs = [t / b for t, b in zip(results[top], results[bottom], strict=True)]
        print(
            f"{top} / {bottom}: median {statistics.median(rs):.2f}"
            f" (per rep {', '.join(f'{r:.2f}' for r in rs)}){note}"
        )

    for side, figures in CPU.items():
        print(
            f"CPU µs a record, {side:<9}: this process (hub or COPY client) "
            f"{statistics.median(c for c, _ in figures):,.0f}, postgres "
            f"{statistics.median(p for _, p in figures):,.0f} (medians)"
        )
    if "service" in CPU and "copy" in CPU:
        hub_cpu = [c + p for c, p in CPU["service"]]
        copy_cpu = [c + p for c, p in CPU["copy"]]
        rs = [h / c for h, c in zip(hub_cpu, copy_cpu, strict=True)]
        print(
            f"CPU a record, hub (process + its backends) / COPY (client + its backends): median "
            f"{statistics.median(rs):.2f} (per rep {', '.join(f'{r:.2f}' for r in rs)}); goal <= 2"
        )
        _with_checks(hub_cpu, copy_cpu, fast)
    ratio("service", "copy", "; goal >= 0.5")
    if args.http:
        ratio("http", "copy")
    if n > 1:
        ratio(f"http x{n}", "copy")
        ratio(f"http x{n}", f"copy x{n}")


if __name__ == "__main__":
    main()
