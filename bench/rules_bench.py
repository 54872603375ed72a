"""Colour rules: people evaluated per second, scalar (CertLogic per person) vs batch (Polars).

A random population of facts documents (each time field present with probability 1/3, within
the last 15 days or the next 2, so that every rule of the baseline holds for some people) is
evaluated at one instant with the national baseline rule set:

- scalar: :func:`healthcode.core.rules.evaluate` on each person's facts document;
- batch: :func:`healthcode.batch.rules.evaluate_frame` on the whole frame, with Polars held to
  one thread (``POLARS_MAX_THREADS=1``, set before Polars is imported) so the figure is per
  core; once with reason masks only, once with rule-id lists as well.

Repetitions are interleaved so machine noise hits both alike; the figure to compare is the
ratio. Every person of the scalar sample is also checked against the batch answer.

Run: ``.venv/bin/python -m bench.rules_bench [--people 1000000] [--scalar 20000] [--reps 3]``
"""

from __future__ import annotations

import os

os.environ["POLARS_MAX_THREADS"] = "1"

import argparse
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import polars as pl

from healthcode.batch.rules import (
    SCHEMA,
    evaluate_frame,
    frame_row_key,
    scalar_key,
)
from healthcode.core.clock import FixedClock
from healthcode.core.facts import format_instant
from healthcode.core.rules import SUMMARY_FIELDS, baseline, evaluate

NOW = datetime(2022, 11, 20, 1, 0, tzinfo=UTC)


def population(n: int, seed: int = 7) -> pl.DataFrame:
    """``n`` random facts documents typed as the batch schema."""
    now_ms = int(NOW.timestamp() * 1000)
    minutes = pl.int_range(-15 * 24 * 60, 2 * 24 * 60, eager=True)
    cols: dict[str, pl.Series] = {}
    for i, (name, (kind, _)) in enumerate(SUMMARY_FIELDS.items()):
        present = pl.int_range(0, 3, eager=True).sample(n, with_replacement=True, seed=seed + i)
        keep = present == 0
        if kind == "time":
            offs = minutes.sample(n, with_replacement=True, seed=seed + 100 + i)
            values = (offs * 60_000 + now_ms).cast(pl.Datetime("ms", "UTC"))
        elif kind == "int":
            values = pl.int_range(0, 5, eager=True).sample(n, with_replacement=True, seed=seed + i)
            keep = pl.Series([True] * n)
        elif name == "infection_status":
            values = pl.Series(["confirmed", "asymptomatic", "suspected"]).sample(
                n, with_replacement=True, seed=seed + 200
            )
            keep = pl.int_range(0, 20, eager=True).sample(n, with_replacement=True, seed=seed) == 0
        elif name == "antibody_igg":
            values = pl.Series(["positive", "negative"]).sample(n, with_replacement=True, seed=seed)
        else:
            values = pl.Series(["传染病防治法"] * n)
        cols[name] = pl.select(pl.when(keep).then(values).otherwise(None)).to_series()
    return pl.DataFrame(cols).cast(dict(SCHEMA))


def documents(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """The scalar facts documents of the rows of ``frame``."""
    out = []
    for row in frame.iter_rows(named=True):
        out.append({k: format_instant(v) if isinstance(v, datetime) else v for k, v in row.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--scalar", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    rules = baseline()
    clock = FixedClock(NOW)
    frame = population(args.people)
    docs = documents(frame.head(args.scalar))
    print(
        f"rule set: {rules.id}@{rules.version}, {len(rules.rules)} rules; "
        f"polars {pl.__version__}, threads {pl.thread_pool_size()}"
    )
    print(f"population: batch {frame.height:,} people, scalar {len(docs):,} people")

    # agreement first
    batch_head = evaluate_frame(rules, frame.head(args.scalar), clock=clock)
    differ = sum(
        frame_row_key(row) != scalar_key(evaluate(rules, d, clock=clock))
        for d, row in zip(docs, batch_head.iter_rows(named=True), strict=True)
    )
    colours = batch_head["colour"].value_counts().sort("colour").rows()
    print(f"colours in the scalar sample: {dict(colours)}")
    print(f"people where batch != scalar: {differ} of {len(docs):,}")

    scalar_rates, mask_rates, list_rates = [], [], []
    for _ in range(args.reps):
        start = time.perf_counter()
        for d in docs:
            evaluate(rules, d, clock=clock)
        scalar_rates.append(len(docs) / (time.perf_counter() - start))
        start = time.perf_counter()
        evaluate_frame(rules, frame, clock=clock, lists=False)
        mask_rates.append(frame.height / (time.perf_counter() - start))
        start = time.perf_counter()
        evaluate_frame(rules, frame, clock=clock, lists=True)
        list_rates.append(frame.height / (time.perf_counter() - start))

    def show(label: str, rates: list[float]) -> float:
        med = statistics.median(rates)
        print(
            f"{label:<28}: {med:>12,.0f} people/s  (min {min(rates):,.0f}, max {max(rates):,.0f})"
        )
        return med

    s = show("scalar (CertLogic)", scalar_rates)
    m = show("batch, masks (1 thread)", mask_rates)
    li = show("batch, masks + id lists", list_rates)
    print(f"ratio batch/scalar (median)  : masks {m / s:.0f}x, lists {li / s:.0f}x")


if __name__ == "__main__":
    main()
