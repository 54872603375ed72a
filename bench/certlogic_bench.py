"""CertLogic throughput on the real EU DCC business rules: ours (compiled once) vs panzi-json-logic.

Every (rule, test data) pair of ``tests/data/dcc-rules`` is evaluated. Both engines run in
the same process, in interleaved repetitions, so that machine noise hits both alike; the
figure to compare is the ratio (of the medians, and per repetition). Verdicts of both engines
are compared with each other and with the expected verdicts of the tests.

Run: ``.venv/bin/python -m bench.certlogic_bench [--reps 7] [--seconds 0.5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from json_logic import certLogic

from healthcode.core.certlogic import compile
from healthcode.core.errors import CertLogicError

ROOT = Path(__file__).resolve().parents[1]
DCC_RULES = ROOT / "tests" / "data" / "dcc-rules"

Pair = tuple[str, Any, Any, Any]  # (id, logic, data, expected)


def load_pairs() -> list[Pair]:
    """(rule/test id, Logic, data context, expected verdict) for every rule test."""
    pairs: list[Pair] = []
    for rule_path in sorted(DCC_RULES.glob("*/*/rule.json")):
        rule = json.loads(rule_path.read_text("utf-8"))
        for test_path in sorted((rule_path.parent / "tests").glob("*.json")):
            test = json.loads(test_path.read_text("utf-8"))
            data = {"payload": test["payload"], "external": test["external"]}
            pairs.append(
                (f"{rule['Identifier']}/{test_path.stem}", rule["Logic"], data, test["expected"])
            )
    return pairs


def _verdict(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def evaluate_all(work: list[tuple[Callable[[Any], Any], Any]]) -> None:
    """Call each compiled rule on its data, as a verifier does (a failure is a verdict too)."""
    for fn, data in work:
        try:  # noqa: SIM105 - a with-block per call would cost more than some evaluations
            fn(data)
        except CertLogicError:
            pass


def _rate(run: Callable[[], None], n_pairs: int, seconds: float) -> float:
    """Pairs per second of ``run`` (one pass over all pairs), repeated for about ``seconds``."""
    loops = 0
    start = time.perf_counter()
    elapsed = 0.0
    while elapsed < seconds:
        run()
        loops += 1
        elapsed = time.perf_counter() - start
    return loops * n_pairs / elapsed


def main() -> None:
    """Measure and print both rates, their ratio, and any verdict disagreements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="interleaved repetitions")
    parser.add_argument("--seconds", type=float, default=0.5, help="time per engine per rep")
    args = parser.parse_args()

    pairs = load_pairs()
    n = len(pairs)
    t0 = time.perf_counter()
    compiled_by_logic: dict[str, Callable[[Any], Any]] = {}
    for _, logic, _, _ in pairs:
        key = json.dumps(logic, sort_keys=True)
        if key not in compiled_by_logic:
            compiled_by_logic[key] = compile(logic)
    compile_ms = (time.perf_counter() - t0) * 1000
    ours_pairs = [(compiled_by_logic[json.dumps(lg, sort_keys=True)], d) for _, lg, d, _ in pairs]
    theirs_pairs = [(lg, d) for _, lg, d, _ in pairs]

    # Verdicts: both engines, against each other and against the tests' expectations.
    disagreements = []
    wrong = {"ours": 0, "panzi": 0}
    for (pid, logic, data, expected), (fn, _) in zip(pairs, ours_pairs, strict=True):
        ours = _verdict(lambda fn=fn, data=data: fn(data))
        theirs = _verdict(lambda logic=logic, data=data: certLogic(logic, data))
        wrong["ours"] += ours is not expected
        wrong["panzi"] += theirs is not expected
        if ours is not theirs and ours != theirs:
            disagreements.append((pid, expected, ours, theirs))

    def run_ours() -> None:
        evaluate_all(ours_pairs)

    def run_theirs() -> None:
        for logic, data in theirs_pairs:
            try:  # noqa: SIM105 - same loop shape as ours
                certLogic(logic, data)
            except Exception:
                pass

    ours_rates, theirs_rates = [], []
    for _ in range(args.reps):
        ours_rates.append(_rate(run_ours, n, args.seconds))
        theirs_rates.append(_rate(run_theirs, n, args.seconds))

    # Cold: compile every rule afresh and evaluate each pair once (no warm date caches).
    t0 = time.perf_counter()
    for _, logic, data, _ in pairs:
        _verdict(lambda logic=logic, data=data: compile(logic)(data))
    cold_rate = n / (time.perf_counter() - t0)

    ours_med, theirs_med = statistics.median(ours_rates), statistics.median(theirs_rates)
    print(f"pairs (rule x test data): {n}, distinct rules: {len(compiled_by_logic)}")
    print(f"compile all rules once: {compile_ms:.1f} ms")
    for name, med, rates in (
        ("ours, compiled once", ours_med, ours_rates),
        ("panzi-json-logic", theirs_med, theirs_rates),
    ):
        spread = f"min {min(rates):,.0f}, max {max(rates):,.0f}"
        print(f"{name:22}: {med:12,.0f} pairs/s  ({spread})")
    ratios = sorted(o / t for o, t in zip(ours_rates, theirs_rates, strict=True))
    print(f"ratio (median/median) : {ours_med / theirs_med:.1f}x")
    print(
        f"ratio per repetition  : median {statistics.median(ratios):.1f}x, "
        f"min {ratios[0]:.1f}x, max {ratios[-1]:.1f}x"
    )
    cold_ratio = cold_rate / theirs_med
    print(
        f"ours, compile + eval each pair cold: {cold_rate:,.0f} pairs/s ({cold_ratio:.1f}x panzi)"
    )
    print(
        f"verdicts differing from the tests' expected: ours {wrong['ours']}, panzi {wrong['panzi']}"
    )
    print(f"disagreements between the engines: {len(disagreements)}")
    for pid, expected, ours, theirs in disagreements:
        print(f"  {pid}: expected {expected!r}, ours {ours!r}, panzi {theirs!r}")


if __name__ == "__main__":
    main()
