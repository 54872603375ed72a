"""What the dashboard's colour tallies cost, and what they save (PostgreSQL).

A province of ``--people`` (as ``bench/reevaluate.py`` loads them, each with a ``people`` row
resident in one of ``--counties`` Guangdong counties) is re-evaluated with
:func:`healthcode.batch.reevaluate.reevaluate` over ``everyone`` from an empty ``colours``
table, so every person gets a first colour (a change each), in alternating turns: (a) the
pipeline alone, (b) with ``Tallies.on_changes`` called on each chunk's changes in the chunk's
transaction, as the province's listeners are. The figure is (b)'s median over (a)'s.

Then the read: the dashboard's ``Tallies.colours`` (fold included) over ``--hours`` of hourly
rows per county and colour, against the plain whole-population count it replaces
(``colours`` left-joined to ``people``, grouped by residence region and colour).

Run: ``.venv/bin/python -m bench.ops_tallies [--people 200000] [--reps 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from bench.reevaluate import load, summaries_frame, visits_frame
from bench.rules_bench import NOW
from bench.scratch import province_schema
from healthcode.batch.reevaluate import ProvinceTables, everyone, reevaluate
from healthcode.core.clock import FixedClock
from healthcode.core.rules import baseline
from healthcode.province.changes import changes_of_frame
from healthcode.province.models import Colour, Person
from healthcode.province.ops.models import ColourHour, ColourMove, ColourTally
from healthcode.province.ops.tallies import COLOURS, Tallies, hour_of
from healthcode.store.db import Database

_COUNTIES = ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114")


def _people(db: Database, n: int, counties: int) -> None:
    rows = [
        {
            "pseudonym": f"{i:064d}",
            "id_digest": f"{i:064x}",
            "id_type": "resident_id",
            "id_enc": b"x",
            "name_enc": b"x",
            "phone_enc": b"x",
            "masked_id": "4401**********0000",
            "masked_name": "张*",
            "residence_region": _COUNTIES[i % counties],
            "applied_at": NOW,
        }
        for i in range(n)
    ]
    with db.write() as s:
        for start in range(0, n, 20_000):
            s.execute(insert(Person), rows[start : start + 20_000])


def _run(db: Database, tables: ProvinceTables, chunk: int, tallies: Tallies | None) -> float:
    with db.write() as s:
        s.execute(delete(Colour))
        s.execute(delete(ColourMove))

    def listen(conn: object, changed: object) -> None:
        assert tallies is not None
        tallies.on_changes(Session(bind=conn), changes_of_frame(changed), NOW)  # type: ignore[arg-type]

    started = time.perf_counter()
    reevaluate(
        db,
        tables,
        everyone(tables),
        ruleset=baseline(),
        clock=FixedClock(NOW),
        risk_areas=[],
        chunk_size=chunk,
        on_chunk=None if tallies is None else listen,
    )
    return time.perf_counter() - started


def _hours(db: Database, hours: int, counties: int) -> None:
    """Hourly rows of the last ``hours`` for every county and colour (a busy week)."""
    end = hour_of(NOW)
    rows = [
        {
            "hour": end - timedelta(hours=h),
            "region_code": _COUNTIES[c],
            "colour": colour,
            "entered": 5,
            "left": 5,
            "changed": 5,
            "timed": 5,
            "seconds_sum": 10.0,
            "seconds_max": 4.0,
        }
        for h in range(1, hours)
        for c in range(counties)
        for colour in COLOURS
    ]
    with db.write() as s:
        s.execute(delete(ColourHour))
        s.execute(insert(ColourHour), rows)


def _plain(db: Database) -> float:
    region = func.coalesce(Person.residence_region, "")
    started = time.perf_counter()
    with db.read() as s:
        s.execute(
            select(region, Colour.colour, func.count())
            .select_from(Colour)
            .outerjoin(Person, Person.pseudonym == Colour.pseudonym)
            .group_by(region, Colour.colour)
        ).all()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--counties", type=int, default=8)
    parser.add_argument("--hours", type=int, default=168)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with province_schema(args.url, prefix="bench_tallies") as scratch:
        db, tables = scratch.db, scratch.tables
        load(db, tables, summaries_frame(args.people), visits_frame(args.people, 0.6))
        _people(db, args.people, args.counties)
        tallies = Tallies(db=db, clock=FixedClock(NOW))
        times: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(args.reps):
            times["without"].append(_run(db, tables, args.chunk, None))
            times["with"].append(_run(db, tables, args.chunk, tallies))
        a, b = statistics.median(times["without"]), statistics.median(times["with"])
        print(f"PostgreSQL, {args.people:,} people, each a first colour, chunks of {args.chunk:,}")
        print(f"  everyone, pipeline alone:      {a:.2f} s (median of {args.reps})")
        print(f"  everyone, with the tallies:    {b:.2f} s ({b / a:.3f}x)")
        with db.write() as s:  # the tallies as the migration starts them: the moves hold it all
            s.execute(delete(ColourTally))
        _hours(db, args.hours, args.counties)
        started = time.perf_counter()
        folded = tallies.fold_all()
        fold = time.perf_counter() - started
        reads, plains = [], []
        for _ in range(args.reps):
            started = time.perf_counter()
            tallies.colours(hours=args.hours, level="county")
            reads.append(time.perf_counter() - started)
            plains.append(_plain(db))
        r, p = statistics.median(reads), statistics.median(plains)
        print(f"  fold of {folded:,} move rows: {fold * 1000:.1f} ms")
        print(f"  dashboard read, {args.hours} h x {args.counties} counties: {r * 1000:.1f} ms")
        print(f"  plain count of every colour: {p * 1000:.1f} ms ({p / r:.1f}x the read)")


if __name__ == "__main__":
    main()
