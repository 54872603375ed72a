"""EU DCC verification speed: healthcode vs dcc-utils on the same vectors, and who gets what wrong.

    .venv/bin/python bench/dcc_bench.py [--rounds 20] [--healthcode-only [--cpu]]

dcc-utils (0.2.1, the Python EU DCC library on PyPI) runs in its own virtualenv,
bench/.venv-dcc-utils/, created here when missing; it needs cbor2 5.4.1, whose sdist builds only
with setuptools<70, setuptools_scm<8 and SETUPTOOLS_SCM_PRETEND_VERSION. Its image helper imports
pyzbar, whose zbar library is not on this machine: the child stubs that import out (only
``from_raw`` and ``check_signature`` are used, which do not touch it).

The expected verdict of a vector: valid unless one of its EXPECTED flags (other than the picture
decoding one) is false. A vector without EXPECTEDEXPIRATIONCHECK does not test time, so it is
verified at its own issue time (iat) rather than at its VALIDATIONCLOCK (the FR *_ok vectors carry
a clock a day before their iat). Each library verifies every vector with the vector's signer
certificate; healthcode also at that clock. Verdicts that differ are listed by file.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The public conformance data copied into the project (tests/data), or $HEALTHCODE_TESTDATA.
TESTDATA = Path(os.environ.get("HEALTHCODE_TESTDATA", ROOT / "tests" / "data"))
VECTORS = (TESTDATA / "dcc").resolve()
SCHEMA = (TESTDATA / "dcc-schema" / "DCC.combined-schema.json").resolve()
VENV = ROOT / "bench" / ".venv-dcc-utils"
PY = VENV / "bin" / "python"

CHILD = r"""
import base64, json, sys, time, types
stub = types.ModuleType("pyzbar"); stub.pyzbar = types.ModuleType("pyzbar.pyzbar")
sys.modules["pyzbar"] = stub; sys.modules["pyzbar.pyzbar"] = stub.pyzbar
from dcc_utils import dcc

cases = json.load(sys.stdin)
rounds = int(sys.argv[1])

def one(text, pem):
    try:
        d = dcc.from_raw(text)
        return bool(d.check_signature(pem))
    except Exception:
        return False

verdicts = {c["name"]: one(c["text"], c["pem"].encode()) for c in cases}
start = time.perf_counter()
for _ in range(rounds):
    for c in cases:
        one(c["text"], c["pem"].encode())
elapsed = time.perf_counter() - start
print(json.dumps({"verdicts": verdicts, "rate": rounds * len(cases) / elapsed}))
"""


def ensure_venv() -> None:
    if PY.exists():
        return
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(PY), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "setuptools<70", "wheel", "setuptools_scm<8"], check=True)
    env = {**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION": "5.4.1"}
    subprocess.run([*pip, "--no-build-isolation", "dcc-utils==0.2.1"], check=True, env=env)


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(VECTORS.glob("*/*.json")):
        v = json.loads(path.read_text(encoding="utf-8"))
        cert = v.get("TESTCTX", {}).get("CERTIFICATE")
        if not cert or "PREFIX" not in v:
            continue
        flags = {k.replace("EXPTECTED", "EXPECTED"): x for k, x in v["EXPECTEDRESULTS"].items()}
        flags.pop("EXPECTEDPICTUREDECODE", None)
        clock = v["TESTCTX"]["VALIDATIONCLOCK"]
        if "EXPECTEDEXPIRATIONCHECK" not in flags:
            clock = issued_at(v) or clock  # time is not under test: verify at the issue time
        body = "\n".join(cert[i : i + 64] for i in range(0, len(cert), 64))
        cases.append(
            {
                "name": path.relative_to(VECTORS).as_posix(),
                "text": v["PREFIX"],
                "pem": f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n",
                "der": base64.b64decode(cert),
                "clock": clock,
                "expected": all(x is not False for x in flags.values()),
            }
        )
    return cases


def issued_at(vector: dict[str, Any]) -> str | None:
    """The CWT's iat as ISO text, when the vector gives its COSE layer and it decodes."""
    import cbor2

    try:
        item = cbor2.loads(bytes.fromhex(vector["COSE"]))
        while isinstance(item, cbor2.CBORTag):
            item = item.value
        iat = cbor2.loads(item[2])[6]
        return datetime.fromtimestamp(iat, UTC).isoformat()
    except Exception:  # a broken vector: keep its validation clock
        return None


def parse_clock(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return datetime.fromisoformat(text)


def run_ours(
    cases: list[dict[str, Any]], rounds: int, timer: Any = time.perf_counter
) -> tuple[dict[str, bool], float]:
    sys.path.insert(0, str(ROOT / "src"))
    from healthcode.core.clock import FixedClock
    from healthcode.core.verify import DccSchema, DccSettings, DscTrustList, Verifier

    schema = DccSchema.load(SCHEMA)
    prepared = [
        (
            c,
            Verifier.default(
                dcc=DccSettings(trust=DscTrustList.from_certificates([c["der"]]), schema=schema),
                clock=FixedClock(parse_clock(c["clock"])),
            ),
        )
        for c in cases
    ]
    verdicts = {c["name"]: verifier.verify(c["text"]).valid for c, verifier in prepared}
    start = timer()
    for _ in range(rounds):
        for c, verifier in prepared:
            verifier.verify(c["text"])
    return verdicts, rounds * len(cases) / (timer() - start)


def run_theirs(cases: list[dict[str, Any]], rounds: int) -> tuple[dict[str, bool], float]:
    ensure_venv()
    payload = json.dumps([{k: c[k] for k in ("name", "text", "pem")} for c in cases])
    out = subprocess.run(
        [str(PY), "-c", CHILD, str(rounds)],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    return data["verdicts"], data["rate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--healthcode-only", action="store_true", help="skip dcc-utils (no virtualenv needed)"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="with --healthcode-only: CPU time, not wall time"
    )
    args = parser.parse_args()
    if args.cpu and not args.healthcode_only:
        parser.error("--cpu needs --healthcode-only (dcc-utils runs in another process)")
    cases = load_cases()
    timer = time.process_time if args.cpu else time.perf_counter
    ours, our_rate = run_ours(cases, args.rounds, timer)
    expected = {c["name"]: c["expected"] for c in cases}
    if args.healthcode_only:
        our_wrong = sorted(n for n in expected if ours[n] != expected[n])
        print(f"vectors: {len(cases)} (of {VECTORS}), rounds: {args.rounds}")
        print(f"healthcode : {our_rate:10.0f} verifications/s, wrong: {len(our_wrong)} {our_wrong}")
        return
    theirs, their_rate = run_theirs(cases, args.rounds)
    our_wrong = sorted(n for n in expected if ours[n] != expected[n])
    their_wrong = sorted(n for n in expected if theirs[n] != expected[n])
    print(f"vectors: {len(cases)} (of {VECTORS}), rounds: {args.rounds}")
    print(f"healthcode : {our_rate:10.0f} verifications/s, wrong: {len(our_wrong)} {our_wrong}")
    print(f"dcc-utils  : {their_rate:10.0f} verifications/s, wrong: {len(their_wrong)}")
    for name in their_wrong:
        print(f"    {name}: expected {'valid' if expected[name] else 'invalid'}")
    print(f"ratio (healthcode / dcc-utils): {our_rate / their_rate:.1f}x")


if __name__ == "__main__":
    main()
