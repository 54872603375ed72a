"""Start-up cost of the ``healthcode`` command against a plain script making the same calls.

    .venv/bin/python -m bench.cli_startup [--reps 7]
    .venv/bin/python -m bench.cli_startup --tree before=/tmp/cli-base/src --tree after=src

Three commands a user runs often, each beside a plain ``python -c`` script that imports the
library and does the same work with no command-line layer:

- ``healthcode --help`` against a script that imports the command-line library (typer) and
  prints a text: the least any typer command costs;
- ``healthcode verify CODE --trust ... --national-root ... --at ...`` on a native code issued
  into a temporary network, against a script that opens the signed trust list and verifies the
  code with ``healthcode.core``;
- ``healthcode rules explain --facts examples/facts-close-contact.json --at ...`` against a
  script that evaluates the same facts on the baseline rule set and prints the result as JSON.

Each child's CPU time (user + system, from ``os.wait4``) is taken; the commands run
alternately, ``--reps`` times each, and the report gives medians and the ratio command/plain,
both measured in the same run. ``--tree LABEL=SRC`` runs the console script of this virtualenv
with ``PYTHONPATH=SRC``, so two checkouts can be compared side by side (a ``src`` exported with
``git archive``); without it, the installed package is measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HEALTHCODE = str(BIN / "healthcode")
AT = "2022-11-20T09:00:00+08:00"
FACTS = str(ROOT / "examples" / "facts-close-contact.json")

PLAIN_HELP = "import typer\nprint('Usage: healthcode [OPTIONS] COMMAND [ARGS]...')\n"

PLAIN_VERIFY = """
import sys
from datetime import timedelta
from healthcode.core.clock import FixedClock, parse_instant
from healthcode.core.trust.certs import load_certificate
from healthcode.core.trust.envelope import open_envelope
from healthcode.core.trust.trustlist import TrustList
from healthcode.core.verify import NativeSettings, verify

code, trust, root_path, at = sys.argv[1:]
clock = FixedClock(parse_instant(at))
root = load_certificate(open(root_path, "rb").read())
opened = open_envelope(open(trust, "rb").read(), root_cert=root, kind="trust-list", clock=clock)
keys = TrustList.from_content(opened.content, root_cert=root)
result = verify(code, native=NativeSettings(trust=keys), clock=clock)
print(result.valid, result.format)
sys.exit(0 if result.valid else 1)
"""

PLAIN_EXPLAIN = """
import json, sys
from healthcode.core.clock import FixedClock, parse_instant
from healthcode.core.facts import PersonFacts, risk_areas_from_list
from healthcode.core.rules import baseline, evaluate_person

facts, at = sys.argv[1:]
clock = FixedClock(parse_instant(at))
with open(facts, encoding="utf-8") as f:
    raw = json.load(f)
person = PersonFacts.from_dict(raw, clock=clock)
areas = risk_areas_from_list(raw.get("risk_areas") or [], clock=clock)
print(json.dumps(evaluate_person(baseline(), person, areas, clock=clock).to_dict()))
"""


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """CPU time (user + system) of one child run; its output is discarded, it must exit 0."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        actions = [(os.POSIX_SPAWN_DUP2, devnull, 1)]
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    finally:
        os.close(devnull)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} exited {os.waitstatus_to_exitcode(status)}")
    return usage.ru_utime + usage.ru_stime


def native_network(home: Path, env: dict[str, str]) -> list[str]:
    """A one-province network in ``home``; the verify arguments for a code it issued."""
    now = ["--home", str(home), "--now", AT]
    run = [HEALTHCODE]
    subprocess.run(
        [*run, "keys", "init", "--provinces", "440000", *now],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run([*run, "trust", "publish", *now], env=env, check=True, capture_output=True)
    issued = subprocess.run(
        [*run, "code", "issue", "--province", "440000", *now],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    trust = str(home / "published" / "trust-list.cose")
    return [issued.stdout.strip(), trust, str(home / "root.cert.pem"), AT]


def cases(code: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Each case: (the command, the plain script)."""
    text, trust, root, at = code
    py = sys.executable
    return {
        "--help": ([HEALTHCODE, "--help"], [py, "-c", PLAIN_HELP]),
        "verify": (
            [HEALTHCODE, "verify", text, "--trust", trust, "--national-root", root, "--at", at],
            [py, "-c", PLAIN_VERIFY, *code],
        ),
        "rules explain": (
            [HEALTHCODE, "rules", "explain", "--facts", FACTS, "--at", AT],
            [py, "-c", PLAIN_EXPLAIN, FACTS, AT],
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="runs of each command (alternating)")
    parser.add_argument(
        "--tree", action="append", default=[], help="LABEL=SRC: measure the package in SRC"
    )
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree) or {"installed": ""}
    envs = {}
    for label, src in trees.items():
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if src:
            env["PYTHONPATH"] = str(Path(src).resolve())
        envs[label] = env
    times: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        code = native_network(Path(tmp) / "net", envs[next(iter(envs))])
        for _ in range(args.reps):
            for label, env in envs.items():
                for name, (command, plain) in cases(code).items():
                    for kind, argv in (("command", command), ("plain", plain)):
                        times.setdefault((label, name, kind), []).append(cpu_seconds(argv, env))
    print(f"CPU time of the child (user + sys), median of {args.reps} alternating runs")
    print(f"{'tree':10} {'case':14} {'command ms':>11} {'plain ms':>9} {'ratio':>6}")
    for label in envs:
        for name in cases(code):
            command = statistics.median(times[(label, name, "command")]) * 1000
            plain = statistics.median(times[(label, name, "plain")]) * 1000
            print(f"{label:10} {name:14} {command:11.0f} {plain:9.0f} {command / plain:6.2f}")


if __name__ == "__main__":
    main()
