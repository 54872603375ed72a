"""What each fast path of the CertLogic compiler saves, on the two operations a user waits for.

Workloads: every (rule, test data) pair of the EU DCC business rules (as
``bench.certlogic_bench``), and the colour rules on one person's facts document (as the scalar
path of ``bench.rules_bench``: the national baseline over a random population). Each variant
turns one fast path off by swapping in its plain reference, recompiles, and is measured in
interleaved repetitions against the full compiler; the figure is the rate of the variant over
the rate with every fast path on, per repetition (the median is printed). A fast path stays
only if turning it off costs at least 10 % of an operation (docs/benchmarks.md).

- ``closures only``: no generated function (:mod:`healthcode.core.certlogic.codegen`);
- ``plain in``: ``in`` scans the array (``values.member``) instead of ``value_sets``;
- ``plain dates``: the reference date parser instead of ``fast_dates`` (still cached);
- ``no date cache``: no per-node cache of dates made from strings.

Run: ``.venv/bin/python -m bench.certlogic_paths [--reps 5] [--seconds 0.3] [--people 3000]``
"""

from __future__ import annotations

import os

os.environ["POLARS_MAX_THREADS"] = "1"

import argparse
import dataclasses
import functools
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.certlogic_bench import load_pairs
from bench.rules_bench import NOW, documents, population
from healthcode.core.certlogic import closures, codegen, compiler, dates
from healthcode.core.certlogic.values import member
from healthcode.core.clock import FixedClock
from healthcode.core.errors import CertLogicError
from healthcode.core.rules import baseline, evaluate

VARIANTS = ("all fast paths", "closures only", "plain in", "plain dates", "no date cache")
_GENERATE = compiler.generate
_MEMBER_OF_ARRAY = codegen.member_of_array
_PARSE_DATE_TIME = dates.parse_date_time
_DATE_CACHE_SIZE = closures.DATE_CACHE_SIZE


def _plain_member_of_array(x: Any, array: Any) -> bool:
    if not isinstance(array, list):
        return _MEMBER_OF_ARRAY(x, array)  # raises as the fast path does
    return member(x, array)


def _set(variant: str) -> None:
    """Turn off the fast path that ``variant`` names (and turn every other one on)."""
    compiler.generate = (lambda _root: None) if variant == "closures only" else _GENERATE
    moa = _plain_member_of_array if variant == "plain in" else _MEMBER_OF_ARRAY
    codegen.member_of_array = closures.member_of_array = moa
    plain = functools.lru_cache(maxsize=dates.PARSE_CACHE_SIZE)(dates.parse_reference)
    dates.parse_date_time = plain if variant == "plain dates" else _PARSE_DATE_TIME
    closures.DATE_CACHE_SIZE = 0 if variant == "no date cache" else _DATE_CACHE_SIZE


def _rate(run: Callable[[], int], seconds: float) -> float:
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += run()
    return done / (time.perf_counter() - start)


def dcc_rules() -> Callable[[], int]:
    """One pass over every (rule, test data) pair, each rule compiled once."""
    pairs = load_pairs()
    compiled: dict[str, Any] = {}
    work = []
    for _, logic, data, _ in pairs:
        key = json.dumps(logic, sort_keys=True)
        if key not in compiled:
            compiled[key] = compiler.compile(logic)
        work.append((compiled[key], data))

    def run() -> int:
        for fn, data in work:
            try:  # noqa: SIM105 - a with-block per call would cost more than some evaluations
                fn(data)
            except CertLogicError:
                pass
        return len(work)

    return run


def colour_rules(docs: list[dict[str, Any]]) -> Callable[[], int]:
    """One pass of the baseline over every facts document (the rule set compiled afresh)."""
    ruleset = dataclasses.replace(baseline())
    clock = FixedClock(NOW)

    def run() -> int:
        for doc in docs:
            evaluate(ruleset, doc, clock=clock)
        return len(docs)

    return run


def main() -> None:
    """Measure every variant on both workloads and print the median ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions")
    parser.add_argument("--seconds", type=float, default=0.3, help="time per variant per rep")
    parser.add_argument("--people", type=int, default=3000, help="facts documents")
    args = parser.parse_args()
    docs = documents(population(args.people))
    for name, workload in (("DCC rules", dcc_rules), ("colour rules", lambda: colour_rules(docs))):
        rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(args.reps):
            for variant in VARIANTS:
                _set(variant)
                rates[variant].append(_rate(workload(), args.seconds))
        _set(VARIANTS[0])
        base = rates[VARIANTS[0]]
        print(f"{name}: all fast paths {statistics.median(base):,.0f} per second")
        for variant in VARIANTS[1:]:
            ratios = [r / b for r, b in zip(rates[variant], base, strict=True)]
            print(
                f"  {variant:15} {statistics.median(ratios):.2f}x "
                f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
            )


if __name__ == "__main__":
    main()
