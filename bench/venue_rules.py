"""What a venue's acceptance rules add to a check at the checkpoint (``checkpoint/venue.py``).

``Checkpoint.check`` on one valid green code (badges ``nat-24h``, ``vaccine-3``), in process,
offline, over a network served on free loopback ports in a temporary folder: the median of
``--checks`` calls with no venue rule (the baseline, same run) and with four of the published
rules chosen (``GREEN-ONLY``, ``NAT-48H``, ``VACCINATED``, ``FULL-CODE``), all met.

    flock /tmp/bench.lock .venv/bin/python -m bench.venue_rules --checks 2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from healthcode.checkpoint.service import Checkpoint
from healthcode.checkpoint.venue import VenueRules

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from live_network import live_network

FOUR = ["GREEN-ONLY", "NAT-48H", "VACCINATED", "FULL-CODE"]


def _median_us(checkpoint: Checkpoint, code: str, checks: int) -> tuple[float, str]:
    times, decision = [], ""
    for _ in range(checks):
        start = time.perf_counter()
        decision = str(checkpoint.check(code)["decision"])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6, decision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000)
    checks = parser.parse_args().checks
    with live_network(Path(tempfile.mkdtemp())) as net:
        checkpoint = net.services["checkpoint"].loops
        assert isinstance(checkpoint, Checkpoint)
        code = net.issue("440000", "green", badges=("nat-24h", "vaccine-3"))
        checkpoint.venue = VenueRules()
        _median_us(checkpoint, code, checks // 10)  # warm-up
        base = _median_us(checkpoint, code, checks)
        checkpoint.venue.choose(FOUR)
        ruled = _median_us(checkpoint, code, checks)
    print(f"Checkpoint.check, median of {checks}: no venue rule {base[0]:.1f} µs ({base[1]}); "
          f"four rules {ruled[0]:.1f} µs ({ruled[1]}); {ruled[0] / base[0]:.3f}x")  # fmt: skip


if __name__ == "__main__":
    main()
