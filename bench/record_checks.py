"""The core checks the hub runs on every ingested record, in microseconds each.

``check_id`` of a resident ID, ``Pseudonymiser.pseudonym_of``, ``NatResult.from_dict`` and
``to_dict``: the per-record work of :mod:`healthcode.core.identity` and
:mod:`healthcode.core.facts` inside an ingest batch (``bench.hub_ingest_breakdown`` gives the
whole). Each is timed with ``timeit`` (best of ``--repeat``). With ``--against SRC`` (another
checkout's ``src``) the same figures are measured there too, in its own process, and printed
side by side.

Run: ``.venv/bin/python -m bench.record_checks [--number 20000] [--repeat 5]``
(``--against /tmp/base/src`` for a before/after comparison)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAT = {"sampled_at": "2022-11-19T08:00:00+08:00", "result": "negative", "lab": "GZ-LAB-01"}
RESIDENT_ID = "11010519491231002X"


def checks() -> dict[str, Callable[[], Any]]:
    """The operations timed, by name."""
    from healthcode.core import facts, identity
    from healthcode.core.clock import FixedClock

    clock = FixedClock(datetime(2022, 11, 20, 1, 0, tzinfo=UTC))
    pseudonymiser = identity.Pseudonymiser(key=bytes(range(32)))
    valid = identity.check_id("resident_id", RESIDENT_ID)
    nat = facts.NatResult.from_dict(NAT, clock=clock)
    return {
        "check_id (resident ID)": lambda: identity.check_id("resident_id", RESIDENT_ID),
        "Pseudonymiser.pseudonym_of": lambda: pseudonymiser.pseudonym_of(valid),
        "NatResult.from_dict": lambda: facts.NatResult.from_dict(NAT, clock=clock),
        "NatResult.to_dict": nat.to_dict,
    }


def measure(number: int, repeat: int) -> dict[str, float]:
    """Microseconds per call of each check (best of ``repeat`` runs of ``number`` calls)."""
    return {
        name: min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6
        for name, fn in checks().items()
    }


def main() -> None:
    """Print the figures of this tree (and of ``--against``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best counts")
    parser.add_argument("--against", help="another tree's src folder to compare with")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    here = measure(args.number, args.repeat)
    if args.json:
        print(json.dumps(here))
        return
    there: dict[str, float] = {}
    if args.against:
        command = [sys.executable, "-m", "bench.record_checks", "--json"]
        command += ["--number", str(args.number), "--repeat", str(args.repeat)]
        env = {**os.environ, "PYTHONPATH": args.against}
        out = subprocess.run(command, env=env, capture_output=True, check=True, text=True)
        there = json.loads(out.stdout)
    this = str(Path(__file__).resolve().parents[1] / "src")
    print(f"{'µs per call':30} {'this tree':>10}" + (f" {'against':>10}" if there else ""))
    for name, value in here.items():
        line = f"{name:30} {value:10.2f}"
        if there:
            line += f" {there[name]:10.2f}"
        print(line)
    if there:
        print(f"this tree: {this}; against: {args.against}")


if __name__ == "__main__":
    main()
