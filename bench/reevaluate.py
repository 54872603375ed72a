"""Re-evaluation after a risk area: people per second from the database to colours stored.

A province of ``--people`` facts documents (random, as ``rules_bench``) is loaded into fresh
tables (``bench/province_tables.py``) with one or two visits each, ``--share`` of the people
with a visit inside Guangzhou (440100) within the last days, and every colour computed once
(the "everyone" run: a new rule set). Then a high-risk designation of 440100 and its lift are
each applied with :func:`healthcode.batch.reevaluate.reevaluate` on the people with a visit
there inside the rule set's look-back (``people_with_visits``, through the ``(region_code,
at)`` index): stored facts read in columns, risk-area fields derived from the visits,
evaluated, changed colours written back, changed colours (or untils) collected.

Side by side, in the same run, one plain query reads the same facts (the selected people's
summaries and visits): through psycopg rows (``fetchall``), through ``COPY`` into Polars (the
pipeline's reader) and, when ``adbc-driver-postgresql`` is installed, through ADBC into Arrow.
The figure to compare is the pipeline's time over the plain read's (goal: within 3x).

The same pipeline runs on SQLite (``--sqlite-people``, a file in a temporary folder) for
reference. PostgreSQL: ``--url`` (default the local test server); the benchmark works in a
schema of its own, dropped at the end.

``--fill-factor N`` sets the fill factor of ``person_summaries`` and ``colours`` on PostgreSQL
before loading (room for HOT updates; the province's tables keep PostgreSQL's default, 100:
the room was measured and not kept, see docs/benchmarks.md).

Run: ``.venv/bin/python -m bench.reevaluate [--people 1000000] [--share 0.6] [--reps 2]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from bench.province_tables import make_tables
from bench.rules_bench import NOW, population
from bench.scratch import province_schema
from healthcode.batch.areas import visit_lookback
from healthcode.batch.columns import read_frame
from healthcode.batch.reevaluate import (
    Outcome,
    ProvinceTables,
    everyone,
    people_with_visits,
    reevaluate,
)
from healthcode.core.clock import FixedClock
from healthcode.core.facts import RiskAreaDesignation
from healthcode.core.rules import PERSON_FIELDS, baseline
from healthcode.store.db import Database

AREA = "440100"
INSIDE = ["440103", "440104", "440105", "440106", "440111", "440112"]
OUTSIDE = ["440303", "440304", "110101", "110105", "310101", "420102"]
SOURCES = ["venue_scan", "transport_ticket", "declaration", "carrier_cell"]


def visits_frame(n: int, share: float, seed: int = 11) -> pl.DataFrame:
    """One visit per person (inside the area for ``share`` of them, within the last 6 days),
    and a second, older one elsewhere for half of them."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        p = f"{i:064d}"
        code = rng.choice(INSIDE) if rng.random() < share else rng.choice(OUTSIDE)
        rows.append(
            (p, code, NOW - timedelta(minutes=rng.randrange(6 * 24 * 60)), rng.choice(SOURCES))
        )
        if i % 2:
            rows.append(
                (
                    p,
                    rng.choice(OUTSIDE),
                    NOW - timedelta(days=8 + rng.randrange(20)),
                    rng.choice(SOURCES),
                )
            )
    frame = pl.DataFrame(
        rows,
        orient="row",
        schema={
            "pseudonym": pl.String,
            "region_code": pl.String,
            "at": pl.Datetime("us", "UTC"),
            "source": pl.String,
        },
    )
    return frame.with_row_index("record_id", offset=1).with_columns(
        pl.col("record_id").cast(pl.Int64)
    )


def summaries_frame(n: int) -> pl.DataFrame:
    frame = population(n).with_columns(
        pl.int_range(0, n).cast(pl.String).str.pad_start(64, "0").alias("pseudonym")
    )
    updated = pl.lit(NOW - timedelta(days=30)).dt.convert_time_zone("UTC").alias("updated_at")
    return frame.select("pseudonym", *PERSON_FIELDS, updated)  # what person_summaries stores


def load(
    db: Database, tables: ProvinceTables, summaries: pl.DataFrame, visits: pl.DataFrame
) -> None:
    """Fill the tables: ``COPY`` on PostgreSQL, executemany on SQLite."""
    from healthcode.batch.writes import _copy_in

    with db.write() as session:
        conn = session.connection()
        for table, frame in ((tables.summaries, summaries), (tables.visits, visits)):
            if conn.dialect.name == "postgresql":
                tmp = _copy_in(conn, table, frame, f"load_{table.name}")
                cols = ", ".join(frame.columns)
                conn.exec_driver_sql(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {tmp}")
            else:
                rows = frame.to_dicts()
                for i in range(0, len(rows), 50_000):
                    conn.execute(table.insert(), rows[i : i + 50_000])
    if db.dialect == "postgresql":
        assert db.engine is not None
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in (tables.summaries, tables.visits):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")


def plain_reads(
    db: Database, tables: ProvinceTables, since: datetime, url: str | None
) -> dict[str, float]:
    """Seconds to read the selected people's summaries and visits, one query each, by way."""
    chosen = people_with_visits(tables, AREA, since, None).subquery()
    s, v = tables.summaries, tables.visits
    q_s = s.select().where(s.c.pseudonym.in_(chosen.select()))
    q_v = v.select().where(v.c.pseudonym.in_(chosen.select()))
    out = {}
    assert db.engine is not None
    with db.engine.connect() as conn:
        start = time.perf_counter()
        for q in (q_s, q_v):
            conn.execute(q).cursor.fetchall()  # the driver's rows
        out["plain rows (driver fetchall)"] = time.perf_counter() - start
        start = time.perf_counter()
        schema_s = {c.name: _dtype(c) for c in s.c}
        schema_v = {c.name: _dtype(c) for c in v.c}
        read_frame(conn, q_s, schema_s)
        read_frame(conn, q_v, schema_v)
        out["columns (the pipeline's reader)"] = time.perf_counter() - start
    if url is not None:
        try:
            import adbc_driver_postgresql.dbapi as adbc
        except ImportError:
            return out
        with adbc.connect(url) as aconn, aconn.cursor() as cur:
            start = time.perf_counter()
            for q in (q_s, q_v):
                sql = str(
                    q.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
                )
                cur.execute(sql)
                pl.from_arrow(cur.fetch_arrow_table())
            out["Arrow (ADBC)"] = time.perf_counter() - start
            aconn.rollback()
    return out


def _dtype(column: Any) -> pl.DataType:
    name = type(column.type).__name__
    if name == "UTCDateTime":
        return pl.Datetime("us", "UTC")
    if name in ("Integer", "BigInteger"):
        return pl.Int64()
    return pl.String()


def run(
    db: Database,
    tables: ProvinceTables,
    n: int,
    share: float,
    reps: int,
    chunk: int,
    url: str | None,
) -> None:
    rules, clock = baseline(), FixedClock(NOW)
    lookback = visit_lookback(rules)
    assert lookback is not None
    since = NOW - lookback
    start = time.perf_counter()
    load(db, tables, summaries_frame(n), visits_frame(n, share))
    print(f"  loaded {n:,} people in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    first = reevaluate(
        db, tables, everyone(tables), ruleset=rules, clock=clock, risk_areas=[], chunk_size=chunk
    )
    took = time.perf_counter() - start
    print(
        f"  everyone (a new rule set): {first.evaluated:,} people in {took:.1f} s = "
        f"{first.evaluated / took:,.0f} people/s; {first.colours_written:,} colours written"
    )
    designate = RiskAreaDesignation(AREA, "high", NOW - timedelta(days=10))
    lift = RiskAreaDesignation(AREA, "high", designate.effective_from, NOW - timedelta(days=9))
    pipeline: list[float] = []
    reads: dict[str, list[float]] = {}
    for _ in range(reps):
        for area in (designate, lift):
            for way, seconds in plain_reads(db, tables, since, url).items():
                reads.setdefault(way, []).append(seconds)
            start = time.perf_counter()
            out: Outcome = reevaluate(
                db,
                tables,
                people_with_visits(tables, AREA, since, None),
                ruleset=rules,
                clock=clock,
                risk_areas=[area],
                chunk_size=chunk,
            )
            pipeline.append(time.perf_counter() - start)
            label = "designated" if area is designate else "lifted"
            print(
                f"  {label}: {out.evaluated:,} people re-evaluated in {pipeline[-1]:.2f} s = "
                f"{out.evaluated / pipeline[-1]:,.0f} people/s; "
                f"{out.colours_written:,} colours written, "
                f"{out.changed.height:,} changed colour or until"
            )
    people = out.evaluated
    med = statistics.median(pipeline)
    print(f"  pipeline (median): {people / med:,.0f} people/s")
    for way, times in reads.items():
        r = statistics.median(times)
        print(
            f"  plain read, {way:<32}: {r:6.2f} s ({people / r:>10,.0f} people/s); "
            f"pipeline / read = {med / r:.1f}x"
        )


def _measure(label: str, fn: Callable[[], None]) -> None:
    print(label)
    fn()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--sqlite-people", type=int, default=200_000)
    parser.add_argument("--share", type=float, default=0.6)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--fill-factor", type=int, default=0, help="PostgreSQL; 0: default")
    args = parser.parse_args()
    print(f"polars {pl.__version__}, threads {pl.thread_pool_size()}; at {NOW.isoformat()}")

    with province_schema(args.url, prefix="bench_reeval") as scratch:
        db, tables = scratch.db, scratch.tables
        assert db.engine is not None
        if args.fill_factor:
            with db.engine.begin() as conn:
                for table in (tables.summaries, tables.colours):
                    conn.exec_driver_sql(
                        f"ALTER TABLE {table.name} SET (fillfactor = {args.fill_factor})"
                    )
        adbc_url = scratch.url
        _measure(
            f"PostgreSQL, {args.people:,} people, {args.share:.0%} in the area",
            lambda: run(db, tables, args.people, args.share, args.reps, args.chunk, adbc_url),
        )

    if args.sqlite_people:
        with tempfile.TemporaryDirectory() as folder:
            db = Database.from_url(f"sqlite:///{Path(folder) / 'province.db'}")
            tables = make_tables()
            assert db.engine is not None
            tables.summaries.metadata.create_all(db.engine)
            _measure(
                f"SQLite, {args.sqlite_people:,} people",
                lambda: run(
                    db, tables, args.sqlite_people, args.share, args.reps, args.chunk, None
                ),
            )
            db.dispose()


if __name__ == "__main__":
    main()
