"""What acting decisions cost the columnar re-evaluation of everyone (a new rule set).

A province of ``--people`` facts documents (as ``bench/reevaluate.py`` loads them) is
re-evaluated with :func:`healthcode.batch.reevaluate.reevaluate` over ``everyone``, in turns:
(a) the tables without decisions (the pipeline as it was) and (b) with ``decision_subjects``
holding ``--decided`` people under approved decisions acting now (a bulk decision the size of
Zhengzhou's 1,317 by default; the pipeline reads the acting rows of each chunk and applies
``core.safeguards.with_decisions`` to those people). The turns alternate after a first run
that writes every colour, so each writes back only what the other changed. The figure is (b)'s
median time over (a)'s, measured in the same run.

Run: ``.venv/bin/python -m bench.decisions [--people 200000] [--decided 1317] [--reps 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Table, insert

from bench.reevaluate import load, summaries_frame, visits_frame
from bench.rules_bench import NOW
from bench.scratch import province_schema
from healthcode.batch.reevaluate import ProvinceTables, everyone, reevaluate
from healthcode.core.clock import FixedClock
from healthcode.core.rules import baseline
from healthcode.province.models import DecisionSubject
from healthcode.store.db import Database


def _run(db: Database, tables: ProvinceTables, chunk: int) -> float:
    started = time.perf_counter()
    reevaluate(
        db,
        tables,
        everyone(tables),
        ruleset=baseline(),
        clock=FixedClock(NOW),
        risk_areas=[],
        chunk_size=chunk,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--decided", type=int, default=1317)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with province_schema(args.url, prefix="bench_decisions") as scratch:
        db, plain = scratch.db, scratch.tables
        summaries = summaries_frame(args.people)
        load(db, plain, summaries, visits_frame(args.people, 0.6))
        subjects = DecisionSubject.__table__
        assert isinstance(subjects, Table)
        decided = replace(plain, decisions=subjects)
        names = summaries["pseudonym"].to_list()[:: max(1, args.people // args.decided)]
        with db.write() as s:
            s.execute(
                insert(subjects),
                [
                    {
                        "decision_id": "dc_bench",
                        "pseudonym": p,
                        "colour": "red",
                        "starts_at": NOW - timedelta(hours=1),
                        "ends_at": NOW + timedelta(days=7),
                    }
                    for p in names[: args.decided]
                ],
            )
        _run(db, plain, args.chunk)  # every colour written once
        times: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(args.reps):
            times["with"].append(_run(db, decided, args.chunk))
            times["without"].append(_run(db, plain, args.chunk))
        a, b = statistics.median(times["without"]), statistics.median(times["with"])
        print(f"PostgreSQL, {args.people:,} people, {min(args.decided, len(names)):,} decided")
        print(f"  everyone without decisions: {a:.2f} s (median of {args.reps})")
        print(f"  everyone with decisions:    {b:.2f} s ({b / a:.2f}x)")


if __name__ == "__main__":
    main()
