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

With ``--against SRC`` (another checkout's ``src``, e.g. ``main`` exported to a folder) it
measures instead this tree against that one on both workloads, every fast path on, each rate in
its own process, alternating, and prints the ratio this/that per repetition.

Run: ``.venv/bin/python -m bench.certlogic_paths [--reps 5] [--seconds 0.3] [--people 3000]``
(``--against /tmp/base/src`` for a before/after comparison)
"""

from __future__ import annotations

import os

os.environ["POLARS_MAX_THREADS"] = "1"

import argparse
import dataclasses
import functools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.certlogic_bench import evaluate_all, load_pairs
from bench.rules_bench import NOW, documents, population
from healthcode.core.certlogic import compile
from healthcode.core.clock import FixedClock
from healthcode.core.rules import baseline, evaluate

VARIANTS = ("all fast paths", "closures only", "plain in", "plain dates", "no date cache")


class _Switch:
    """Turns one fast path off at a time (imported here: a tree compared with ``--against``
    may not have these modules)."""

    def __init__(self) -> None:
        from healthcode.core.certlogic import closures, codegen, compiler, dates
        from healthcode.core.certlogic.values import member

        self.closures, self.codegen, self.compiler, self.dates = closures, codegen, compiler, dates
        self.generate = compiler.generate
        self.member_of_array = codegen.member_of_array
        self.parse_date_time = dates.parse_date_time
        self.date_cache_size = closures.DATE_CACHE_SIZE
        self.member = member

    def plain_member_of_array(self, x: Any, array: Any) -> bool:
        if not isinstance(array, list):
            return bool(self.member_of_array(x, array))  # raises as the fast path does
        return self.member(x, array)

    def set(self, variant: str) -> None:
        """Turn off the fast path that ``variant`` names (and turn every other one on)."""
        off = variant == "closures only"
        self.compiler.generate = (lambda _root: None) if off else self.generate
        moa = self.plain_member_of_array if variant == "plain in" else self.member_of_array
        self.codegen.member_of_array = self.closures.member_of_array = moa
        dates = self.dates
        plain = functools.lru_cache(maxsize=dates.PARSE_CACHE_SIZE)(dates.parse_reference)
        dates.parse_date_time = plain if variant == "plain dates" else self.parse_date_time
        size = 0 if variant == "no date cache" else self.date_cache_size
        self.closures.DATE_CACHE_SIZE = size


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
            compiled[key] = compile(logic)
        work.append((compiled[key], data))

    def run() -> int:
        evaluate_all(work)
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


def _workloads(people: int) -> dict[str, Callable[[], Callable[[], int]]]:
    docs = documents(population(people))
    return {"DCC rules": dcc_rules, "colour rules": lambda: colour_rules(docs)}


def _variants(args: argparse.Namespace) -> None:
    switch = _Switch()
    for name, workload in _workloads(args.people).items():
        rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for _ in range(args.reps):
            for variant in VARIANTS:
                switch.set(variant)
                rates[variant].append(_rate(workload(), args.seconds))
        switch.set(VARIANTS[0])
        base = rates[VARIANTS[0]]
        print(f"{name}: all fast paths {statistics.median(base):,.0f} per second")
        for variant in VARIANTS[1:]:
            ratios = [r / b for r, b in zip(rates[variant], base, strict=True)]
            print(
                f"  {variant:15} {statistics.median(ratios):.2f}x "
                f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
            )


def _against(args: argparse.Namespace) -> None:
    """This tree against ``args.against``, each rate measured in a fresh process."""
    here = str(Path(__file__).resolve().parents[1] / "src")

    def rate(src: str, workload: str) -> float:
        command = [sys.executable, "-m", "bench.certlogic_paths", "--rate-only", workload]
        command += ["--seconds", str(args.seconds), "--people", str(args.people)]
        env = {**os.environ, "PYTHONPATH": src}
        return float(subprocess.run(command, env=env, capture_output=True, check=True).stdout)

    for workload in ("DCC rules", "colour rules"):
        pairs = [(rate(args.against, workload), rate(here, workload)) for _ in range(args.reps)]
        ratios = [after / before for before, after in pairs]
        print(
            f"{workload}: this tree {statistics.median(a for _, a in pairs):,.0f} per second, "
            f"{args.against} {statistics.median(b for b, _ in pairs):,.0f}; this/that median "
            f"{statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f})"
        )


def main() -> None:
    """Measure every variant on both workloads (or this tree against another) and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="interleaved repetitions")
    parser.add_argument("--seconds", type=float, default=0.3, help="time per variant per rep")
    parser.add_argument("--people", type=int, default=3000, help="facts documents")
    parser.add_argument("--against", help="another tree's src folder to compare with")
    parser.add_argument("--rate-only", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rate_only:
        print(_rate(_workloads(args.people)[args.rate_only](), args.seconds))
    elif args.against:
        _against(args)
    else:
        _variants(args)


if __name__ == "__main__":
    main()
