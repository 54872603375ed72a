"""Hub bulk ingest into PostgreSQL, side by side with a raw ``COPY`` of the same rows.

    .venv/bin/python -m bench.hub_ingest [--records 50000] [--batch 2000] [--reps 3] [--http]
        [--url postgresql://postgres@127.0.0.1:5432/test] [--profile FILE]

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
  ``healthcode hub serve`` subprocess, one request after another.

The order of the sides alternates between repetitions (the first must run the hub: its rows
are what COPY writes); medians and the per-repetition ratio are reported. Also measured, once:
the validation alone (``RecordParser.parse`` of every record, no database).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import statistics
import time
from typing import Any

import httpx
import psycopg

from bench.hub_common import DEFAULT_URL, ENV, hub_server, nat_records, pg_schema, schema_url
from healthcode.config import Settings
from healthcode.core.clock import SystemClock
from healthcode.hub.ingest import Located
from healthcode.hub.records import RecordParser
from healthcode.hub.services import Hub
from healthcode.store.db import Database
from healthcode.store.migrate import upgrade
from healthcode.store.models import FeedEntry, Identity, Organisation, Record

TABLES = (Record.__table__, Identity.__table__, FeedEntry.__table__)
Rows = dict[str, list[tuple[Any, ...]]]


def _hub(url: str) -> tuple[Hub, Any]:
    db = Database.from_url(url)
    upgrade(db)
    hub = Hub.build(settings=Settings.from_env({**ENV, "HEALTHCODE_DATABASE_URL": url}), db=db)
    _, token = hub.orgs.add(kind="lab", region_code="440106", name="bench lab")
    return hub, token


def run_service(
    base: str, batches: list[list[Located]], *, dump: bool, profile: str | None = None
) -> tuple[float, Rows | None]:
    """Records/s through ``IngestService.submit``; the stored rows too if ``dump``."""
    with pg_schema(base) as schema:
        url = schema_url(base, schema)
        hub, token = _hub(url)
        principal = hub.orgs.authenticate(token)
        total = sum(len(b) for b in batches)
        prof = cProfile.Profile() if profile else None
        start = time.perf_counter()
        if prof:
            prof.enable()
        for batch in batches:
            answer = hub.ingest.submit(principal, "nat", batch)
            assert answer["count"] == len(batch)
        if prof:
            prof.disable()
        elapsed = time.perf_counter() - start
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


def run_copy(base: str, rows: Rows, batch: int) -> float:
    """Records/s of a raw COPY of ``rows`` into a fresh schema, ``batch`` records a transaction."""
    with pg_schema(base) as schema:
        url = schema_url(base, schema)
        db = Database.from_url(url)
        upgrade(db)
        db.dispose()
        with psycopg.connect(url) as conn:
            _copy(conn, Organisation.__table__, rows["organisations"])
            conn.commit()
            n = len(rows["records"])
            start = time.perf_counter()
            for lo in range(0, n, batch):
                with conn.transaction():
                    for table in TABLES:
                        _copy(conn, table, rows[table.name][lo : lo + batch])
            elapsed = time.perf_counter() - start
            count = conn.execute("SELECT count(*) FROM records").fetchone()
            assert count is not None and count[0] == n
    return n / elapsed


def _copy(conn: psycopg.Connection[Any], table: Any, rows: list[tuple[Any, ...]]) -> None:
    cols = ", ".join(_columns(table))
    with conn.cursor() as cur, cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def run_http(base: str, records: list[dict[str, Any]], batch: int) -> float:
    """Records/s of the same batches as JSON arrays to a ``hub serve`` subprocess."""
    with pg_schema(base) as schema:
        url = schema_url(base, schema)
        hub, token = _hub(url)
        hub.db.dispose()
        bodies = [
            json.dumps(records[lo : lo + batch], ensure_ascii=False).encode()
            for lo in range(0, len(records), batch)
        ]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with hub_server(url) as server, httpx.Client(base_url=server, timeout=300) as client:
            start = time.perf_counter()
            for body in bodies:
                r = client.post("/v1/records/nat/batch", content=body, headers=headers)
                r.raise_for_status()
            elapsed = time.perf_counter() - start
    return len(records) / elapsed


def parse_only(records: list[dict[str, Any]]) -> float:
    parser = RecordParser(pseudonym_key=Settings.from_env(ENV).pseudonym_key, clock=SystemClock())
    start = time.perf_counter()
    for r in records:
        parser.parse("nat", r, defaults={"lab": "bench lab"})
    return len(records) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=2_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--http", action="store_true", help="also ingest over HTTP (hub serve)")
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--profile", help="cProfile the first hub run into this file")
    args = ap.parse_args()

    records = nat_records(args.records)
    batches = [
        [Located({"index": i}, r) for i, r in enumerate(records[lo : lo + args.batch])]
        for lo in range(0, len(records), args.batch)
    ]
    print(f"records: {len(records):,} NAT results, batches of {args.batch:,}, reps {args.reps}")
    print(f"validation alone (RecordParser.parse): {parse_only(records):,.0f} records/s")

    service: list[float] = []
    copy: list[float] = []
    http: list[float] = []
    rows: Rows | None = None
    for rep in range(args.reps):
        sides = ["service", "copy", "http"] if rep % 2 == 0 else ["http", "copy", "service"]
        if rows is None:
            sides = ["service", *[s for s in sides if s != "service"]]
        if not args.http:
            sides.remove("http")
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
                service.append(rate)
            elif side == "copy":
                assert rows is not None
                rate = run_copy(args.url, rows, args.batch)
                copy.append(rate)
            else:
                rate = run_http(args.url, records, args.batch)
                http.append(rate)
            line.append(f"{side} {rate:,.0f}/s")
        print(f"rep {rep + 1}: " + ", ".join(line) + f"; service/copy {service[-1] / copy[-1]:.2f}")

    def summary(name: str, values: list[float]) -> None:
        if values:
            print(
                f"{name:<16}: {statistics.median(values):>9,.0f} records/s"
                f"  (min {min(values):,.0f}, max {max(values):,.0f})"
            )

    summary("hub (service)", service)
    summary("hub (HTTP)", http)
    summary("raw COPY", copy)
    ratios = [s / c for s, c in zip(service, copy, strict=True)]
    print(
        f"hub service / raw COPY: median {statistics.median(ratios):.2f}"
        f" (per rep {', '.join(f'{r:.2f}' for r in ratios)}); goal >= 0.5"
    )
    if http:
        hratios = [h / c for h, c in zip(http, copy, strict=True)]
        print(
            f"hub HTTP / raw COPY   : median {statistics.median(hratios):.2f}"
            f" (per rep {', '.join(f'{r:.2f}' for r in hratios)})"
        )


if __name__ == "__main__":
    main()
